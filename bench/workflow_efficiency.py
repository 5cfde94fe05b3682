"""4. Workflow efficiency: Sync.so status calls, Lambda invocations and state transitions per job with
the adaptive poll interval against a fixed 5 s interval, for generations of 30 s, 2 min and 10 min,
and what 10,000 such jobs cost at AWS list prices.

The poll counts come from replaying both schedules over simulated time with the workflow's own
functions (`prosync.workflow.polling`: first_wait_seconds from the model and media length, then
wait_schedule). The per-job structure (states entered and Lambda invocations outside the poll loop
and per poll round) is measured from ONE real execution of the state machine through moto and the
emulator with compressed time (bench/workflow_real.py), which also checks that its Sync.so GET count
equals the simulated count for the same generation.

The adaptive policy's first wait depends on the model's expected time for the media length; the
main rows take the media length whose expected time equals the real generation time (the model's
estimate is right), and the notes show the estimate off by 2x either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bench.common import BenchResult, require

MODEL = "lipsync-2-pro"
GENERATIONS = (30, 120, 600)
FIXED_INTERVAL = 5
JOBS = 10_000
# AWS list prices (us-east-1): Step Functions Standard, Lambda arm64.
SFN_PER_TRANSITION = 0.025 / 1000
LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
# Assumed warm durations on Lambda (arm64) per invocation, seconds; memory comes from infra/functions.py.
ASSUMED_SECONDS = {"jobstore": 0.03, "submit": 0.3, "poll": 0.12, "download": 6.0}
DEFAULT_MEMORY_MB = {"jobstore": 512, "submit": 512, "poll": 256, "download": 1024}


def memory_mb() -> tuple[dict[str, int], str]:
    """Memory sizes from infra/functions.py (read as text: importing CDK starts a Node process)."""
    import re

    from bench.common import ROOT

    try:
        text = (ROOT / "infra" / "functions.py").read_text()
        found = {n: int(m) for n, m in re.findall(r'FunctionSpec\("(\w+)", (\d+),', text)}
        return {n: found[n] for n in ASSUMED_SECONDS}, "infra/functions.py"
    except (OSError, KeyError):
        return dict(DEFAULT_MEMORY_MB), "assumed (not found in infra/functions.py)"


def adaptive_waits(media_seconds: float, settings) -> Iterator[float]:
    from prosync.workflow.polling import first_wait_seconds, wait_schedule

    return wait_schedule(first_wait_seconds(MODEL, media_seconds, settings), settings)


def fixed_waits() -> Iterator[float]:
    while True:
        yield FIXED_INTERVAL


def replay(generation_seconds: float, waits: Iterable[float], max_polls: int) -> tuple[int, float]:
    """(status GETs until one sees the generation finished, seconds after submit when that happens)."""
    from prosync.workflow.polling import simulate_polls

    run = simulate_polls(generation_seconds, waits, max_polls)
    return run.polls, run.detected_at


def media_for(generation_seconds: float, settings) -> float:
    """Media length whose expected generation time (the model's estimate) is `generation_seconds`."""
    per_second = settings.poll_model_seconds_per_media_second.get(MODEL, settings.poll_default_seconds_per_media_second)
    return max(0.0, (generation_seconds - settings.poll_overhead_seconds) / per_second)


def job_cost(structure: dict, polls: int, memory: dict[str, int]) -> dict:
    transitions = structure["fixed_transitions"] + structure["transitions_per_poll"] * polls
    invocations = dict(structure["fixed_invocations"])
    invocations["poll"] = invocations.get("poll", 0) + round(structure["polls_per_round"] * polls)
    sfn = transitions * SFN_PER_TRANSITION * JOBS
    lam = sum(count * (memory[fn] / 1024 * ASSUMED_SECONDS[fn] * LAMBDA_GB_SECOND + LAMBDA_PER_REQUEST)
              for fn, count in invocations.items() if fn in ASSUMED_SECONDS) * JOBS
    return {"transitions": transitions, "invocations": sum(invocations.values()), "sfn_usd": sfn,
            "lambda_usd": lam, "total_usd": sfn + lam}


def run(quick: bool = False) -> BenchResult:
    require("prosync.workflow.polling")
    from prosync.settings import WorkflowTimingSettings

    settings = WorkflowTimingSettings(PROSYNC_WAIT_SCALE=1.0)
    result = BenchResult(name="workflow", title=f"adaptive poll vs fixed {FIXED_INTERVAL} s ({MODEL})",
                         bar="adaptive status calls <= 1/3 of fixed; completion noticed within 10% of the "
                             "generation time (each of 30 s, 2 min, 10 min)")
    structure, real_note = None, ""
    try:
        from bench.workflow_real import real_execution

        structure = real_execution(settings, quick=quick, media_for=lambda g: media_for(g, settings),
                                   adaptive=lambda media, g: replay(g, adaptive_waits(media, settings),
                                                                    settings.poll_max_count))
    except ImportError as exc:
        real_note = f"real execution not run: {exc}"
    except Exception as exc:  # a real run that breaks is a failure of the bench, shown as such
        real_note = f"real execution failed: {exc!r}"
    memory, memory_source = memory_mb()
    passed = True
    for g in GENERATIONS:
        media = media_for(g, settings)
        a_polls, a_seen = replay(g, adaptive_waits(media, settings), settings.poll_max_count)
        f_polls, f_seen = replay(g, fixed_waits(), settings.poll_max_count)
        calls_ratio, lag = a_polls / f_polls, (a_seen - g) / g
        ok = calls_ratio <= 1 / 3 and lag <= 0.10
        passed &= ok
        label = f"{g // 60} min" if g >= 60 else f"{g} s"
        result.add(f"{label}: status calls adaptive / fixed", f"{a_polls} / {f_polls}", "",
                   f"ratio {calls_ratio:.2f} (bar <= 0.33) {'ok' if calls_ratio <= 1 / 3 else 'OVER'}")
        result.add(f"{label}: completion noticed at, adaptive / fixed", f"{a_seen:.0f} / {f_seen:.0f}", "s",
                   f"adaptive lag {lag:.1%} (bar <= 10%) {'ok' if lag <= 0.10 else 'OVER'}; media {media:.1f} s")
        row = {"polls": {"adaptive": a_polls, "fixed": f_polls}, "seen_at": {"adaptive": a_seen, "fixed": f_seen}}
        if structure:
            ca, cf = job_cost(structure, a_polls, memory), job_cost(structure, f_polls, memory)
            result.add(f"{label}: state transitions / Lambda invocations per job",
                       f"{ca['transitions']} / {ca['invocations']} vs {cf['transitions']} / {cf['invocations']}",
                       "", "adaptive vs fixed")
            result.add(f"{label}: cost per {JOBS:,} jobs (SFN + Lambda)",
                       f"${ca['total_usd']:.2f} vs ${cf['total_usd']:.2f}", "",
                       f"SFN ${ca['sfn_usd']:.2f} + λ ${ca['lambda_usd']:.2f} vs SFN ${cf['sfn_usd']:.2f} + λ "
                       f"${cf['lambda_usd']:.2f}")
            row["cost"] = {"adaptive": ca, "fixed": cf}
        result.detail[label] = row
        for factor in (0.5, 2.0):  # the model's estimate off by 2x
            polls, seen = replay(g, adaptive_waits(media_for(g * factor, settings), settings), settings.poll_max_count)
            result.notes.append(f"{label}, estimate x{factor}: {polls} calls ({polls / f_polls:.2f} of fixed), "
                                f"noticed at {seen:.0f} s (lag {(seen - g) / g:.1%})")
    if structure:
        result.detail["structure"] = structure
        result.notes.append(
            f"per job, measured from the real execution: {structure['fixed_transitions']} states entered outside the "
            f"poll loop + {structure['transitions_per_poll']} per poll round; Lambdas outside the loop "
            f"{structure['fixed_invocations']}; real run: {structure['summary']}")
        result.notes.append(f"assumed warm durations (s) {ASSUMED_SECONDS}; memory MB {memory} from {memory_source}; "
                            f"SFN $0.025/1k transitions, Lambda arm64 $0.0000133334/GB-s + $0.20/1M requests")
        passed &= structure["matches"]
    else:
        result.notes.append(real_note + "; transitions, invocations and cost are left out")
    result.passed = passed
    return result
