"""4. Workflow efficiency: Sync.so status calls, completion lag, Lambda invocations and state transitions
per job in three modes, for generations of 30 s, 2 min and 10 min, and what 10,000 such jobs cost at
AWS list prices:

- callback: Sync.so's signed webhook ends the wait (`.waitForTaskToken`); the first fallback poll comes
  at 1.2 x the expected time, then the adaptive steps. Bar: <= 1 status call per job when the webhook
  arrives, and generation end -> `downloading` within 2 s (measured on a real execution);
- adaptive poll (no webhook, or a lost one): the first poll at 0.9 x the expected time, then steps of
  8 % of the time so far; each fallback round waits its wait + 1 s (a callback timeout must be
  positive). Bar: <= 1/3 of the fixed poll's calls, completion noticed within 10 %;
- fixed 5 s: the reference, a status call every 5 s.

The status-call counts come from replaying each schedule over simulated time with the workflow's own
functions (`prosync.workflow.polling`, `prosync.workflow.steps.first_wait`). The per-job structure
(states entered and Lambda invocations outside the poll loop and per poll round) is measured from real
executions of the state machine through moto and the emulator with compressed time (one per mode,
bench/workflow_real.py), which also check that their Sync.so GET count equals the simulated one; the
callback run also gives the real lag from the generation's end to `downloading`.

The schedules' first wait depends on the model's expected time for the media length; the main rows take
the media length whose expected time equals the real generation time (the estimate is right), and the
notes show the estimate off by 2x either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bench.common import BenchResult, require

MODEL = "lipsync-2-pro"
GENERATIONS = (30, 120, 600)
FIXED_INTERVAL = 5
JOBS = 10_000
MODES = ("callback", "adaptive", "fixed")
# AWS list prices (us-east-1): Step Functions Standard, Lambda arm64.
SFN_PER_TRANSITION = 0.025 / 1000
LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
# Assumed warm durations on Lambda (arm64) per invocation, seconds; memory comes from infra/functions.py.
ASSUMED_SECONDS = {"jobstore": 0.03, "submit": 0.4, "poll": 0.12, "download": 6.0, "api": 0.05}
DEFAULT_MEMORY_MB = {"jobstore": 512, "submit": 512, "poll": 256, "download": 1024, "api": 1024}
CALLBACK_LAG_BAR = 2.0


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


def _first_wait(media_seconds: float, settings, webhooks: bool) -> int:
    from types import SimpleNamespace

    from prosync.workflow.steps import first_wait

    job = SimpleNamespace(model=MODEL, inputs={"video": {"duration": media_seconds}}, segments_data=[])
    return first_wait(job, settings.model_copy(update={"sync_webhooks": webhooks}))


def schedule(mode: str, media_seconds: float, settings) -> Iterator[float]:
    """The seconds between submit and each status call, one wait after another."""
    if mode == "fixed":
        while True:
            yield FIXED_INTERVAL
    from prosync.workflow.polling import wait_schedule

    waits = wait_schedule(_first_wait(media_seconds, settings, webhooks=mode == "callback"), settings)
    yield next(waits)  # the first wait is jobstore's (callbackSeconds = the wait)
    for wait in waits:
        yield wait + 1  # after a poll the callback timeout is the wait + 1 s


def replay(mode: str, generation_seconds: float, media_seconds: float, settings, lag: float) -> tuple[int, float]:
    """(status calls, seconds after submit when the end is noticed). With the callback, the calls made
    before the generation ends, and its end noticed `lag` later (the webhook)."""
    from prosync.workflow.polling import simulate_polls

    if mode != "callback":
        run = simulate_polls(generation_seconds, schedule(mode, media_seconds, settings), settings.poll_max_count)
        return run.polls, run.detected_at
    elapsed, polls = 0.0, 0
    for wait in schedule(mode, media_seconds, settings):
        if elapsed + wait >= generation_seconds:
            return polls, generation_seconds + lag
        elapsed += wait
        polls += 1
    raise AssertionError("unreachable")


def media_for(generation_seconds: float, settings) -> float:
    """Media length whose expected generation time (the model's estimate) is `generation_seconds`."""
    per_second = settings.poll_model_seconds_per_media_second.get(MODEL, settings.poll_default_seconds_per_media_second)
    return max(0.0, (generation_seconds - settings.poll_overhead_seconds) / per_second)


def job_cost(structure: dict, polls: int, memory: dict[str, int]) -> dict:
    transitions = structure["fixed_transitions"] + structure["transitions_per_poll"] * polls
    invocations = dict(structure["fixed_invocations"])
    for fn, per in structure["invocations_per_poll"].items():
        invocations[fn] = invocations.get(fn, 0) + per * polls
    sfn = transitions * SFN_PER_TRANSITION * JOBS
    lam = sum(count * (memory[fn] / 1024 * ASSUMED_SECONDS[fn] * LAMBDA_GB_SECOND + LAMBDA_PER_REQUEST)
              for fn, count in invocations.items() if fn in ASSUMED_SECONDS) * JOBS
    return {"transitions": transitions, "invocations": sum(invocations.values()), "sfn_usd": sfn,
            "lambda_usd": lam, "total_usd": sfn + lam}


def _real(settings, mode: str, lag: float) -> tuple[dict | None, str]:
    try:
        from bench.workflow_real import real_execution

        return real_execution(settings, mode=mode, media_for=lambda g: media_for(g, settings),
                              simulate=lambda media, g: replay(mode, g, media, settings, lag)), ""
    except ImportError as exc:
        return None, f"real {mode} execution not run: {exc}"
    except Exception as exc:  # a real run that breaks is a failure of the bench, shown as such
        return None, f"real {mode} execution failed: {exc!r}"


def run(quick: bool = False) -> BenchResult:
    require("prosync.workflow.polling", "prosync.workflow.steps")
    from prosync.settings import JobStoreSettings

    settings = JobStoreSettings(PROSYNC_WAIT_SCALE=1.0)
    result = BenchResult(
        name="workflow", title=f"callback vs adaptive poll vs fixed {FIXED_INTERVAL} s ({MODEL})",
        bar=f"callback: <= 1 status call per job, generation end -> downloading <= {CALLBACK_LAG_BAR:g} s; "
            "adaptive: <= 1/3 of fixed's calls, noticed within 10% (30 s, 2 min, 10 min)")
    callback, callback_note = _real(settings, "callback", 0.0)
    lag = callback["lag_s"] if callback and callback["lag_s"] is not None else 0.0
    poll, poll_note = _real(settings, "poll", 0.0)
    structures = {"callback": callback, "adaptive": poll, "fixed": poll}
    memory, memory_source = memory_mb()
    passed = True
    for g in GENERATIONS:
        media = media_for(g, settings)
        seen = {mode: replay(mode, g, media, settings, lag) for mode in MODES}
        (c_calls, c_at), (a_calls, a_at), (f_calls, f_at) = (seen[m] for m in MODES)
        ratio, a_lag = a_calls / f_calls, (a_at - g) / g
        ok = c_calls <= 1 and ratio <= 1 / 3 and a_lag <= 0.10
        passed &= ok
        label = f"{g // 60} min" if g >= 60 else f"{g} s"
        result.add(f"{label}: status calls callback / adaptive / fixed", f"{c_calls} / {a_calls} / {f_calls}", "",
                   f"callback {'ok' if c_calls <= 1 else 'OVER'} (bar <= 1); adaptive/fixed {ratio:.2f} "
                   f"(bar <= 0.33) {'ok' if ratio <= 1 / 3 else 'OVER'}")
        result.add(f"{label}: end noticed at, callback / adaptive / fixed", f"{c_at:.1f} / {a_at:.0f} / {f_at:.0f}",
                   "s", f"adaptive lag {a_lag:.1%} (bar <= 10%) {'ok' if a_lag <= 0.10 else 'OVER'}; "
                        f"callback: the webhook, {lag:.2f} s measured; media {media:.1f} s")
        row = {"status_calls": {m: seen[m][0] for m in MODES}, "seen_at": {m: seen[m][1] for m in MODES}}
        costs = {m: job_cost(structures[m], seen[m][0], memory) for m in MODES if structures[m]}
        if costs:
            result.add(f"{label}: transitions / Lambda invocations per job",
                       " vs ".join(f"{c['transitions']} / {c['invocations']}" for c in costs.values()), "",
                       " vs ".join(costs))
            result.add(f"{label}: cost per {JOBS:,} jobs (SFN + Lambda)",
                       " vs ".join(f"${c['total_usd']:.2f}" for c in costs.values()), "", " vs ".join(
                           f"{m}: SFN ${c['sfn_usd']:.2f} + λ ${c['lambda_usd']:.2f}" for m, c in costs.items()))
            row["cost"] = costs
        result.detail[label] = row
        for factor in (0.5, 2.0):  # the model's estimate off by 2x
            wrong = media_for(g * factor, settings)
            c, a = replay("callback", g, wrong, settings, lag), replay("adaptive", g, wrong, settings, lag)
            result.notes.append(f"{label}, estimate x{factor}: callback {c[0]} calls, noticed at {c[1]:.0f} s; "
                                f"adaptive {a[0]} calls ({a[0] / f_calls:.2f} of fixed), noticed at {a[1]:.0f} s "
                                f"(lag {(a[1] - g) / g:.1%})")
    for mode, real, note in (("callback", callback, callback_note), ("poll", poll, poll_note)):
        if real:
            result.detail[f"structure_{mode}"] = real
            result.notes.append(f"measured: {real['summary']}; outside the poll loop {real['fixed_transitions']} "
                                f"states, Lambdas {real['fixed_invocations']}; + {real['transitions_per_poll']} "
                                f"states and {real['invocations_per_poll']} per poll")
            passed &= real["matches"]
        else:
            result.notes.append(note + "; its transitions, invocations and cost are left out")
            passed = False
    if callback:
        result.add("callback (real, 30 s): status calls / generation end -> downloading",
                   f"{callback['status_calls']} / {lag:.2f}", "s",
                   f"bar <= 1 / <= {CALLBACK_LAG_BAR:g} s {'ok' if lag <= CALLBACK_LAG_BAR else 'OVER'}")
        passed &= callback["status_calls"] <= 1 and callback["lag_s"] is not None and lag <= CALLBACK_LAG_BAR
    result.notes.append(f"assumed warm durations (s) {ASSUMED_SECONDS}; memory MB {memory} from {memory_source}; "
                        f"SFN $0.025/1k transitions, Lambda arm64 $0.0000133334/GB-s + $0.20/1M requests; the "
                        f"callback adds one api invocation per job (the webhook); the fixed 5 s mode is costed with "
                        f"the adaptive run's structure")
    result.passed = passed
    return result
