"""The submit step: one Sync.so generation per attempt, whatever Sync.so answers.

Input: the jobstore's `$.job.submit` (`{jobId, model, videoKey, audioKeys: {refId: key},
videoVersionId?, audioVersionIds?, segments, options, outputFileName}`) plus `attempt` (int >= 1;
missing means 1) and optionally `webhookUrl` (else `WEBHOOK_URL`).

One body per attempt. The first invocation for (jobId, attempt) builds the request, presigning each
input GET once (at the version start checked, when recorded) for `SUBMIT_INPUT_URL_EXPIRY_SECONDS`,
and stores its exact bytes at `requests/{jobId}/attempt-{attempt}.json` in the media bucket with
`IfNoneMatch="*"`: of two racing invocations one stores, the other reads that body. Every retry of the
attempt sends those bytes unchanged under `Idempotency-Key: {jobId}-{attempt}`, so Sync.so's replay
rule (same key and same inputs) always applies and never a second body goes under a key.

The attempt ends with exactly one generation id: from the 2xx answer; from a 409 conflict body's
`generationId` (or a 503 outcome-unknown's); or from the list lookup (`GET /v2/generations` with the
documented statuses and a `limit`) of the generation whose video URL is the stored request's (unique:
it carries this attempt's signature). A retry looks up first and creates only when nothing matches.

Answers:
    {"outcome": "created", "generationId", "status", "attempt", "requestKey",
     "estimatedCost": {"usd", "frames"} | null}
    {"outcome": "concurrency_limited", "attempt", "retryAfterSeconds"}   (429 concurrency_limit_reached:
        no generation exists, the next try is attempt + 1)
Raises `SyncApiTransient` (request-rate 429, 5xx, timeouts: the state machine retries the same attempt)
and `SyncApiRejected` (400/401/402/422...: the job fails with Sync.so's code and message).

Attempt 1 asks `POST /v2/analyze/cost` with the same bytes first; a failed estimate is logged and
gives `estimatedCost: null`, never a failed job.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from prosync.settings import SubmitSettings
from prosync.speaker import job_speaker, sync_segment
from prosync.storage.presign import presign_input
from prosync.syncso import (
    LISTABLE_STATUSES, CostEstimate, GenerateRequest, Generation, GenerationOptions, Segment, SyncApiError,
    SyncApiRejected, SyncApiTransient, SyncClient, video_url_of,
)

log = logging.getLogger(__name__)

REQUEST_PREFIX = "requests"
EXPIRES_META = "urls-expire-at"  # unix seconds when the stored body's input URLs stop working
EXPIRY_MARGIN_SECONDS = 300  # a stored body this close to its URLs' expiry is not sent any more
CONCURRENCY_LIMITED = "concurrency_limit_reached"
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._~-]{1,128}")  # Sync.so's documented key format
CREATE_RESERVE_SECONDS = 3.0  # left to the Lambda after a create timed out, to answer in time


@dataclass(frozen=True)
class StoredRequest:
    key: str
    body: bytes
    expires_at: float | None
    fresh: bool  # stored by this invocation (False: an earlier try of the attempt stored it)


def request_key(job_id: str, attempt: int) -> str:
    return f"{REQUEST_PREFIX}/{job_id}/attempt-{attempt}.json"


def idempotency_key(job_id: str, attempt: int) -> str:
    key = f"{job_id}-{attempt}"
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ValueError(f"job id {job_id!r} makes no valid Idempotency-Key")
    return key


def build_request(event: dict[str, Any], settings: SubmitSettings, s3) -> GenerateRequest:
    def url(key: str, version_id: str | None) -> str:
        return presign_input(s3, bucket=settings.media_bucket, key=key, version_id=version_id,
                             expires_in=settings.submit_input_url_expiry_seconds)

    versions = event.get("audioVersionIds") or {}
    return GenerateRequest.for_segments(
        model=event["model"],
        video_url=url(event["videoKey"], event.get("videoVersionId")),
        audio_urls={ref_id: url(key, versions.get(ref_id)) for ref_id, key in event["audioKeys"].items()},
        segments=[Segment.model_validate(sync_segment(segment, event.get("videoGeometry")))
                  for segment in event["segments"]],
        options=sync_options(event.get("options"), event.get("videoGeometry")),
        webhook_url=event.get("webhookUrl") or settings.webhook_url,
        output_file_name=event.get("outputFileName") or None,
    )


def sync_options(options: dict[str, Any] | None,
                 geometry: dict[str, Any] | None = None) -> GenerationOptions | None:
    """The job's options as Sync.so takes them. Our API's `active_speaker_detection` is a boolean
    (auto-detection on or off) and `speaker` a point in seconds and fractions; Sync.so's
    `active_speaker_detection` is an object: `{"auto_detect": bool}`, or the point as a frame number
    and pixel coordinates of the probed video (`prosync.speaker`)."""
    if not options:
        return None
    wire = {k: v for k, v in options.items() if k not in ("speaker", "active_speaker_detection")}
    speaker = job_speaker(options, geometry)
    if speaker is not None:
        wire["active_speaker_detection"] = speaker
    return GenerationOptions.model_validate(wire)


def store_request(
    event: dict[str, Any], settings: SubmitSettings, s3, key: str, now: datetime
) -> StoredRequest:
    """The attempt's one body: stored now (first invocation) or as an earlier invocation stored it."""
    body = build_request(event, settings, s3).to_bytes()
    expires_at = int(now.timestamp()) + settings.submit_input_url_expiry_seconds
    try:
        s3.put_object(Bucket=settings.media_bucket, Key=key, Body=body, ContentType="application/json",
                      IfNoneMatch="*", Metadata={EXPIRES_META: str(expires_at)})
        return StoredRequest(key, body, expires_at, fresh=True)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if error.get("Code") == "ConditionalRequestConflict" or status == 409:  # a racing put in flight
            raise SyncApiTransient(None, "request_store_conflict", f"{key} is being stored: {exc}") from exc
        if error.get("Code") != "PreconditionFailed" and status != 412:
            raise
    stored = s3.get_object(Bucket=settings.media_bucket, Key=key)
    expires = (stored.get("Metadata") or {}).get(EXPIRES_META)
    return StoredRequest(key, stored["Body"].read(), float(expires) if expires else None, fresh=False)


def submit(event: dict[str, Any], settings: SubmitSettings, client: SyncClient, s3,
           now: datetime | None = None, deadline: float | None = None) -> dict[str, Any]:
    """`deadline` (time.monotonic() seconds) is when the Lambda must have answered; create's timeout
    is cut to fit it, so a slow Sync.so ends as a retried SyncApiTransient, not a killed invocation."""
    attempt = _attempt(event)
    job_id = str(event["jobId"])
    key = idempotency_key(job_id, attempt)
    moment = now or datetime.now(UTC)
    stored = store_request(event, settings, s3, request_key(job_id, attempt), moment)
    estimate = _estimate(client, stored.body, settings) if attempt == 1 else None

    def created(generation_id: str, status: str) -> dict[str, Any]:
        log.info("job %s attempt %d: generation %s (%s)", job_id, attempt, generation_id, status)
        return {"outcome": "created", "generationId": generation_id, "status": status, "attempt": attempt,
                "requestKey": stored.key, "estimatedCost": estimate.model_dump() if estimate else None}

    if not stored.fresh:  # a retry: the earlier try may have made the generation and lost the answer
        found = find_generation(client, stored.body, settings)
        if found is not None:
            return created(found.id, found.status.normalized.value)
        if stored.expires_at is not None and moment.timestamp() > stored.expires_at - EXPIRY_MARGIN_SECONDS:
            raise SyncApiRejected(None, "request_expired", (
                f"the input URLs of {stored.key} expire at {int(stored.expires_at)}; this attempt can no "
                "longer be sent (a new attempt presigns afresh)"))
    try:
        generation = client.create_generation(stored.body, key, timeout=_create_timeout(settings, deadline))
    except SyncApiError as exc:
        if exc.status == 429 and exc.code == CONCURRENCY_LIMITED:
            wait = _retry_after(exc, settings)
            log.info("job %s attempt %d: concurrency limit reached, retry in %d s", job_id, attempt, wait)
            return {"outcome": "concurrency_limited", "attempt": attempt, "retryAfterSeconds": wait}
        named = exc.generation_id if exc.status == 409 or (exc.status or 0) >= 500 else None
        if named:
            return created(named, _status_of(client, named))
        if exc.status != 409:
            raise
        found = find_generation(client, stored.body, settings)
        if found is None:  # the list may lag behind: the same attempt is retried, looking up again
            raise SyncApiTransient(409, "idempotency_conflict_unresolved", (
                f"Sync.so answered 409 for Idempotency-Key {key} without a generationId, and no "
                f"generation uses {stored.key}'s video URL: {exc.code}: {exc.message}")) from exc
        return created(found.id, found.status.normalized.value)
    return created(generation.id, generation.status.normalized.value)


def find_generation(client: SyncClient, body: bytes, settings: SubmitSettings) -> Generation | None:
    """The generation made from `body`: its video URL is this attempt's presigned URL, exactly."""
    video = video_url_of(body)
    if not video:
        return None
    listed = client.list_generations(status=list(LISTABLE_STATUSES), limit=settings.submit_lookup_limit)
    for generation in listed:
        if any(item.type == "video" and item.url == video for item in generation.input):
            return generation
    return None


def _attempt(event: dict[str, Any]) -> int:
    value = event.get("attempt", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"attempt must be an integer >= 1, not {value!r}")
    return value


def _estimate(client: SyncClient, body: bytes, settings: SubmitSettings) -> CostEstimate | None:
    if not settings.submit_estimate_cost:
        return None
    try:
        return client.estimate_cost(body)
    except SyncApiError as exc:  # never blocks the job
        log.warning("Sync.so cost estimate failed (%s); submitting without one", exc)
        return None


def _status_of(client: SyncClient, generation_id: str) -> str:
    """The status of a generation Sync.so named in an error; PENDING when the status call fails
    (the generation exists either way: poll will find out)."""
    try:
        return client.get_generation(generation_id).status.normalized.value
    except SyncApiTransient as exc:
        log.warning("status of %s unknown after a conflict (%s); assuming PENDING", generation_id, exc)
        return "PENDING"


def _retry_after(exc: SyncApiError, settings: SubmitSettings) -> int:
    seconds = exc.retry_after
    if seconds is None:
        seconds = settings.submit_concurrency_retry_default_seconds
    return int(min(max(1, math.ceil(seconds)), settings.submit_concurrency_retry_max_seconds))


def _create_timeout(settings: SubmitSettings, deadline: float | None) -> float:
    timeout = settings.sync_create_timeout_seconds
    if deadline is not None:
        timeout = min(timeout, max(1.0, deadline - time.monotonic() - CREATE_RESERVE_SECONDS))
    return timeout
