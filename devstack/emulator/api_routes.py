"""Sync.so's own routes: create, get, list, delete, cost estimate, error catalog (see app.py)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .cost import estimate_cost
from .faults import Fault
from .problems import ApiProblem, catalog, nest_error_body
from .records import GenerationRecord
from .validation import parse_list_query, validate_generate_body, validate_idempotency_key, wants_progress

if TYPE_CHECKING:
    from .server import EmulatorServer

GATEWAY_PAGE = "<html><head><title>{0}</title></head><body><center><h1>{0}</h1></center></body></html>"


class ApiRoutes:
    """Mixed into the request handler (app.EmulatorRequestHandler)."""

    emulator: EmulatorServer
    query: str
    headers: Any

    def create_generation(self, body: bytes) -> None:
        keys = self.headers.get_all("idempotency-key") or []
        if len(keys) > 1:
            raise ApiProblem(400, "Send exactly one Idempotency-Key header", "INVALID_IDEMPOTENCY_KEY")
        key = validate_idempotency_key(keys[0] if keys else None)
        request = validate_generate_body(self.json_body(body))
        record, replayed = self.emulator.store.create(request, key)
        answer = self.generation_answer(record, "create")  # before the worker can move it on: PENDING
        if not replayed:
            self.emulator.worker.submit(record)
        lost = self.emulator.faults.take_lost_create_answer()
        if lost is not None:
            return self._lose_answer(lost, record)
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        self.send_json(200 if replayed else 201, answer, headers)

    def _lose_answer(self, fault: Fault, record: GenerationRecord) -> None:
        """The generation exists; the client never learns it from this answer."""
        if fault.seconds:
            time.sleep(fault.seconds)
        if fault.mode == "outcome_unknown":
            message = "The outcome of this request is unknown; poll generationId before retrying"
            body = nest_error_body(503, message, "IDEMPOTENCY_OUTCOME_UNKNOWN", generationId=record.id)
            self.send_json(503, body)
        elif fault.mode in ("502", "504"):
            title = "502 Bad Gateway" if fault.mode == "502" else "504 Gateway Time-out"
            self.send_raw(int(fault.mode), GATEWAY_PAGE.format(title).encode(), "text/html")
        else:
            self.drop_connection()

    def get_generation(self, body: bytes, id: str) -> None:
        record = self.emulator.store.get(id)
        self.send_json(200, self.generation_answer(record, "get", progress=wants_progress(self.query)))

    def list_generations(self, body: bytes) -> None:
        statuses, ids, limit = parse_list_query(self.query)
        records = self.emulator.store.list(statuses or None, ids or None, limit)
        fault = self.emulator.faults.take_unknown_status("list") if records else None
        answer = [self.generation_answer(r, None) for r in records]
        for generation in answer if fault is not None else ():
            generation["status"] = fault.reported_status
        self.send_json(200, answer)

    def delete_generation(self, body: bytes, id: str) -> None:
        record = self.emulator.store.delete(id)
        answer = self.emulator.generation_json(record)
        if record.output_path is not None:
            record.output_path.unlink(missing_ok=True)
        self.send_json(200, answer)

    def estimate_cost(self, body: bytes) -> None:
        request = validate_generate_body(self.json_body(body))
        self.send_json(200, estimate_cost(request, self.emulator.worker.http))

    def error_catalog(self, body: bytes) -> None:
        self.send_json(200, catalog())

    def generation_answer(
        self, record: GenerationRecord, route: str | None, progress: bool = False
    ) -> dict[str, Any]:
        """The Generation JSON, with progress_percent when asked, under an ``unknown_status`` fault."""
        answer = self.emulator.generation_json(record)
        if progress:
            answer["progress_percent"] = self.emulator.store.progress_percent(record)
        fault = self.emulator.faults.take_unknown_status(route) if route else None
        if fault is not None:
            answer["status"] = fault.reported_status
        return answer
