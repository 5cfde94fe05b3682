"""What the use cases share: the caller, owner-only job lookup, the status view, list cursors."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg

from prosync.api.public_errors import public_code, public_error
from prosync.db.records import JobEvent, JobRecord
from prosync.db.repository import JobRepository
from prosync.errors import JobNotFound, ValidationFailed
from prosync.jobs.status import STAGE, JobStatus
from prosync.models import EstimatedCost, JobHistoryEntry, SegmentJobStatus
from prosync.settings import ApiSettings
from prosync.storage.presign import presign_download

# A dropped or unreachable database: the handler answers 503 (the next request reconnects).
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (psycopg.OperationalError,)
# What of a job event's detail a user sees (an allow-list: the workflow also records its execution
# ARN, with the account id, the result's S3 key and the failure's exception name, which are ours);
# `code` is shown as the status answer's error shows it (prosync.api.public_errors).
PUBLIC_EVENT_DETAIL = frozenset({"created", "step", "by", "generationId", "code", "size", "duration",
                                 "attempt", "retryAfter"})


@dataclass(frozen=True)
class Caller:
    """The authenticated user: the JWT's `sub` (our user id) and `email`."""

    user_id: str
    email: str | None = None


def owned_job(repo: JobRepository, caller: Caller, job_id: UUID) -> JobRecord:
    """The caller's job; an unknown job and another user's job are the same 404 (no existence leak)."""
    job = repo.get_job(job_id, user_id=caller.user_id)
    if job is None:
        raise JobNotFound.at(["path", "job_id"], f"job {job_id} not found")
    return job


def job_status(job: JobRecord, settings: ApiSettings,
               events: list[JobEvent] | None = None, queue_position: int | None = None) -> SegmentJobStatus:
    """The seed's SegmentJobStatus of a job row, with a presigned GET of the result when completed."""
    sync = sync_fields(job, queue_position)
    text = text_removal_fields(job)
    result_url = None
    if job.status is JobStatus.COMPLETED and job.result_key:
        result_url = presign_download(
            bucket=settings.media_bucket, key=job.result_key, expires_in=settings.result_url_expiry_seconds,
            download_name=f"{job.output_file_name}.mp4" if job.output_file_name else None)
    error = None
    if job.error_code or job.error_message:  # our code and a safe message; the row keeps the details
        error = public_error(job.error_code, job.error_message)
    history = None
    if events is not None:
        history = [JobHistoryEntry(at=e.at, from_status=e.from_status, to_status=e.to_status,
                                   detail=public_detail(e.detail)) for e in events]
    return SegmentJobStatus(
        job_id=job.id, status=job.status, stage=job.stage,
        progress=text.pop("progress", sync.pop("progress", STAGE[job.status][1])), model=job.model,
        segments=job.segments_data, output_file_name=job.output_file_name,
        sync_generation_id=job.sync_generation_id, result_url=result_url, output_duration=job.output_duration,
        error=error, created_at=job.created_at, updated_at=job.updated_at, started_at=job.started_at,
        completed_at=job.completed_at, history=history, **sync, **text, **revision_fields(job),
    )


def revision_fields(job: JobRecord) -> dict:
    """A revision's parent and saving (prosync.revisions.api.revision_view)."""
    if not job.inputs.get("revision"):
        return {}
    from prosync.revisions.api import revision_view

    view = revision_view(job.inputs)
    return {"parent_job_id": view.parent_job_id, "revision": view}


def text_removal_fields(job: JobRecord) -> dict:
    """The text removal asked for, and while removing text, progress by chunks done (92 -> 99)."""
    config = job.inputs.get("textRemoval")
    if not config:
        return {}
    fields: dict = {"text_removal": config}
    chunks = job.inputs.get("textRemovalChunks")
    if isinstance(chunks, dict) and chunks.get("total"):
        done, total = len(chunks.get("done") or {}), int(chunks["total"])
        fields["text_removal_chunks"] = {"done": done, "total": total}
        if job.status is JobStatus.REMOVING_TEXT:
            low = STAGE[JobStatus.REMOVING_TEXT][1]
            fields["progress"] = low + round((99 - low) * min(done, total) / total)
    return fields


def sync_fields(job: JobRecord, queue_position: int | None) -> dict:
    """Sync.so's side of the status: place in line, attempts, its percent mapped onto `progress` while
    processing (40 -> 85: the lip-sync stage's share), the cost estimate."""
    fields: dict = {"queue_position": queue_position, "attempt": job.attempt,
                    "sync_progress_percent": job.progress_percent}
    if job.status is JobStatus.PROCESSING and job.progress_percent is not None:
        low, high = STAGE[JobStatus.PROCESSING][1], STAGE[JobStatus.DOWNLOADING][1] - 5
        fields["progress"] = low + round((high - low) * min(100, max(0, job.progress_percent)) / 100)
    cost = job.estimated_cost
    if isinstance(cost, dict) and cost.get("usd") is not None:
        from prosync.workflow.polling import media_seconds

        clip = (job.inputs.get("revision") or {}).get("clip")  # a revision renders only its clip (issue 17)
        seconds = clip["seconds"] if clip else media_seconds(job.inputs, job.segments_data)
        fields["estimated_cost"] = EstimatedCost(usd=cost["usd"], model=job.model, media_seconds=seconds)
    return fields


def public_detail(detail: dict) -> dict:
    return {k: public_code(v) if k == "code" else v for k, v in detail.items() if k in PUBLIC_EVENT_DETAIL}


def encode_cursor(job: JobRecord) -> str:
    raw = json.dumps([job.created_at.isoformat(), str(job.id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The (created_at, id) a cursor stands for; anything else is a 422 on `cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, job_id = json.loads(raw)
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("naive timestamp")
        return moment, UUID(job_id)
    except (binascii.Error, ValueError, TypeError, AttributeError) as exc:
        raise ValidationFailed.at(["query", "cursor"], "cursor is not one this API returned") from exc
