"""HTTP layer of the emulator: routing, auth, fault injection, JSON. The routes live in
``api_routes`` (Sync.so's), ``output_routes`` (the output files) and ``control_routes`` (the emulator's).

Routes (Sync.so's paths, then the emulator's own control endpoints, which need no API key):

    POST   /v2/generate              create (Idempotency-Key, org concurrency limit)
                                     -> 201 (200 on replay) / 400 / 409 / 429
    GET    /v2/generate/{id}         one generation; ?include=progress adds progress_percent -> 200 / 404
    GET    /v2/generations           list, newest first; ?status=A,B (or repeated) &ids=x,y &limit=1..100
                                     -> 200 [..] / 400 (unknown status, bad limit)
    DELETE /v2/generations/{id}      delete a finished generation             -> 200 / 404 / 409
    POST   /v2/analyze/cost          create body -> [{estimatedFrameCount, estimatedGenerationCost}]
                                     -> 200 / 400 / 422 cost_estimate_unavailable
    GET    /v2/errors                error catalog, no key                    -> 200
    GET|HEAD /outputs/{id}/{name}.mp4 the output (Range, optional expiry)     -> 200 / 206 / 403 / 404 / 416
    GET|POST|DELETE /_emulator/faults   active faults / add / clear
    GET|DELETE /_emulator/stats         counters, billing, concurrency, webhooks, fetched inputs / reset
    GET|PUT|POST /_emulator/settings    concurrencyLimit, concurrencyRetryAfter, generationSeconds,
                                        idempotencyConflictCode / change some of them
    POST   /_emulator/synthetic      {"size": N} -> a COMPLETED generation whose output is N bytes
    GET    /_emulator/generations    what each generation was asked (model, options, segments with their
                                     optionsOverride, Idempotency-Key), oldest first

The old docs' ``POST /v2/generate/{id}/cancel`` is gone from the current API (a processing generation
cannot be stopped, it is billed): it answers 404 like any unknown route.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .api_routes import ApiRoutes
from .control_routes import ControlRoutes
from .faults import Fault
from .output_routes import OutputRoutes
from .problems import ApiProblem, nest_error_body

if TYPE_CHECKING:
    from .server import EmulatorServer

log = logging.getLogger("devstack.emulator.http")

# (method, path pattern, route name for stats/faults, handler method, API key required)
ROUTES = [
    ("POST", r"/v2/generate", "create", "create_generation", True),
    ("GET", r"/v2/generate/(?P<id>[^/]+)", "get", "get_generation", True),
    ("GET", r"/v2/generations", "list", "list_generations", True),
    ("DELETE", r"/v2/generations/(?P<id>[^/]+)", "delete", "delete_generation", True),
    ("POST", r"/v2/analyze/cost", "cost", "estimate_cost", True),
    ("GET", r"/v2/errors", "errors", "error_catalog", False),
    ("GET", r"/outputs/(?P<id>[^/]+)/(?P<name>[^/]+)", "output", "serve_output", False),
    ("HEAD", r"/outputs/(?P<id>[^/]+)/(?P<name>[^/]+)", "output", "serve_output", False),
    ("GET", r"/_emulator/faults", "control", "list_faults", False),
    ("POST", r"/_emulator/faults", "control", "add_faults", False),
    ("DELETE", r"/_emulator/faults", "control", "clear_faults", False),
    ("GET", r"/_emulator/stats", "control", "get_stats", False),
    ("DELETE", r"/_emulator/stats", "control", "reset_stats", False),
    ("GET", r"/_emulator/settings", "control", "get_settings", False),
    ("PUT", r"/_emulator/settings", "control", "change_settings", False),
    ("POST", r"/_emulator/settings", "control", "change_settings", False),
    ("POST", r"/_emulator/synthetic", "control", "create_synthetic", False),
    ("GET", r"/_emulator/generations", "control", "list_requests", False),
]
FAULT_ROUTES = {"create", "get", "list", "delete", "cost", "output"}


class EmulatorRequestHandler(ApiRoutes, OutputRoutes, ControlRoutes, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SyncSoEmulator/1"
    timeout = 120  # idle keep-alive connections are closed after this
    emulator: EmulatorServer
    route = "unknown"
    query = ""

    def setup(self) -> None:
        super().setup()
        self.emulator = self.server.emulator  # type: ignore[attr-defined]
        self.emulator.track_connection(self.connection, open_=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.emulator.track_connection(self.connection, open_=False)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def send_response(self, code: int, message: str | None = None) -> None:
        self.emulator.stats.record_response(self.route, code)
        super().send_response(code, message)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # -- dispatch --------------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        self.query = parts.query
        body = self._read_body()
        self.route, handler, params, needs_key = "unknown", None, {}, False
        for route_method, pattern, route, name, needs in ROUTES:
            match = re.fullmatch(pattern, parts.path)
            if match and route_method == method:
                self.route, handler, params, needs_key = route, getattr(self, name), match.groupdict(), needs
                break
        self.emulator.stats.record_request(self.route)
        try:
            if handler is None:
                raise ApiProblem(404, f"Cannot {method} {parts.path}")
            if needs_key and self.headers.get("x-api-key") != self.emulator.api_key:
                raise ApiProblem(401, "Invalid or missing API key", "unauthorized")
            if self.route in FAULT_ROUTES and self._inject_fault():
                return
            handler(body, **params)
        except ApiProblem as problem:
            self.send_json(problem.status, problem.body(), problem.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _inject_fault(self) -> bool:
        """Apply the faults scripted for this route; True when the answer was already given."""
        delay, fault = self.emulator.faults.take_http(self.route)
        if delay:
            time.sleep(delay)
        if fault is None:
            return False
        if fault.kind == "disconnect":
            self.drop_connection()
            return True
        status, code, message = _fault_answer(fault)
        headers = {}
        retry_after = fault.retry_after
        if fault.kind == "concurrency_limit" and retry_after is None:
            retry_after = self.emulator.store.concurrency_retry_after
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after))
        self.send_json(status, nest_error_body(status, message, code), headers)
        return True

    def drop_connection(self) -> None:
        """Close the connection without an answer (the client sees a reset / empty reply)."""
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_raw(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers)

    def json_body(self, body: bytes) -> Any:
        try:
            return json.loads(body or b"null")
        except ValueError:
            raise ApiProblem(
                400, "Request body is not valid JSON", "generation_input_validation_failed"
            ) from None

    def send_raw(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _fault_answer(fault: Fault) -> tuple[int, str | None, str]:
    if fault.kind == "rate_limit":
        return 429, fault.error_code or "rate_limit_exceeded", fault.message or "Too many requests, slow down"
    if fault.kind == "concurrency_limit":
        return (
            429,
            fault.error_code or "concurrency_limit_reached",
            fault.message or "Concurrency limit reached for your plan",
        )
    status = int(fault.status or 500)
    return status, fault.error_code, fault.message or f"Injected HTTP {status}"
