"""Faults injected on demand, scripted at start-up (CLI/constructor) or at run time (control endpoint).

A fault is a dict (JSON from ``POST /_emulator/faults``) or a ``key=value,...`` string (``--fault``):

- ``rate_limit`` (route, count, retry_after): 429 errorCode rate_limit_exceeded (+ Retry-After if given)
- ``concurrency_limit`` (route, count, retry_after): 429 errorCode concurrency_limit_reached, Retry-After
  (the real limit is a server setting, see ``/_emulator/settings``; this forces the answer)
- ``http_error`` (route, count, status, error_code, message): any 4xx/5xx answer (503, 402, 413, ...)
- ``delay`` (route, count, seconds): answer after ``seconds`` (to make clients time out)
- ``disconnect`` (route, count): close the connection without an answer (nothing is created)
- ``lost_create_answer`` (count, mode, seconds): the generation IS created (or replayed), then after
  ``seconds`` the answer is lost: mode ``disconnect`` (default: connection closed, no answer), ``502``,
  ``504`` (a gateway error body) or ``outcome_unknown`` (503 IDEMPOTENCY_OUTCOME_UNKNOWN + generationId)
- ``unknown_status`` (route create|get|list, count, reported_status): the next ``count`` answers carrying
  generations show status ``reported_status`` (default QUEUED_FOR_GPU); the generation itself moves on
- ``generation_failure`` (count, outcome FAILED|REJECTED, error_code, message): the next ``count``
  generations end so (FAILED default code generation_pipeline_failed; retryable per docs:
  generation_timeout, generation_pipeline_failed, generation_database_error; any other code is taken)
- ``webhook`` (count, mode, seconds): the next ``count`` webhooks are: ``drop`` (never sent),
  ``duplicate`` (sent twice, the second ``seconds`` later), ``delay`` (sent ``seconds`` after the final
  status), ``early`` (sent ``seconds`` BEFORE GET shows the final status), ``stale`` (signed with a
  timestamp ``seconds`` old, default 600) or ``bad_signature`` (signed with another secret)
- ``broken_output`` (count, after_bytes): the output body is cut after ``after_bytes`` bytes

``route`` is one of create, get, list, delete, cost, output or any (default). ``count`` is how many
times the fault fires (default 1); ``count=always`` (or null) keeps it forever. Faults fire in the order
they were added; a ``delay`` combines with at most one error fault on the same request.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

ROUTES = ("create", "get", "list", "delete", "cost", "output", "any")
HTTP_KINDS = ("rate_limit", "concurrency_limit", "http_error", "delay", "disconnect")
KINDS = (
    *HTTP_KINDS,
    "lost_create_answer",
    "unknown_status",
    "generation_failure",
    "webhook",
    "broken_output",
)
OUTCOMES = ("FAILED", "REJECTED")
LOST_ANSWER_MODES = ("disconnect", "502", "504", "outcome_unknown")
WEBHOOK_MODES = ("drop", "duplicate", "delay", "early", "stale", "bad_signature")
GENERATION_ROUTES = ("create", "get", "list", "any")  # the answers that carry generations


@dataclass
class Fault:
    kind: str
    route: str = "any"
    count: int | None = 1  # None = always
    status: int | None = None
    error_code: str | None = None
    message: str | None = None
    seconds: float = 0.0
    after_bytes: int = 0
    outcome: str = "FAILED"
    mode: str | None = None
    reported_status: str = "QUEUED_FOR_GPU"
    retry_after: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        if not isinstance(data, dict):
            raise TypeError("a fault must be an object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        fault = cls(**data)
        fault.count = _parse_count(fault.count)
        fault.mode = None if fault.mode is None else str(fault.mode)  # JSON may give 502 as a number
        fault._check()
        return fault

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """``kind=rate_limit,route=create,count=3`` (the ``--fault`` syntax)."""
        data: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"fault element {part!r} is not key=value")
            data[key.strip()] = _coerce(key.strip(), value.strip())
        return cls.from_dict(data)

    def _check(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault kind {self.kind!r} is not one of {KINDS}")
        if self.route not in ROUTES:
            raise ValueError(f"fault route {self.route!r} is not one of {ROUTES}")
        if self.count is not None and self.count < 1:
            raise ValueError("fault count must be >= 1 (or 'always')")
        if self.kind == "http_error" and not (self.status and 400 <= int(self.status) <= 599):
            raise ValueError("http_error needs a status between 400 and 599")
        if self.kind == "delay" and not self.seconds > 0:
            raise ValueError("delay needs seconds > 0")
        if self.kind == "generation_failure" and self.outcome not in OUTCOMES:
            raise ValueError(f"generation_failure outcome must be one of {OUTCOMES}")
        if self.kind == "broken_output" and self.after_bytes < 0:
            raise ValueError("broken_output after_bytes must be >= 0")
        if self.seconds < 0 or (self.retry_after is not None and int(self.retry_after) < 0):
            raise ValueError("seconds and retry_after must be >= 0")
        if self.kind == "lost_create_answer":
            self.mode = self.mode or "disconnect"
            if self.mode not in LOST_ANSWER_MODES or self.route not in ("create", "any"):
                raise ValueError(f"lost_create_answer: route create, mode one of {LOST_ANSWER_MODES}")
        if self.kind == "webhook" and self.mode not in WEBHOOK_MODES:
            raise ValueError(f"webhook fault mode must be one of {WEBHOOK_MODES}")
        if self.kind == "webhook" and self.mode in ("delay", "early") and not self.seconds > 0:
            raise ValueError(f"webhook mode {self.mode} needs seconds > 0")
        if self.kind == "unknown_status" and (
            self.route not in GENERATION_ROUTES
            or not isinstance(self.reported_status, str)
            or not self.reported_status
        ):
            raise ValueError(f"unknown_status: route one of {GENERATION_ROUTES}, reported_status a string")

    def matches(self, route: str) -> bool:
        return self.route in ("any", route)


class FaultPlan:
    """The active faults; every ``take_*`` consumes one firing of the faults it returns."""

    def __init__(self, faults: list[Fault | dict | str] | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired: dict[str, int] = {}
        self.add(faults or [])

    def add(self, faults: list[Fault | dict | str]) -> list[Fault]:
        parsed = [
            f if isinstance(f, Fault) else Fault.parse(f) if isinstance(f, str) else Fault.from_dict(f)
            for f in faults
        ]
        with self._lock:
            self._faults.extend(parsed)
        return parsed

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take_http(self, route: str) -> tuple[float, Fault | None]:
        """(seconds to delay, error fault or None) for one request on ``route``."""
        delay, error = 0.0, None
        with self._lock:
            for fault in list(self._faults):
                if fault.kind not in HTTP_KINDS or not fault.matches(route):
                    continue
                if fault.kind == "delay":
                    delay += fault.seconds
                elif error is None:
                    error = fault
                else:
                    continue
                self._consume(fault)
        return delay, error

    def take_generation_failure(self) -> Fault | None:
        return self._take_first("generation_failure")

    def take_broken_output(self) -> Fault | None:
        return self._take_first("broken_output")

    def take_lost_create_answer(self) -> Fault | None:
        return self._take_first("lost_create_answer")

    def take_unknown_status(self, route: str) -> Fault | None:
        return self._take_first("unknown_status", route)

    def take_webhook(self) -> Fault | None:
        return self._take_first("webhook")

    def _take_first(self, kind: str, route: str | None = None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind and (route is None or fault.matches(route)):
                    self._consume(fault)
                    return fault
        return None

    def _consume(self, fault: Fault) -> None:
        self.fired[fault.kind] = self.fired.get(fault.kind, 0) + 1
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self._faults.remove(fault)


def _parse_count(value: Any) -> int | None:
    if value is None or value == "always":
        return None
    if value == "once":
        return 1
    return int(value)


def _coerce(key: str, value: str) -> Any:
    if key in ("status", "after_bytes", "retry_after"):
        return int(value)
    if key == "seconds":
        return float(value)
    return value
