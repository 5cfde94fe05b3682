"""``EmulatorServer``: the Sync.so emulator running in a background thread (tests, local stack)."""

from __future__ import annotations

import datetime as dt
import socket
import tempfile
import threading
import uuid
from collections import Counter
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from .app import EmulatorRequestHandler
from .faults import Fault, FaultPlan
from .outputs import OutputUrlSigner
from .problems import ApiProblem
from .records import GenerationRecord
from .store import GenerationStore
from .validation import OUTPUT_FILE_NAME
from .webhooks import WebhookSender
from .worker import GenerationWorker

DEFAULT_API_KEY = "sk-emulator-local"
DEFAULT_WEBHOOK_SECRET = "whsec_emulator_local"


class RequestStats:
    """Requests and answers per route (create, get, list, delete, cost, output, errors, control, unknown),
    and what each generation fetched of its inputs (`inputs_fetched`: generation id, type, refId,
    size and sha256 of the bytes it got), so a test can tell which bytes reached "Sync.so"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: Counter[str] = Counter()
            self.responses: dict[str, Counter[str]] = {}
            self.output_bytes = 0
            self.inputs_fetched: list[dict[str, Any]] = []

    def record_request(self, route: str) -> None:
        with self._lock:
            self.requests[route] += 1

    def record_response(self, route: str, status: int) -> None:
        with self._lock:
            self.responses.setdefault(route, Counter())[str(status)] += 1

    def record_bytes(self, count: int) -> None:
        with self._lock:
            self.output_bytes += count

    def record_input(self, fetched: dict[str, Any]) -> None:
        with self._lock:
            self.inputs_fetched.append(dict(fetched))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "responses": {route: dict(counts) for route, counts in self.responses.items()},
                "output_bytes": self.output_bytes,
                "inputs_fetched": [dict(item) for item in self.inputs_fetched],
            }


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class EmulatorServer:
    """The emulator on ``host:port`` (port 0 = any free port). ``with EmulatorServer(...) as emu:``.

    generation_seconds: emulated model time per generation (0 = as fast as rendering allows).
    faults: Fault objects, dicts or ``key=value,...`` strings (see faults.py).
    output_url_ttl: seconds an outputUrl stays valid (None = forever); expired URLs answer 403.
    public_url: base of outputUrl when clients reach the emulator under another address.
    concurrency: generations rendered at once by the emulator's worker threads (not a Sync.so limit).
    concurrency_limit: the organisation's limit of generations PENDING/PROCESSING (0 = none); over it,
        create answers 429 concurrency_limit_reached with Retry-After: concurrency_retry_after seconds.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        generation_seconds: float = 0.0,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        faults: list[Fault | dict | str] | None = None,
        output_dir: str | Path | None = None,
        output_url_ttl: float | None = None,
        concurrency: int = 2,
        public_url: str | None = None,
        webhook_timeout: float = 5.0,
        concurrency_limit: int = 0,
        concurrency_retry_after: int = 5,
    ) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.store = GenerationStore(concurrency_limit, concurrency_retry_after)
        self.faults = FaultPlan(faults)
        self.stats = RequestStats()
        self.signer = OutputUrlSigner(output_url_ttl)
        self.webhooks = WebhookSender(webhook_secret, timeout=webhook_timeout)
        self._tempdir = None if output_dir else tempfile.TemporaryDirectory(prefix="syncso-emulator-")
        self.output_dir = Path(output_dir or self._tempdir.name)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._httpd = _HTTPServer((host, port), EmulatorRequestHandler, bind_and_activate=True)
        self._httpd.emulator = self  # type: ignore[attr-defined]
        bound_host, bound_port = self._httpd.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self.public_url = (public_url or self.url).rstrip("/")
        self.worker = GenerationWorker(
            self.store,
            self.faults,
            self.webhooks,
            self.output_dir,
            self.output_url,
            generation_seconds=generation_seconds,
            concurrency=concurrency,
            on_input_fetched=self.stats.record_input,
        )
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="syncso-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Foreground mode (the CLI); returns after ``stop()`` from another thread or KeyboardInterrupt."""
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown() if self._thread else None
        self._httpd.server_close()
        with self._connections_lock:
            for connection in list(self._connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.worker.stop()
        self.webhooks.close()
        if self._thread:
            self._thread.join(timeout=5)
        if self._tempdir is not None:
            self._tempdir.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def track_connection(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    # -- used by the HTTP layer and by tests -----------------------------------------------------

    def output_url(self, record: GenerationRecord) -> str:
        return self.signer.url(self.public_url, record)

    def generation_json(self, record: GenerationRecord) -> dict[str, Any]:
        return record.to_wire(self.output_url(record))

    def add_faults(self, faults: list[Fault | dict | str]) -> list[Fault]:
        return self.faults.add(faults)

    def clear_faults(self) -> None:
        self.faults.clear()

    def create_synthetic(
        self,
        size: int,
        output_file_name: str | None = None,
        output_duration: float | None = None,
        model: str = "lipsync-2",
    ) -> GenerationRecord:
        """A COMPLETED generation whose output is ``size`` generated bytes (see outputs.synthetic_bytes)."""
        if output_file_name is not None and not OUTPUT_FILE_NAME.fullmatch(str(output_file_name)):
            raise ApiProblem(
                400, "outputFileName may only contain [A-Za-z0-9_-]", "generation_invalid_output_file_name"
            )
        record = GenerationRecord(
            id=str(uuid.uuid4()),
            created_at=dt.datetime.now(dt.UTC),
            model=model,
            input=[],
            status="COMPLETED",
            output_file_name=output_file_name,
            synthetic_size=size,
            output_duration=output_duration,
            history=["COMPLETED"],
        )
        return self.store.add(record)

    def stats_snapshot(self) -> dict[str, Any]:
        return {
            **self.stats.snapshot(),
            "generations": self.store.counts_by_status(),
            "billing": self.store.billing_stats(),
            "concurrency": self.store.concurrency_stats(),
            "webhooks": self.webhooks.stats(),
            "faults_fired": dict(self.faults.fired),
        }

    def reset_stats(self) -> None:
        """Counters only: requests, answers, bytes, fetched inputs, billing, maxInFlight (to the
        number in flight now); the generations themselves stay."""
        self.stats.reset()
        self.store.reset_counters()

    def settings(self) -> dict[str, Any]:
        return {
            "concurrencyLimit": self.store.concurrency_limit,
            "concurrencyRetryAfter": self.store.concurrency_retry_after,
            "generationSeconds": self.worker.generation_seconds,
            "idempotencyConflictCode": self.store.idempotency_conflict_code,
        }

    def change_settings(self, changes: Any) -> None:
        """Some of the keys of ``settings()``; ValueError/TypeError when one is wrong (nothing changes)."""
        if not isinstance(changes, dict):
            raise TypeError("settings must be an object")
        unknown = sorted(set(changes) - set(self.settings()))
        if unknown:
            raise ValueError(f"unknown settings: {unknown}")
        checked = dict(self.settings())
        for name in ("concurrencyLimit", "concurrencyRetryAfter"):
            value = changes.get(name, checked[name])
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0")
            checked[name] = value
        seconds = changes.get("generationSeconds", checked["generationSeconds"])
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise ValueError("generationSeconds must be a number >= 0")
        code = changes.get("idempotencyConflictCode", checked["idempotencyConflictCode"])
        if not isinstance(code, str) or not code:
            raise ValueError("idempotencyConflictCode must be a non-empty string")
        self.store.concurrency_limit = checked["concurrencyLimit"]
        self.store.concurrency_retry_after = checked["concurrencyRetryAfter"]
        self.worker.generation_seconds = float(seconds)
        self.store.idempotency_conflict_code = code
