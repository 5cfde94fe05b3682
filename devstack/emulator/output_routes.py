"""The output files at ``outputMediaUrl``/``outputUrl``: S3-like (Range, expiry, XML errors); outputs.py."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import outputs
from .problems import ApiProblem

if TYPE_CHECKING:
    from .server import EmulatorServer


class OutputRoutes:
    """Mixed into the request handler (app.EmulatorRequestHandler)."""

    emulator: EmulatorServer
    query: str
    path: str
    headers: Any
    command: str

    def serve_output(self, body: bytes, id: str, name: str) -> None:
        path = urlsplit(self.path).path
        denied = self.emulator.signer.problem(path, self.query)
        if denied:
            return self.send_raw(403, outputs.s3_error_xml("AccessDenied", denied), "application/xml")
        try:
            record = self.emulator.store.get(id)
        except ApiProblem:
            record = None
        if record is None or not record.has_output or outputs.output_path(record) != path:
            return self.send_raw(
                404, outputs.s3_error_xml("NoSuchKey", "The specified key does not exist."), "application/xml"
            )
        size = outputs.output_size(record)
        try:
            byte_range = outputs.parse_range(self.headers.get("range"), size)
        except outputs.RangeNotSatisfiable:
            return self.send_raw(
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
