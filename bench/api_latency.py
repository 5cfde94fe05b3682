"""1. API latency on the local stack (real Postgres, moto, the api Lambda behind the HTTP gateway):
create-job and status p50/p99 over HTTP, against the health route of the same stack as the floor.

The stack runs as `prosync up` in its own process (so the client's CPU is not in the figures); the
bench talks to its gateway over HTTP with one keep-alive httpx client and a dev JWT of a pro user.
Requests go in rounds (health, create, status), so the noise of this shared machine falls on all three
alike. The create body is the design's 2-audio, 2-segment example; status reads a job created earlier.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.common import PY, ROOT, BenchResult, bench_env, require, summary_ms
from bench.services import _stop

CREATE_BODY = {
    "model": "lipsync-2-pro",
    "video": {"fileName": "talk.mp4", "contentType": "video/mp4", "size": 10485760},
    "audios": [
        {"refId": "intro", "fileName": "intro.wav", "contentType": "audio/wav", "size": 480000},
        {"refId": "outro", "fileName": "outro.mp3", "contentType": "audio/mpeg", "size": 120000},
    ],
    "segments": [
        {"startTime": 0.0, "endTime": 2.5, "audioInput": {"refId": "intro"}},
        {"startTime": 4.0, "endTime": 6.0, "audioInput": {"refId": "outro", "startTime": 0.5, "endTime": 2.5}},
    ],
    "options": {"sync_mode": "cut_off", "temperature": 0.5},
    "outputFileName": "talk_dubbed",
}


class RunningStack:
    """`prosync up --port 0` in a child process, found through its state file."""

    def __init__(self, generation_seconds: float = 3.0, wait_scale: str | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="prosync-bench-stack-"))
        extra = {"PROSYNC_HOME": str(self.dir)}
        if wait_scale is not None:
            extra["PROSYNC_WAIT_SCALE"] = wait_scale
        env = bench_env(**extra)
        env.pop("DATABASE_URL", None)
        self.log = open(self.dir / "stack.log", "w")
        self.proc = subprocess.Popen(
            [PY, "-m", "devstack.cli", "up", "--port", "0", "--state-dir", str(self.dir),
             "--generation-seconds", str(generation_seconds)],
            env=env, cwd=str(ROOT), stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self):
        from devstack.localstack import StackInfo

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prosync up exited: {(self.dir / 'stack.log').read_text()[-1500:]}")
            self.info = StackInfo.read(self.dir)
            if self.info:
                return self
            time.sleep(0.2)
        raise TimeoutError("prosync up did not come up in 120 s")

    def __exit__(self, *exc):
        _stop(self.proc)
        self.log.close()


def run(quick: bool = False) -> BenchResult:
    require("functions.api.handler", "devstack.localstack", "devstack.localaws")
    rounds = 60 if quick else 600
    result = BenchResult(name="api", title=f"HTTP API on the local stack, {rounds} rounds of health/create/status",
                         bar="status p50 <= 3x the health p50 (the floor)")
    samples: dict[str, list[float]] = {"health": [], "create": [], "status": []}
    with RunningStack() as stack:
        token = stack.info.issue_token("pro", user="bench-pro")
        api = stack.info.api_url
        with httpx.Client(headers={"authorization": f"Bearer {token}"}, timeout=30) as http:
            job_ids: list[str] = []

            def health():
                r = http.get(f"{api}/health")
                assert r.status_code == 200, r.text

            def create():
                r = http.post(f"{api}/sync/pro-sync-process", json=CREATE_BODY,
                              headers={"Idempotency-Key": str(uuid.uuid4())})
                assert r.status_code == 201, r.text
                job_ids.append(r.json()["jobId"])

            def status():
                r = http.get(f"{api}/sync/pro-job/{job_ids[len(job_ids) // 2]}/status")
                assert r.status_code == 200, r.text

            calls = {"health": health, "create": create, "status": status}
            for _ in range(20):  # warm-up: the Lambda's connection, clients, caches
                for call in calls.values():
                    call()
            for _ in range(rounds):
                for name, call in calls.items():
                    start = time.perf_counter()
                    call()
                    samples[name].append(time.perf_counter() - start)
    stats = {name: summary_ms(values) for name, values in samples.items()}
    floor = stats["health"]["p50"]
    for name in ("health", "create", "status"):
        s = stats[name]
        result.add(f"{name} p50 / p99", f"{s['p50']:.2f} / {s['p99']:.2f}", "ms",
                   f"n={s['n']}, p90 {s['p90']:.2f}, p50 = {s['p50'] / floor:.2f}x floor")
    ratio = stats["status"]["p50"] / floor
    result.add("status p50 / health p50", ratio, "x", "bar <= 3")
    result.add("create p50 / health p50", stats["create"]["p50"] / floor, "x")
    result.passed = ratio <= 3.0
    result.detail = stats
    result.notes.append("client: one keep-alive httpx client in the bench process; stack: `prosync up` in a child "
                        "process (gateway -> api Lambda in-process, Postgres cluster, moto)")
    return result
