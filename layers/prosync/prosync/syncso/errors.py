"""Typed Sync.so errors.

Exactly two leaf classes are raised, and their NAMES are part of the contract: the Step Functions
``Retry``/``Catch`` rules match ``type(exc).__name__``.

- ``SyncApiTransient``: worth retrying later: 429 (rate_limit_exceeded, concurrency_limit_reached),
  408, any 5xx, timeouts, connection failures and unreadable 2xx bodies.
- ``SyncApiRejected``: retrying the same request cannot help: 400, 401, 402, 404, 409, 413, 422 and
  every other 4xx (and unexpected 1xx/3xx answers).

Callers that must tell 429s apart read ``code`` (``rate_limit_exceeded`` vs ``concurrency_limit_reached``)
and ``retry_after`` (the Retry-After header, in seconds); ``details`` keeps the error body's other keys
(a 409 idempotency conflict names the key's generation in ``generationId``).

``str(exc)`` is a JSON object ``{"code", "message", "status"}`` so the state machine's failure path
(which only sees the error name and its cause string) keeps Sync.so's own code and message.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

MAX_MESSAGE_CHARS = 1000

# 408 Request Timeout is the server telling us we were too slow: as transient as a client timeout.
TRANSIENT_4XX = frozenset({408, 429})


class SyncApiError(Exception):
    """Base of every Sync.so client error."""

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        *,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.details = details or {}
        super().__init__(json.dumps({"code": code, "message": message, "status": status}))

    def __reduce__(self):  # keep pickling (used by some Lambda runtimes) working with keyword state
        return (type(self), (self.status, self.code, self.message),
                {"retry_after": self.retry_after, "details": self.details})

    @property
    def generation_id(self) -> str | None:
        """The ``generationId`` an error body names (409 idempotency conflict, 503 outcome unknown)."""
        value = self.details.get("generationId")
        return value if isinstance(value, str) and value else None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "status": self.status}


class SyncApiTransient(SyncApiError):
    """429, 5xx, timeouts, connection errors: the state machine retries with backoff."""


class SyncApiRejected(SyncApiError):
    """4xx other than 408/429: the job fails with Sync.so's code and message."""


def is_transient_status(status: int) -> bool:
    return status >= 500 or status in TRANSIENT_4XX


def error_from_response(response: httpx.Response) -> SyncApiError:
    """Map a non-2xx answer to the right error class, keeping the body's errorCode and message."""
    status = response.status_code
    code, message, details = _code_and_message(response)
    cls = SyncApiTransient if is_transient_status(status) else SyncApiRejected
    return cls(status, code, message, retry_after=_retry_after(response), details=details)


def error_from_transport(exc: httpx.HTTPError) -> SyncApiTransient:
    """Map an httpx failure that produced no answer (timeout, refused, reset) to a transient error."""
    if isinstance(exc, httpx.TimeoutException):
        code = "timeout"
    elif isinstance(exc, httpx.ConnectError):
        code = "connection_failed"
    else:
        code = "connection_error"
    detail = str(exc) or type(exc).__name__
    return SyncApiTransient(None, code, f"{type(exc).__name__}: {detail}"[:MAX_MESSAGE_CHARS])


def invalid_response(response: httpx.Response, problem: str) -> SyncApiTransient:
    """A 2xx answer we cannot read (proxy page, truncated JSON, unknown shape)."""
    return SyncApiTransient(
        response.status_code, "invalid_response", f"unreadable Sync.so answer: {problem}"[:MAX_MESSAGE_CHARS]
    )


def _code_and_message(response: httpx.Response) -> tuple[str, str, dict[str, Any]]:
    derived_code = f"http_{response.status_code}"
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        text = response.text.strip() if response.content else ""
        return derived_code, (text or response.reason_phrase or derived_code)[:MAX_MESSAGE_CHARS], {}
    if not isinstance(body, dict):
        return derived_code, json.dumps(body)[:MAX_MESSAGE_CHARS], {}
    code = body.get("errorCode") or body.get("error_code") or derived_code
    message = body.get("message")
    if isinstance(message, list):
        message = "; ".join(str(part) for part in message)
    if not message:
        message = body.get("error") or response.reason_phrase or derived_code
    details = {key: value for key, value in body.items()
               if key not in ("message", "error", "errorCode", "error_code", "statusCode")}
    return str(code), str(message)[:MAX_MESSAGE_CHARS], details


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the other form RFC 9110 allows: an HTTP date
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
