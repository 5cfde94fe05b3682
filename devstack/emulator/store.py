"""Generations held in memory: Idempotency-Key bookkeeping, the organisation's concurrency limit and
the count of billed (created) generations.

Idempotency (sync.so/docs/api-reference/guides/idempotency: a replay needs the same key AND the same
inputs; the answer to the same key with other inputs is not published — unverified):
- same key + same body (canonical JSON of the validated body) -> the SAME generation, answered 200
  instead of 201, with header ``Idempotent-Replayed: true``; nothing is created or billed. A replay
  is served even when the organisation is at its concurrency limit.
- same key + another body -> 409 Conflict, ``errorCode`` ``IDEMPOTENCY_KEY_CONFLICT`` (settable:
  ``idempotency_conflict_code``), plus ``generationId`` = the generation the key made. The docs name
  their idempotency errors ``IDEMPOTENCY_*`` (INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_OUTCOME_UNKNOWN),
  hence the spelling; a client should act on 409 + ``generationId``, not on the code.
Keys are kept for the server's lifetime (the real retention window is not known).

Concurrency: generations in PENDING or PROCESSING count against ``concurrency_limit`` (0 = no
limit); over it, create answers 429 ``concurrency_limit_reached`` with ``Retry-After``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import uuid
from collections import Counter
from typing import Any

from .problems import ApiProblem
from .records import ACTIVE, GenerationRecord

__all__ = ["ACTIVE", "GenerationRecord", "GenerationStore", "body_fingerprint"]

DEFAULT_CONFLICT_CODE = "IDEMPOTENCY_KEY_CONFLICT"


def body_fingerprint(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class GenerationStore:
    def __init__(self, concurrency_limit: int = 0, concurrency_retry_after: int = 5) -> None:
        self._lock = threading.RLock()
        self._records: dict[str, GenerationRecord] = {}
        self._by_idempotency_key: dict[str, GenerationRecord] = {}
        self.concurrency_limit = concurrency_limit
        self.concurrency_retry_after = concurrency_retry_after
        self.idempotency_conflict_code = DEFAULT_CONFLICT_CODE
        self.reset_counters()

    def reset_counters(self) -> None:
        with self._lock:
            self.billed_by_key: Counter[str] = Counter()
            self.billed_without_key = 0
            self.concurrency_rejections = 0
            self.max_in_flight = self._in_flight()

    def create(
        self, body: dict[str, Any], idempotency_key: str | None = None
    ) -> tuple[GenerationRecord, bool]:
        """(record, replayed). Raises ApiProblem 409 (key used with another body) or 429 (limit)."""
        fingerprint = body_fingerprint(body)
        with self._lock:
            existing = self._by_idempotency_key.get(idempotency_key) if idempotency_key else None
            if existing is not None:
                if existing.fingerprint != fingerprint:
                    raise ApiProblem(
                        409,
                        "Idempotency-Key was already used with different inputs",
                        self.idempotency_conflict_code,
                        generationId=existing.id,
                    )
                return existing, True
            in_flight = self._in_flight()
            if self.concurrency_limit and in_flight >= self.concurrency_limit:
                self.concurrency_rejections += 1
                raise ApiProblem(
                    429,
                    f"Concurrency limit reached: {in_flight} generations are PENDING or PROCESSING"
                    f" (your organization's limit is {self.concurrency_limit})",
                    "concurrency_limit_reached",
                    headers={"Retry-After": str(self.concurrency_retry_after)},
                )
            record = GenerationRecord(
                id=str(uuid.uuid4()),
                created_at=dt.datetime.now(dt.UTC),
                model=body["model"],
                input=body["input"],
                options=body.get("options"),
                segments=body.get("segments"),
                webhook_url=body.get("webhookUrl"),
                output_file_name=body.get("outputFileName"),
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
                history=["PENDING"],
            )
            self._records[record.id] = record
            if idempotency_key is not None:
                self._by_idempotency_key[idempotency_key] = record
                self.billed_by_key[idempotency_key] += 1
            else:
                self.billed_without_key += 1
            self.max_in_flight = max(self.max_in_flight, in_flight + 1)
            return record, False

    def add(self, record: GenerationRecord) -> GenerationRecord:
        """A record made outside create (synthetic outputs): not billed, not counted in flight."""
        with self._lock:
            self._records[record.id] = record
        return record

    def get(self, generation_id: str) -> GenerationRecord:
        with self._lock:
            record = self._records.get(generation_id)
        if record is None:
            raise ApiProblem(404, f"Generation {generation_id} not found", "generation_not_found")
        return record

    def delete(self, generation_id: str) -> GenerationRecord:
        """DELETE /v2/generations/{id}: only a generation in a final state (409 otherwise)."""
        with self._lock:
            record = self.get(generation_id)
            if record.status in ACTIVE:
                raise ApiProblem(
                    409,
                    f"Generation {generation_id} is {record.status}; only a finished one can be deleted",
                    "generation_not_deletable_while_processing",
                )
            del self._records[generation_id]
            return record

    def transition(
        self, generation_id: str, status: str, allowed_from: tuple[str, ...], **fields: Any
    ) -> bool:
        """Move to ``status`` only from ``allowed_from`` (a deleted generation is never moved)."""
        with self._lock:
            record = self._records.get(generation_id)
            if record is None or record.status not in allowed_from:
                return False
            for name, value in fields.items():
                setattr(record, name, value)
            record.status = status
            record.history.append(status)
            return True

    def update(self, generation_id: str, **fields: Any) -> None:
        with self._lock:
            record = self._records.get(generation_id)
            for name, value in fields.items() if record is not None else ():
                setattr(record, name, value)

    def progress_percent(self, record: GenerationRecord) -> int:
        with self._lock:
            return record.progress_percent()

    def list(
        self, statuses: set[str] | None = None, ids: set[str] | None = None, limit: int | None = None
    ) -> list[GenerationRecord]:
        """Newest first, filtered by status and id sets when given, at most ``limit``."""
        with self._lock:
            records = list(reversed(self._records.values()))  # insertion order = creation order
        records = [r for r in records if (not statuses or r.status in statuses) and (not ids or r.id in ids)]
        return records[:limit] if limit else records

    def counts_by_status(self) -> dict[str, int]:
        with self._lock:
            return dict(Counter(record.status for record in self._records.values()))

    def _in_flight(self) -> int:
        return sum(1 for record in self._records.values() if record.status in ACTIVE)

    def concurrency_stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "limit": self.concurrency_limit,
                "inFlight": self._in_flight(),
                "maxInFlight": self.max_in_flight,
                "rejected": self.concurrency_rejections,
            }

    def billing_stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "billedGenerations": sum(self.billed_by_key.values()) + self.billed_without_key,
                "byIdempotencyKey": dict(self.billed_by_key),
                "withoutIdempotencyKey": self.billed_without_key,
            }
