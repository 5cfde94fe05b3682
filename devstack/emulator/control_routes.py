"""The emulator's control routes under ``/_emulator`` (no API key): faults, stats, settings, synthetic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .problems import ApiProblem

if TYPE_CHECKING:
    from .server import EmulatorServer


class ControlRoutes:
    """Mixed into the request handler (app.EmulatorRequestHandler)."""

    emulator: EmulatorServer

    def list_faults(self, body: bytes) -> None:
        self.send_json(
            200, {"active": self.emulator.faults.describe(), "fired": dict(self.emulator.faults.fired)}
        )

    def add_faults(self, body: bytes) -> None:
        payload = self.json_body(body)
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
        self.emulator.reset_stats()
        self.send_json(200, self.emulator.stats_snapshot())

    def get_settings(self, body: bytes) -> None:
        self.send_json(200, self.emulator.settings())

    def change_settings(self, body: bytes) -> None:
        payload = self.json_body(body)
        try:
            self.emulator.change_settings(payload)
        except (TypeError, ValueError) as exc:
            raise ApiProblem(400, f"invalid settings: {exc}", "invalid_settings") from None
        self.send_json(200, self.emulator.settings())

    def create_synthetic(self, body: bytes) -> None:
        payload = self.json_body(body)
        size = payload.get("size") if isinstance(payload, dict) else None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ApiProblem(400, "size must be a non-negative integer (bytes)", "invalid_synthetic")
        name = payload.get("outputFileName")
        record = self.emulator.create_synthetic(
            size, output_file_name=name, output_duration=payload.get("outputDuration")
        )
        self.send_json(201, self.emulator.generation_json(record))

    def list_requests(self, body: bytes) -> None:
        """What each generation was asked, oldest first (issue 17: the speaker sent, job and segments)."""
        records = reversed(self.emulator.store.list())
        self.send_json(200, {"generations": [
            {"id": r.id, "idempotencyKey": r.idempotency_key, "model": r.model, "status": r.status,
             "options": r.options, "segments": r.segments, "outputDuration": r.output_duration,
             "errorCode": r.error_code}
            for r in records]})
