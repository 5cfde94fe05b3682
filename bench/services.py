"""Out-of-process services for the benches: a moto server and the Sync.so emulator, each in its own
process (so a bench can measure its own process without their memory or CPU in it), stopped by pid."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import contextmanager

import httpx

from bench.common import PY, ROOT, bench_env
from devstack.postgres import free_port

EMULATOR_KEY = "sk-emulator-local"


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} not up after {timeout} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def moto_server():
    """Yields the endpoint URL of a `moto_server` process (S3 and the rest, in memory)."""
    port = free_port()
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            env=bench_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/moto-api/", proc)
        yield url
    finally:
        _stop(proc)


@contextmanager
def emulator(latency: float = 0.0):
    """Yields the base URL of a Sync.so emulator process (`prosync emulator`)."""
    port = free_port()
    proc = subprocess.Popen([PY, "-m", "devstack.cli", "emulator", "--port", str(port), "--latency", str(latency)],
                            env=bench_env(), cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/_emulator/stats", proc)
        yield url
    finally:
        _stop(proc)


def synthetic_output(emulator_url: str, size: int) -> dict:
    """A COMPLETED generation whose output is `size` bytes: its wire JSON (id, outputUrl, ...)."""
    response = httpx.post(f"{emulator_url}/_emulator/synthetic", json={"size": size}, timeout=10)
    response.raise_for_status()
    created = response.json()
    if "outputUrl" not in created:  # the control endpoint may answer with less than the wire object
        created = httpx.get(f"{emulator_url}/v2/generate/{created['id']}", headers={"x-api-key": EMULATOR_KEY},
                            timeout=10).json()
    return created


def emulator_stats(emulator_url: str) -> dict:
    return httpx.get(f"{emulator_url}/_emulator/stats", timeout=10).json()
