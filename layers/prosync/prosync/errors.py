"""Typed domain errors. Each carries its HTTP status and a stable error code; the api handler maps
every `ProSyncError` to the one error body in a single exception handler.

`details` are field errors: `{"loc": ["body", "segments", 1, "startTime"], "msg": "..."}` with the
wire (camelCase) names, like the request validation errors of the HTTP layer.
"""

from collections.abc import Iterable, Sequence
from typing import Any

Loc = Sequence[str | int]


def detail(loc: Loc, msg: str) -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg}


class ProSyncError(Exception):
    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, details: Iterable[dict[str, Any]] = (), code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = list(details)
        if code is not None:
            self.code = code

    @classmethod
    def at(cls, loc: Loc, msg: str, **kwargs: Any) -> "ProSyncError":
        """One error about one field: the message is also the field's detail."""
        return cls(msg, details=[detail(loc, msg)], **kwargs)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.code!r}, {self.message!r}, {self.details!r})"


class BadRequest(ProSyncError):
    status, code = 400, "bad_request"


class Unauthorized(ProSyncError):
    status, code = 401, "unauthorized"


class TierForbidden(ProSyncError):
    status, code = 403, "tier_forbidden"


class JobNotFound(ProSyncError):
    status, code = 404, "job_not_found"


class IllegalState(ProSyncError):
    status, code = 409, "illegal_state"


class PayloadTooLarge(ProSyncError):
    status, code = 413, "payload_too_large"


class ValidationFailed(ProSyncError):
    status, code = 422, "validation_failed"


class UploadMissing(ValidationFailed):
    """At start: a declared file was never uploaded."""

    code = "upload_missing"


class UploadInvalid(ValidationFailed):
    """At start: an uploaded file is not what was declared (type, unreadable media, durations)."""

    code = "upload_invalid"


class UploadChanged(ValidationFailed):
    """At start: an upload was replaced, cut short or deleted while it was being checked."""

    code = "upload_changed"


class TooManyActiveJobs(ProSyncError):
    """Start: the user already runs as many jobs as the plan allows. When one ends cannot be known, so
    the answer's Retry-After is a polite interval to ask again, not a promise."""

    status, code = 429, "too_many_active_jobs"
    retry_after = 30


class TooManyAwaitingUpload(ProSyncError):
    """Create: the user already has as many jobs awaiting their uploads as the plan allows.
    `retry_after`: seconds until the oldest of them expires by itself (the answer's Retry-After)."""

    status, code = 429, "too_many_awaiting_upload"

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailable(ProSyncError):
    """A dependency (S3, Step Functions) refused or timed out: retrying the same call is safe."""

    status, code = 503, "service_unavailable"


def merge(errors: Sequence[ProSyncError]) -> ProSyncError:
    """One error out of several of the same kind (all their details kept, first message first)."""
    first = errors[0]
    if len(errors) == 1:
        return first
    details = [d for e in errors for d in e.details]
    message = f"{first.message} (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return type(first)(message, details=details, code=first.code)
