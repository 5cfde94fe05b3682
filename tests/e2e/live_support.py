"""Shared by the live events e2e tests and the bench: an in-process local stack (so a test can swap
the webhook guard's resolver), a 3-segment job, a WebSocket reader."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.client import ProSyncClient, build_request
from devstack.live_client import open_socket, subscribe
from devstack.media_samples import make_tone, make_video

TERMINAL = {"completed", "failed", "canceled", "expired"}


def _forget_cached_settings() -> None:
    """Settings and AWS clients are read once per process (as once per Lambda container): a second
    in-process stack in the same test session has another database, moto port and environment."""
    from prosync import aws, settings
    from prosync.db.connection import close_all
    from prosync.webhooks import routes
    from prosync.workflow import runtime

    settings.api_settings.cache_clear()
    runtime.settings.cache_clear()
    routes.settings.cache_clear()
    aws._client.cache_clear()
    close_all()


@contextmanager
def live_stack(state_dir: Path | None = None, **env: str) -> Iterator:
    from devstack.localstack import LocalStack

    saved = {k: os.environ.get(k) for k in (*env, "DATABASE_URL", "SYNC_API_KEY", "SYNC_API_BASE_URL")}
    for name in ("DATABASE_URL", "SYNC_API_KEY", "SYNC_API_BASE_URL"):
        os.environ.pop(name, None)
    os.environ.update(env)
    _forget_cached_settings()
    stack = LocalStack(generation_seconds=1.0, wait_scale=0.02, state_dir=state_dir).start()
    try:
        yield stack
    finally:
        stack.stop()
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        _forget_cached_settings()


def sample_media(folder: Path) -> dict:
    return {"video": make_video(folder / "talk.mp4", 6.0, size=(160, 120)),
            "audios": {"a": make_tone(folder / "a.wav", 1.5, 440), "b": make_tone(folder / "b.wav", 1.5, 660),
                       "c": make_tone(folder / "c.wav", 1.5, 880)}}


def start_job(client: ProSyncClient, files: dict) -> str:
    """A 3-segment job created, uploaded and started; its id."""
    segments = [{"startTime": 0.0, "endTime": 1.5, "audioInput": {"refId": "a"}},
                {"startTime": 2.0, "endTime": 3.5, "audioInput": {"refId": "b"}},
                {"startTime": 4.0, "endTime": 5.5, "audioInput": {"refId": "c"}}]
    created = client.create_job(build_request(files["video"], files["audios"], segments))
    job_id = str(created["jobId"])
    uploads = created["uploads"]
    client.upload(uploads["video"], files["video"])
    for ref, path in files["audios"].items():
        client.upload(uploads["audios"][ref], path)
    client.start(job_id)
    return job_id


class Reader:
    """Reads one socket in a thread: every message with the (wall clock) time it arrived."""

    def __init__(self, ws_url: str, token: str, job_id: str | None = None, after: int | None = None):
        self.socket = open_socket(ws_url, token)
        self.ack = subscribe(self.socket, job_id, after)
        self.messages: list[tuple[float, dict]] = [(time.time(), e) for e in self.ack["early"]]
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self.socket:
                self.messages.append((time.time(), json.loads(raw)))
        except Exception:  # noqa: BLE001 (closed)
            pass

    @property
    def events(self) -> list[dict]:
        return [m for _, m in self.messages if "id" in m]

    def wait_for(self, predicate, timeout: float = 60.0) -> None:
        ends = time.monotonic() + timeout
        while time.monotonic() < ends:
            if any(predicate(e) for e in self.events):
                return
            time.sleep(0.02)
        raise AssertionError(f"not seen in {timeout} s; got {self.events}")

    def close(self) -> None:
        self.socket.close()
        self._thread.join(timeout=5)
