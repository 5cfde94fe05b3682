"""The read-only use cases: a job's status, the caller's jobs, the caller's tier and limits."""

from uuid import UUID

from prosync.api.common import Caller, decode_cursor, encode_cursor, job_status, owned_job
from prosync.db.queue import SlotQueue
from prosync.db.repository import JobRepository
from prosync.errors import ValidationFailed
from prosync.jobs.status import JobStatus
from prosync.models import (
    AUDIO_TYPES, MODELS, VIDEO_TYPES, JobList, LimitsResponse, SegmentJobStatus, SyncConcurrencyView,
    TierLimitsView)
from prosync.settings import ApiSettings

MAX_PAGE = 100


def get_status(caller: Caller, job_id: UUID, *, repo: JobRepository,
               settings: ApiSettings) -> SegmentJobStatus:
    """The job's status with its history, and a presigned result URL once completed."""
    job = owned_job(repo, caller, job_id)
    position = SlotQueue(repo.conn).position(job, settings.sync_queue_stale_seconds)
    return job_status(job, settings, repo.events(job.id), queue_position=position)


def list_jobs(caller: Caller, *, repo: JobRepository, settings: ApiSettings, limit: int = 20,
              status: JobStatus | None = None, cursor: str | None = None) -> JobList:
    """The caller's jobs, newest first, `limit` per page; `nextCursor` continues after the last one."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed.at(["query", "limit"], f"limit must be between 1 and {MAX_PAGE}")
    after = decode_cursor(cursor) if cursor else None
    rows = repo.list_jobs(caller.user_id, status=status, limit=limit + 1, after=after)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1]) if len(rows) > limit else None
    return JobList(jobs=[job_status(job, settings) for job in page], next_cursor=next_cursor)


def get_limits(caller: Caller, *, repo: JobRepository, settings: ApiSettings) -> LimitsResponse:
    """The caller's tier and what it allows (the free tier may not create jobs)."""
    user = repo.ensure_user(caller.user_id, caller.email)
    limits = settings.tiers.for_tier(user.tier)
    view = None
    if limits is not None:
        view = TierLimitsView(max_segments=limits.max_segments, max_video_bytes=limits.max_video_bytes,
                              max_audio_bytes=limits.max_audio_bytes, max_active_jobs=limits.max_active_jobs,
                              max_awaiting_upload=limits.max_awaiting_upload,
                              max_speech_seconds_per_segment=settings.max_speech_seconds_per_segment,
                              max_text_regions=limits.max_text_regions)
    awaiting, _ = repo.awaiting_upload(caller.user_id, settings.sweep_expire_after_seconds)
    return LimitsResponse(
        tier=user.tier, can_create_jobs=limits is not None, limits=view,
        active_jobs=repo.count_active(caller.user_id), awaiting_upload_jobs=awaiting,
        video_content_types=list(VIDEO_TYPES),
        audio_content_types=list(AUDIO_TYPES), models=list(MODELS),
        upload_url_expiry_seconds=settings.upload_url_expiry_seconds,
        sync_concurrency=sync_concurrency(repo, settings),
    )


def sync_concurrency(repo: JobRepository, settings: ApiSettings) -> SyncConcurrencyView:
    """The organisation's Sync.so slots: the plan's limit, how many are in use, how many jobs wait."""
    queue = SlotQueue(repo.conn)
    return SyncConcurrencyView(limit=settings.sync_max_concurrent_generations, in_use=queue.in_flight(),
                               queued=queue.queued())
