"""HTTP layer of the emulator: routing, auth, fault injection, JSON and output streaming.

Routes (Sync.so's paths, then the emulator's own control endpoints, which need no API key):

    POST /v2/generate                 create (Idempotency-Key honoured)       -> 201 (200 on replay)
    GET  /v2/generate/{id}            one generation (fresh outputUrl)        -> 200 / 404
    POST /v2/generate/{id}/cancel     cancel a PENDING generation (old docs)  -> 200 / 400
    GET  /v2/generations              list; ?status=A,B&ids=x,y (or repeated) -> 200 [..]
    GET  /v2/errors                   error catalog, no key                   -> 200
    GET|HEAD /outputs/{id}/{name}.mp4 the output (Range, optional expiry)     -> 200 / 206 / 403 / 416
    GET|POST|DELETE /_emulator/faults active faults / add / clear
    GET|DELETE /_emulator/stats       request counts per route, sha256 of each fetched input / reset
    POST /_emulator/synthetic         {"size": N} -> a COMPLETED generation whose output is N bytes
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from . import outputs
from .faults import Fault
from .problems import ApiProblem, catalog, nest_error_body
from .validation import validate_generate_body, validate_idempotency_key

if TYPE_CHECKING:
    from .server import EmulatorServer

log = logging.getLogger("devstack.emulator.http")

# (method, path pattern, route name for stats/faults, handler method, API key required)
ROUTES = [
    ("POST", r"/v2/generate", "create", "create_generation", True),
    ("GET", r"/v2/generate/(?P<id>[^/]+)", "get", "get_generation", True),
    ("POST", r"/v2/generate/(?P<id>[^/]+)/cancel", "cancel", "cancel_generation", True),
    ("GET", r"/v2/generations", "list", "list_generations", True),
    ("GET", r"/v2/errors", "errors", "error_catalog", False),
    ("GET", r"/outputs/(?P<id>[^/]+)/(?P<name>[^/]+)", "output", "serve_output", False),
    ("HEAD", r"/outputs/(?P<id>[^/]+)/(?P<name>[^/]+)", "output", "serve_output", False),
    ("GET", r"/_emulator/faults", "control", "list_faults", False),
    ("POST", r"/_emulator/faults", "control", "add_faults", False),
    ("DELETE", r"/_emulator/faults", "control", "clear_faults", False),
    ("GET", r"/_emulator/stats", "control", "get_stats", False),
    ("DELETE", r"/_emulator/stats", "control", "reset_stats", False),
    ("POST", r"/_emulator/synthetic", "control", "create_synthetic", False),
]
FAULT_ROUTES = {"create", "get", "list", "output", "cancel"}


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SyncSoEmulator/1"
    timeout = 120  # idle keep-alive connections are closed after this
    emulator: EmulatorServer
    route = "unknown"

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
            self.send_json(problem.status, problem.body())
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
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        status, code, message = _fault_answer(fault)
        self.send_json(status, nest_error_body(status, message, code))
        return True

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers)

    def _json_body(self, body: bytes) -> Any:
        try:
            return json.loads(body or b"null")
        except ValueError:
            raise ApiProblem(
                400, "Request body is not valid JSON", "generation_input_validation_failed"
            ) from None

    # -- Sync.so routes --------------------------------------------------------------------------

    def create_generation(self, body: bytes) -> None:
        key = validate_idempotency_key(self.headers.get("idempotency-key"))
        request = validate_generate_body(self._json_body(body))
        record, replayed = self.emulator.store.create(request, key)
        answer = self.emulator.generation_json(record)  # before the worker can move it on: PENDING
        if not replayed:
            self.emulator.worker.submit(record)
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        self.send_json(200 if replayed else 201, answer, headers)

    def get_generation(self, body: bytes, id: str) -> None:
        self.send_json(200, self.emulator.generation_json(self.emulator.store.get(id)))

    def cancel_generation(self, body: bytes, id: str) -> None:
        self.emulator.store.get(id)
        if not self.emulator.worker.cancel(id):
            raise ApiProblem(400, "Only a PENDING generation can be canceled", "generation_not_cancelable")
        self.send_json(200, self.emulator.generation_json(self.emulator.store.get(id)))

    def list_generations(self, body: bytes) -> None:
        query = parse_qs(self.query)
        statuses = {s for value in query.get("status", []) for s in value.split(",") if s}
        ids = {i for value in query.get("ids", []) for i in value.split(",") if i}
        records = self.emulator.store.list(statuses or None, ids or None)
        self.send_json(200, [self.emulator.generation_json(r) for r in records])

    def error_catalog(self, body: bytes) -> None:
        self.send_json(200, catalog())

    def serve_output(self, body: bytes, id: str, name: str) -> None:
        path = urlsplit(self.path).path
        denied = self.emulator.signer.problem(path, self.query)
        if denied:
            return self._send_raw(403, outputs.s3_error_xml("AccessDenied", denied), "application/xml")
        try:
            record = self.emulator.store.get(id)
        except ApiProblem:
            record = None
        if record is None or not record.has_output or outputs.output_path(record) != path:
            return self._send_raw(
                404, outputs.s3_error_xml("NoSuchKey", "The specified key does not exist."), "application/xml"
            )
        size = outputs.output_size(record)
        try:
            byte_range = outputs.parse_range(self.headers.get("range"), size)
        except outputs.RangeNotSatisfiable:
            return self._send_raw(
                416,
                outputs.s3_error_xml("InvalidRange", "The requested range is not satisfiable"),
                "application/xml",
                {"Content-Range": f"bytes */{size}"},
            )
        first, last = byte_range or (0, size - 1)
        self.send_response(206 if byte_range else 200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{record.id}-{size}"')
        if byte_range:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.end_headers()
        if self.command == "HEAD" or size == 0:
            return
        self._stream(outputs.iter_output(record, first, last))

    def _stream(self, chunks) -> None:
        broken = self.emulator.faults.take_broken_output()
        budget = broken.after_bytes if broken is not None else None
        sent = 0
        for chunk in chunks:
            cut = budget is not None and sent + len(chunk) >= budget
            if cut:
                chunk = chunk[: budget - sent]
            # counted before it is written: a client that has read the bytes sees them counted
            self.emulator.stats.record_bytes(len(chunk))
            self.wfile.write(chunk)
            sent += len(chunk)
            if cut:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)  # the client sees a body shorter than promised
                return

    def _send_raw(
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

    # -- control routes --------------------------------------------------------------------------

    def list_faults(self, body: bytes) -> None:
        self.send_json(
            200, {"active": self.emulator.faults.describe(), "fired": dict(self.emulator.faults.fired)}
        )

    def add_faults(self, body: bytes) -> None:
        payload = self._json_body(body)
        items = payload.get("faults", [payload]) if isinstance(payload, dict) else payload
        try:
            added = self.emulator.faults.add(items if isinstance(items, list) else [items])
        except (TypeError, ValueError) as exc:
            raise ApiProblem(400, f"invalid fault: {exc}", "invalid_fault") from None
        self.send_json(201, {"added": [vars(f) for f in added], "active": self.emulator.faults.describe()})

    def clear_faults(self, body: bytes) -> None:
        self.emulator.faults.clear()
        self.send_json(200, {"active": []})

    def get_stats(self, body: bytes) -> None:
        self.send_json(200, self.emulator.stats_snapshot())

    def reset_stats(self, body: bytes) -> None:
        self.emulator.stats.reset()
        self.send_json(200, self.emulator.stats_snapshot())

    def create_synthetic(self, body: bytes) -> None:
        payload = self._json_body(body)
        size = payload.get("size") if isinstance(payload, dict) else None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ApiProblem(400, "size must be a non-negative integer (bytes)", "invalid_synthetic")
        name = payload.get("outputFileName")
        record = self.emulator.create_synthetic(
            size, output_file_name=name, output_duration=payload.get("outputDuration")
        )
        self.send_json(201, self.emulator.generation_json(record))


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
