"""1. API latency on the local stack (real Postgres, moto, the api Lambda behind the HTTP gateway):
create-job and status p50/p99 over HTTP, against the health route of the same stack as the floor.

The stack runs as `prosync up` in its own process (so the client's CPU is not in the figures); the
bench talks to its gateway over HTTP with one keep-alive httpx client and a dev JWT of a pro user.
Requests go in rounds (health, create, status), so the noise of this shared machine falls on all three
alike. The create body is the design's 2-audio, 2-segment example; status reads a job created earlier.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from prosync.api import examples

from bench.common import PY, ROOT, BenchResult, bench_env, require, summary_ms
from bench.services import _stop

CREATE_BODY = examples.CREATE["two-audios"]["value"]  # the OpenAPI example, valid as it is


class RunningStack:
    """`prosync up --port 0` in a child process, found through its state file."""

    def __init__(self, generation_seconds: float = 3.0, wait_scale: str | None = None,
                 env: dict[str, str] | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="prosync-bench-stack-"))
        extra = {"PROSYNC_HOME": str(self.dir), **(env or {})}
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
        try:
            from devstack.stackstate import StackInfo
        except ImportError:
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
        shutil.rmtree(self.dir, ignore_errors=True)


def run(quick: bool = False) -> BenchResult:
    require("functions.api.handler", "devstack.localstack", "devstack.localaws")
    rounds = 50 if quick else 500
    result = BenchResult(name="api", title=f"HTTP API on the local stack, {rounds} rounds of health/create/status",
                         bar="status p50 <= 3x the health p50 (the floor), keep-alive and new connections")
    modes = {"keep-alive": {}, "new connection": {"connection": "close"}}
    samples = {(mode, name): [] for mode in modes for name in ("health", "create", "status")}
    # every create leaves a job awaiting its uploads: lift the tier's cap on those for the bench user
    with RunningStack(env={"PROSYNC_TIERS__PRO__MAX_AWAITING_UPLOAD": str(10 * rounds + 100)}) as stack:
        token = stack.info.issue_token("pro", user="bench-pro")
        api = stack.info.api_url
        job_ids: list[str] = []
        clients = {mode: httpx.Client(headers={"authorization": f"Bearer {token}", **extra}, timeout=30)
                   for mode, extra in modes.items()}

        def calls(http: httpx.Client):
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

            return {"health": health, "create": create, "status": status}

        try:
            per_mode = {mode: calls(http) for mode, http in clients.items()}
            for _ in range(10):  # warm-up: the Lambda's connection, clients, caches
                for mode_calls in per_mode.values():
                    for call in mode_calls.values():
                        call()
            for _ in range(rounds):
                for mode, mode_calls in per_mode.items():
                    for name, call in mode_calls.items():
                        start = time.perf_counter()
                        call()
                        samples[(mode, name)].append(time.perf_counter() - start)
        finally:
            for http in clients.values():
                http.close()
    passed = True
    for mode in modes:
        stats = {name: summary_ms(samples[(mode, name)]) for name in ("health", "create", "status")}
        floor = stats["health"]["p50"]
        for name, s in stats.items():
            result.add(f"{mode}: {name} p50 / p99", f"{s['p50']:.2f} / {s['p99']:.2f}", "ms",
                       f"n={s['n']}, p90 {s['p90']:.2f}, p50 = {s['p50'] / floor:.2f}x floor")
        ratio = stats["status"]["p50"] / floor
        result.add(f"{mode}: status p50 / health p50", ratio, "x", "bar <= 3")
        result.add(f"{mode}: create p50 / health p50", stats["create"]["p50"] / floor, "x")
        passed &= ratio <= 3.0
        result.detail[mode] = stats
    result.passed = passed
    keep, fresh = result.detail["keep-alive"]["health"]["p50"], result.detail["new connection"]["health"]["p50"]
    if keep > fresh + 30:
        result.notes.append(f"keep-alive requests stall: health p50 {keep:.1f} ms on a kept-alive connection vs "
                            f"{fresh:.1f} ms on a new one (~40 ms = Nagle + delayed ACK: the gateway sends headers and "
                            "body in two writes without TCP_NODELAY)")
    result.notes.append("client: httpx in the bench process, one keep-alive client and one that opens a connection per "
                        "request (Connection: close); stack: `prosync up` in a child process; bar on both")
    return result
