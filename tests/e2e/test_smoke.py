"""`prosync smoke`: the post-deploy check, run here against the local stack as if it were deployed
(`--api URL --token JWT`), and against an API that is not there."""

from __future__ import annotations

import socket
import subprocess
import sys


def smoke(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "devstack.cli", "smoke", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_smoke_runs_one_job_and_times_every_stage(local_stack, cli_env):
    done = smoke("--api", local_stack.api_url, "--token", local_stack.issue_token("pro", "e2e-smoke"),
                 env={**cli_env, "PROSYNC_HOME": "/nonexistent"})
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stderr
    for stage in ("api healthy", "created", "uploaded", "started", "processing", "completed", "result checked"):
        assert stage in out, f"{stage!r} missing:\n{out}"
    assert "PASS" in out and "3.0" in out.split("result checked")[1].splitlines()[0]


def test_smoke_against_no_api_fails_with_the_reason(cli_env):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = smoke("--api", f"http://127.0.0.1:{port}/api/v1", "--token", "x.y.z",
                 env={**cli_env, "PROSYNC_HOME": "/nonexistent"})
    assert done.returncode == 1
    assert "ConnectError" in done.stderr and "FAIL" in done.stderr
