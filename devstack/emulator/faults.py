"""Faults injected on demand, scripted at start-up (CLI/constructor) or at run time (control endpoint).

A fault is a dict (JSON from ``POST /_emulator/faults``) or a ``key=value,...`` string (``--fault``):

- ``rate_limit`` (route, count): 429 errorCode rate_limit_exceeded
- ``concurrency_limit`` (route, count): 429 errorCode concurrency_limit_reached
- ``http_error`` (route, count, status, error_code, message): any 4xx/5xx answer (503, 402, 413, ...)
- ``delay`` (route, count, seconds): answer after ``seconds`` (to make clients time out)
- ``disconnect`` (route, count): close the connection without an answer
- ``generation_failure`` (count, outcome FAILED|REJECTED, error_code, message): the next generations end so
- ``broken_output`` (count, after_bytes): the output body is cut after ``after_bytes`` bytes

``route`` is one of create, get, list, output, cancel or any (default). ``count`` is how many times
the fault fires (default 1); ``count=always`` (or null) keeps it forever. Faults fire in the order
they were added; a ``delay`` combines with at most one error fault on the same request.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

ROUTES = ("create", "get", "list", "output", "cancel", "any")
HTTP_KINDS = ("rate_limit", "concurrency_limit", "http_error", "delay", "disconnect")
KINDS = (*HTTP_KINDS, "generation_failure", "broken_output")
OUTCOMES = ("FAILED", "REJECTED")


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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        if not isinstance(data, dict):
            raise TypeError("a fault must be an object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        fault = cls(**data)
        fault.count = _parse_count(fault.count)
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

    def _take_first(self, kind: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind:
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
    if key in ("status", "after_bytes"):
        return int(value)
    if key == "seconds":
        return float(value)
    return value
