"""The e2e fixture: `prosync up` as a real process (as a developer runs it), found through its state
file, stopped with Ctrl-C (SIGINT) at the end, which must leave no database cluster behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.stackstate import StackInfo
from devstack.media_samples import make_tone, make_tone_sequence, make_video

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="session")
def stack_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("prosync-home")


@pytest.fixture(scope="session")
def local_stack(stack_home):
    """A running `prosync up --port 0`; yields its StackInfo (from the state file)."""
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / "prosync-up.log").open("w")
    env = {**os.environ, "PROSYNC_HOME": str(stack_home), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    for name in ("DATABASE_URL", "SYNC_API_KEY", "SYNC_API_BASE_URL"):  # its own cluster, the emulator
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.cli", "up", "--port", "0"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    info = None
    while info is None:
        if proc.poll() is not None:
            pytest.fail(f"prosync up exited {proc.returncode}: see {log.name}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"prosync up did not come up in 90 s: see {log.name}")
        time.sleep(0.2)
        info = StackInfo.read(stack_home)
    yield info
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("prosync up did not stop within 30 s of Ctrl-C")
    log.close()
    assert code == 0, f"prosync up exited {code} after Ctrl-C"
    assert StackInfo.read(stack_home) is None, "the state file outlived the stack"
    assert info.cluster_dir and not Path(info.cluster_dir).exists(), "the database cluster outlived the stack"


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, Path]:
    """A 6 s test-card video and three tones (440 Hz, silence+660 Hz, 880 Hz) in three formats."""
    folder = tmp_path_factory.mktemp("media")
    return {
        "video": make_video(folder / "talk.mp4", 6.0, size=(320, 240)),
        "a": make_tone(folder / "a.wav", 2.0, 440),
        "b": make_tone_sequence(folder / "b.mp3", [(0.5, 0), (2.0, 660), (0.3, 0)]),
        "c": make_tone(folder / "c.ogg", 1.5, 880),
    }


@pytest.fixture
def cli_env(stack_home) -> dict[str, str]:
    env = {**os.environ, "PROSYNC_HOME": str(stack_home), "COLUMNS": "200"}
    env.pop("DATABASE_URL", None)
    return env
