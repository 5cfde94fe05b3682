"""15. Soak: hundreds of jobs from several users through the local stack (`prosync up` in its own
process, real Postgres, moto, the emulator, the HTTP gateway) with the emulator's faults switched on
at random (seeded): request-rate and concurrency 429s, 5xx on create and on get, slow answers, cut
output downloads, lost create answers, retryable and non-retryable generation failures, dropped
webhooks. Jobs go in waves; before each wave a random handful of faults is armed (each for a few
requests), after it the faults left are cleared. The last job runs alone with every generation failing
in a retryable way (its retries exhausted: failed with that code).

Then bench/soak_check.py reads the database, S3 and the emulator's records and asserts: every job ends
in the state its generations call for, 0 lost, 0 stuck, 0 orphan multipart uploads, 0 duplicate
generations (exactly 1 billed generation per attempt key), no job with more generations than attempts.
`run_soak` is shared with tests/e2e/test_soak.py (30 jobs). Not in the default `python -m bench` run
(several minutes): `python -m bench --only soak [--quick]`.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import BenchResult
from bench.soak_check import TERMINAL, SoakCheck, check

SEGMENTS = [{"startTime": 0.2, "endTime": 1.0, "audioInput": {"refId": "a"}}]


def fault_menu(rng: random.Random) -> list[tuple[str, dict]]:
    """Every fault kind the soak uses, with random parameters: (label, fault body)."""
    n = rng.randint(1, 3)
    return [
        ("rate_limit create", {"kind": "rate_limit", "route": "create", "count": n, "retry_after": 1}),
        ("concurrency_limit create", {"kind": "concurrency_limit", "route": "create", "count": n, "retry_after": 1}),
        ("5xx create", {"kind": "http_error", "route": "create", "count": n, "status": rng.choice([500, 502, 503])}),
        ("5xx get", {"kind": "http_error", "route": "get", "count": n, "status": rng.choice([500, 503])}),
        ("slow get", {"kind": "delay", "route": "get", "count": n, "seconds": round(rng.uniform(0.2, 1.5), 2)}),
        ("slow create", {"kind": "delay", "route": "create", "count": n, "seconds": round(rng.uniform(0.2, 1.5), 2)}),
        ("broken_output", {"kind": "broken_output", "count": n, "after_bytes": rng.choice([0, 1000, 20000])}),
        ("lost_create_answer", {"kind": "lost_create_answer", "count": 1, "seconds": 0.1,
                                "mode": rng.choice(["disconnect", "502", "504", "outcome_unknown"])}),
        ("retryable failure", {"kind": "generation_failure", "count": n, "outcome": "FAILED",
                               "error_code": rng.choice(["generation_timeout", "generation_pipeline_failed"])}),
        ("non-retryable failure", {"kind": "generation_failure", "count": 1, "outcome": "FAILED",
                                   "error_code": "generation_audio_length_exceeded"}),
        ("webhook drop", {"kind": "webhook", "mode": "drop", "count": n}),
    ]


@dataclass
class SoakReport:
    jobs: list[str] = field(default_factory=list)
    started: set[str] = field(default_factory=set)
    armed: Counter = field(default_factory=Counter)  # fault label -> times armed
    fired: Counter = field(default_factory=Counter)  # fault kind -> times fired (emulator's count)
    client_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    check: SoakCheck | None = None

    @property
    def problems(self) -> list[str]:
        return self.client_errors[:5] + (self.check.problems if self.check else ["not checked"])


def run_soak(info, jobs: int, folder: Path, seed: int = 15, users: int = 6, wave: int = 12,
             wave_timeout: float = 240.0) -> SoakReport:
    """`jobs` jobs from `users` users (enterprise tier), `wave` at a time, faults armed per wave."""
    from devstack.client import ApiError, ProSyncClient, build_request
    from devstack.media_samples import make_tone, make_video

    rng, report, tag = random.Random(seed), SoakReport(), uuid.uuid4().hex[:8]
    emulator = info.sync_api_base_url.rstrip("/")
    video = make_video(folder / "soak.mp4", 2.0, fps=12, size=(96, 64))
    audio = make_tone(folder / "soak.wav", 1.0, 440.0, sample_rate=16000)
    body = build_request(video, {"a": audio}, SEGMENTS, output_file_name="soak")
    names = [f"soak-{tag}-{i}" for i in range(users)]
    clients = [ProSyncClient(info.api_url, info.issue_token("enterprise", u), timeout=120) for u in names]
    lock = threading.Lock()

    def one(index: int) -> None:
        client = clients[index % users]
        try:
            created = client.create_job(body, idempotency_key=f"{tag}-{index}")
            job_id = str(created["jobId"])
            with lock:
                report.jobs.append(job_id)
            client.upload(created["uploads"]["video"], video)
            client.upload(created["uploads"]["audios"]["a"], audio)
            for _ in range(600):  # a start refused at the tier's active-job limit is tried again
                try:
                    client.start(job_id)
                    break
                except ApiError as exc:
                    if exc.status != 429:
                        raise
                    time.sleep(0.2)
            with lock:
                report.started.add(job_id)
        except Exception as exc:  # noqa: BLE001 (reported: the API must not fail a client)
            with lock:
                report.client_errors.append(f"job {index}: {exc!r}")

    began = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=wave) as pool:
            for first in range(0, jobs - 1, wave):
                httpx.delete(f"{emulator}/_emulator/faults", timeout=30)
                menu = fault_menu(rng)
                for label, fault in rng.sample(menu, rng.randint(2, 4)):
                    httpx.post(f"{emulator}/_emulator/faults", json=fault, timeout=30).raise_for_status()
                    report.armed[label] += 1
                before = set(report.jobs)
                list(pool.map(one, range(first, min(jobs - 1, first + wave))))
                _wait_terminal(info.database_url, [j for j in report.jobs if j not in before], wave_timeout)
            # the last job alone, every attempt failing in a retryable way: failed once the retries are spent
            httpx.delete(f"{emulator}/_emulator/faults", timeout=30)
            httpx.post(f"{emulator}/_emulator/faults", json={
                "kind": "generation_failure", "count": 3, "outcome": "FAILED", "error_code": "generation_timeout"},
                timeout=30).raise_for_status()
            report.armed["retries exhausted (1 job alone)"] += 1
            before = set(report.jobs)
            one(jobs - 1)
            _wait_terminal(info.database_url, [j for j in report.jobs if j not in before], wave_timeout)
    finally:
        httpx.delete(f"{emulator}/_emulator/faults", timeout=30)
        for client in clients:
            client.close()
    report.seconds = time.perf_counter() - began
    report.fired = Counter(httpx.get(f"{emulator}/_emulator/stats", timeout=30).json().get("faults_fired", {}))
    report.check = check(info, report.jobs, report.started)
    return report


def _wait_terminal(database_url: str, job_ids: list[str], timeout: float) -> None:
    """Until every job's row is terminal (or `timeout`: the checker then counts them stuck)."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            left = conn.execute("SELECT count(*) FROM video_jobs WHERE id = ANY(%s::uuid[]) "
                                "AND NOT status = ANY(%s)", (job_ids, list(TERMINAL))).fetchone()[0]
            if not left:
                return
            time.sleep(0.2)


def summary_rows(report: SoakReport) -> list[tuple[str, str]]:
    c = report.check
    rate = len(report.jobs) / report.seconds if report.seconds else 0.0
    return [
        ("jobs created / started", f"{len(report.jobs)} / {len(report.started)}"),
        ("final state", ", ".join(f"{k}: {v}" for k, v in sorted(c.final.items()))),
        ("faults armed", ", ".join(f"{k} {v}" for k, v in sorted(report.armed.items()))),
        ("faults fired (emulator)", ", ".join(f"{k} {v}" for k, v in sorted(report.fired.items()))),
        ("generations (billed)", f"{c.generations} ({c.billed}): "
         + ", ".join(f"{k} {v}" for k, v in sorted(c.generation_outcomes.items()))),
        ("wall / jobs per second", f"{report.seconds:.1f} s / {rate:.2f}"),
        ("lost / stuck / orphan uploads / duplicates / beyond attempts / wrong state",
         f"{len(c.lost)} / {len(c.stuck)} / {c.orphan_uploads} / {len(c.duplicates)} / "
         f"{len(c.beyond_attempts)} / {len(c.expected_mismatch)}"),
    ]


def run(quick: bool = False, jobs: int | None = None, seed: int = 15) -> BenchResult:
    import tempfile

    from bench.api_latency import RunningStack
    from bench.common import require

    require("devstack.client", "devstack.stackstate")
    jobs = jobs or (30 if quick else 300)
    result = BenchResult(name="soak", title=f"{jobs} jobs from 6 users with random emulator faults (seed {seed})",
                         bar="every job in the state its faults call for; 0 lost, 0 stuck, 0 orphan multipart "
                             "uploads, 0 duplicate generations")
    with RunningStack(generation_seconds=0.3, wait_scale="0.02") as stack, \
            tempfile.TemporaryDirectory() as folder:
        report = run_soak(stack.info, jobs, Path(folder), seed=seed)
    for name, value in summary_rows(report):
        result.add(name, value)
    result.notes.extend(f"problem: {p}" for p in report.problems[:10])
    result.passed = not report.problems
    result.detail = {"final": dict(report.check.final), "armed": dict(report.armed), "fired": dict(report.fired),
                     "seconds": round(report.seconds, 1), "problems": report.problems}
    return result
