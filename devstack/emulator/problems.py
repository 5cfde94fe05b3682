"""Error answers in Sync.so's (NestJS) shape and the catalog served at ``GET /v2/errors``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

# code -> (HTTP status when raised synchronously, description). Async codes (generation.error_code)
# carry the status 200 of the GET that reports them: they are listed with None.
ERROR_CATALOG: dict[str, tuple[int | None, str]] = {
    "unauthorized": (401, "The x-api-key header is missing or does not match an active API key."),
    "generation_not_found": (404, "No generation with this id exists in your organization."),
    "generation_input_validation_failed": (400, "The request body does not match the expected shape."),
    "generation_unsupported_model": (400, "The model is not one of the supported models."),
    "generation_video_missing": (
        400,
        "No video input was given, or the video could not be fetched or decoded.",
    ),
    "generation_audio_missing": (
        400,
        "No audio input was given, or an audio could not be fetched or decoded.",
    ),
    "generation_segments_required": (400, "Several audio/text inputs require a top-level segments array."),
    "generation_duplicate_ref_id": (400, "Two inputs share the same refId."),
    "generation_segment_ref_not_found": (400, "A segment's audioInput.refId names no input."),
    "generation_segment_audio_crop_incomplete": (400, "audioInput.startTime and endTime go together."),
    "generation_segment_invalid_range": (400, "A segment or crop starts after it ends, or is negative."),
    "generation_not_deletable_while_processing": (
        409,
        "Only a COMPLETED, FAILED or REJECTED generation can be deleted.",
    ),
    "INVALID_IDEMPOTENCY_KEY": (400, "The Idempotency-Key header must be 1-128 chars of [A-Za-z0-9._~-]."),
    # the conflict's real code is not published (see store.py); generationId names the key's generation
    "IDEMPOTENCY_KEY_CONFLICT": (409, "The Idempotency-Key was already used with different inputs."),
    "IDEMPOTENCY_OUTCOME_UNKNOWN": (
        503,
        "The outcome of an earlier request with this key is unknown; poll generationId.",
    ),
    "rate_limit_exceeded": (429, "Too many requests for this API key; back off and retry."),
    "concurrency_limit_reached": (
        429,
        "Too many generations PENDING or PROCESSING for your organization's plan.",
    ),
    "cost_estimate_unavailable": (
        422,
        "The cost could not be estimated (an input could not be fetched or probed).",
    ),
    "generation_media_metadata_missing": (None, "Media lacks a duration, or the video lacks a frame rate."),
    "generation_audio_length_exceeded": (None, "The audio spoken in a segment is longer than 300 seconds."),
    "generation_timeout": (None, "The generation did not finish in time."),
    "generation_pipeline_failed": (None, "The generation pipeline failed."),
    "generation_database_error": (None, "A database error stopped the generation."),
    "generation_internal_auth": (None, "An internal authorization step failed."),
    "generation_unhandled_error": (None, "An unexpected error stopped the generation."),
}


class ApiProblem(Exception):
    """An error answer: HTTP status, message and (optional) errorCode."""

    def __init__(
        self,
        status: int,
        message: str,
        error_code: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.headers = headers or {}
        self.extra = extra  # more keys of the body (e.g. generationId)

    def body(self) -> dict[str, Any]:
        return nest_error_body(self.status, self.message, self.error_code, **self.extra)


def nest_error_body(status: int, message: str, error_code: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"statusCode": status, "message": message, "error": HTTPStatus(status).phrase}
    if error_code:
        body["errorCode"] = error_code
    body.update(extra)
    return body


def invalid(message: str, error_code: str = "generation_input_validation_failed") -> ApiProblem:
    return ApiProblem(400, message, error_code)


def catalog() -> list[dict[str, Any]]:
    return [
        {"errorCode": code, "statusCode": status, "description": description}
        for code, (status, description) in ERROR_CATALOG.items()
    ]
