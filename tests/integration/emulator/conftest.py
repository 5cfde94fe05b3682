"""Fixtures for the Sync.so emulator tests: sample media on a local HTTP server, the emulator, our
client, and a webhook receiver. Media are made once per session with PyAV (small and fast)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from prosync.syncso import SyncClient

from devstack.emulator import EmulatorServer
from devstack.media_samples import make_tone, make_tone_sequence, make_video

API_KEY = "sk-test-emulator"
WEBHOOK_SECRET = "whsec_test_emulator"
VIDEO_SECONDS = 4.0


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class MediaServer:
    """Serves a directory over HTTP, like a public (or presigned) input URL."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._httpd = ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_QuietFiles, directory=str(directory))
        )
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("emulator-media")
    make_video(
        root / "talk.mp4", VIDEO_SECONDS, fps=25, size=(160, 120), tone_freq=300
    )  # camera sound: 300 Hz
    make_tone(root / "intro.wav", 1.5, 440)
    make_tone(root / "outro.mp3", 3.0, 880)
    make_tone_sequence(root / "two_tones.flac", [(1.0, 440), (1.0, 660)])
    make_tone(root / "long_silence.flac", 301, 0, sample_rate=8000)
    (root / "garbage.mp4").write_bytes(os.urandom(4096))
    return root


@pytest.fixture(scope="session")
def media(media_dir):
    server = MediaServer(media_dir)
    yield server
    server.stop()


@pytest.fixture
def emulator(tmp_path):
    with EmulatorServer(
        api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, output_dir=tmp_path / "outputs"
    ) as emu:
        yield emu


@pytest.fixture
def client(emulator):
    with SyncClient(emulator.url, API_KEY, timeout=5.0) as sync_client:
        yield sync_client


def wait_terminal(client: SyncClient, generation_id: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        generation = client.get_generation(generation_id)
        if generation.status.terminal:
            return generation
        if time.monotonic() > deadline:
            raise AssertionError(f"generation {generation_id} still {generation.status} after {timeout}s")
        time.sleep(0.05)


@pytest.fixture
def wait_done(client):
    return functools.partial(wait_terminal, client)


class WebhookReceiver:
    """Collects webhook POSTs: (headers, raw body) in arrival order."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._arrived:
                    receiver.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    receiver._arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/hooks/sync"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[dict[str, str], bytes]]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.calls) >= count, timeout)
            return list(self.calls)

    def payloads(self) -> list[dict]:
        return [json.loads(body) for _, body in self.calls]

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def raw(emulator):
    """Plain httpx on the emulator with the API key: the wire, no client of ours in between."""
    with httpx.Client(base_url=emulator.url, headers={"x-api-key": API_KEY}, timeout=10) as http:
        yield http


def create_body(media, model: str = "lipsync-2", webhook_url: str | None = None) -> dict:
    """A valid one-segment create body on the wire."""
    body = {
        "model": model,
        "input": [
            {"type": "video", "url": media.url("talk.mp4")},
            {"type": "audio", "url": media.url("intro.wav"), "refId": "intro"},
        ],
        "segments": [{"startTime": 0.5, "endTime": 2.0, "audioInput": {"refId": "intro"}}],
    }
    if webhook_url:
        body["webhookUrl"] = webhook_url
    return body


def wait_status(
    http: httpx.Client,
    generation_id: str,
    statuses=("COMPLETED", "FAILED", "REJECTED"),
    timeout: float = 20.0,
) -> dict:
    """Poll GET /v2/generate/{id} over the wire until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while (generation := http.get(f"/v2/generate/{generation_id}").json())["status"] not in statuses:
        assert time.monotonic() < deadline, f"{generation_id} still {generation['status']}"
        time.sleep(0.03)
    return generation


def signature_is_valid(secret: str, header: str, body: bytes, tolerance: float = 300) -> bool:
    """The webhook guide's check, written here independently of the emulator and of our client."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) <= tolerance
