"""jobstore actions for Sync.so's slots and attempts (the queue itself: `prosync.db.queue`).

    claim_slot  {executionArn}                       -> {acquired: true, waitSeconds: 0, position: null,
                                                         submit: {..., attempt}, poll: {interval, waitSeconds, deadline}}
                                                     or {acquired: false, waitSeconds, position, submit: null, poll: null}
    requeue     {attempt, retryAfterSeconds}         -> {waitSeconds}   (submitting -> queued, place kept)
    new_attempt {attempt, poll}                      -> {retry: true, submit: {..., attempt + 1}, poll: seed}
                                                     or {retry: false, submit: null, poll: null}

Every answer has the same keys whatever the outcome, so the state machine's ResultSelectors resolve.
A job still waiting for a slot at its deadline fails with `deadline_exceeded`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from prosync.db.queue import SlotQueue
from prosync.db.repository import JobRepository
from prosync.jobs.status import JobStatus
from prosync.settings import JobStoreSettings
from prosync.workflow.errors import JobStateConflict, WorkflowError
from prosync.workflow.steps import deadline_of, poll_seed, refused, scaled_seconds, submit_request


class QueueDeadlineExceeded(WorkflowError):
    """The job waited for a Sync.so slot until its deadline."""

    code = "deadline_exceeded"


def claim_slot(repo: JobRepository, job_id: UUID, event: dict[str, Any], settings: JobStoreSettings,
               now: datetime) -> dict[str, Any]:
    claim = SlotQueue(repo.conn).claim(
        job_id, limit=settings.sync_max_concurrent_generations,
        stale_seconds=settings.sync_queue_stale_seconds, execution_arn=event.get("executionArn"))
    job = claim.job
    if job is None or (claim.refused and job.status is JobStatus.CANCELED):
        raise refused(repo, job_id, "take a Sync.so slot")
    if claim.refused:
        raise JobStateConflict(f"job {job_id} is {job.status.value} (execution {job.execution_arn}); "
                               "this execution may not take a Sync.so slot for it")
    if claim.acquired:
        return {"acquired": True, "waitSeconds": 0, "position": None, "submit": submit_request(job),
                "poll": poll_seed(job, settings, now)}
    if now >= deadline_of(job, settings, now):
        raise QueueDeadlineExceeded(
            f"the job waited for one of the organisation's {settings.sync_max_concurrent_generations} "
            f"Sync.so slots until its deadline ({deadline_of(job, settings, now).isoformat()}); "
            f"it was number {claim.position} in line")
    return {"acquired": False, "waitSeconds": scaled_seconds(settings.sync_queue_wait_seconds, settings),
            "position": claim.position, "submit": None, "poll": None}


def requeue(repo: JobRepository, job_id: UUID, event: dict[str, Any], settings: JobStoreSettings,
            now: datetime) -> dict[str, Any]:
    attempt = int(event["attempt"])
    retry_after = max(0.0, float(event.get("retryAfterSeconds") or settings.sync_queue_wait_seconds))
    job = SlotQueue(repo.conn).requeue(job_id, attempt=attempt, retry_after=retry_after)
    if job is None:
        current = repo.get_job(job_id)
        if current is None or current.status is not JobStatus.QUEUED or current.attempt != attempt:
            raise refused(repo, job_id, "go back to the queue")
    return {"waitSeconds": scaled_seconds(retry_after, settings)}


def new_attempt(repo: JobRepository, job_id: UUID, event: dict[str, Any], settings: JobStoreSettings,
                now: datetime) -> dict[str, Any]:
    attempt = int(event["attempt"])
    state = event.get("poll") or {}
    error = state.get("error") or {}
    job = SlotQueue(repo.conn).new_attempt(
        job_id, attempt=attempt, max_retries=settings.sync_generation_retries,
        generation_id=state.get("generationId"), code=error.get("code"))
    if job is None:
        job = repo.get_job(job_id)
        if job is not None and job.status is JobStatus.PROCESSING and job.attempt == attempt:
            return {"retry": False, "submit": None, "poll": None}  # no retries left: the job fails
        if job is None or job.status is not JobStatus.SUBMITTING or job.attempt != attempt + 1:
            raise refused(repo, job_id, "start a new Sync.so attempt")
    if state.get("generationId"):
        from prosync.db.callbacks import CallbackStore

        CallbackStore(repo.conn).inbox_delete(str(state["generationId"]))
    return {"retry": True, "submit": submit_request(job),
            "poll": poll_seed(job, settings, now, deadline=state.get("deadline"))}
