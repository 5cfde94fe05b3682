"""The jobstore actions: every database write the workflow makes, one action per step.

Each action is a guarded write. When the guard refuses, the job was canceled (`JobCanceled`: the
execution ends and writes nothing more), does not exist (`JobNotFound`) or belongs to another
execution's progress (`JobStateConflict`). Re-running a step (a Step Functions retry after a lost
answer) succeeds without a second event.

Event shapes (`event["action"]` picks the action; every event has `jobId`):
    claim_slot        {executionArn}          -> see `prosync.workflow.queue` (Sync.so's org limit)
    requeue           {attempt, retryAfterSeconds}            -> {waitSeconds}
    record_generation {attempt, generationId, estimatedCost, poll} -> the poll state (`polling.initial_state`)
    await_generation  {taskToken, poll}       -> see `prosync.workflow.callback` (webhook or timeout)
    new_attempt       {attempt, poll}         -> {retry, submit, poll}
    mark_downloading  {generationId}          -> {status}
    mark_completed    {result: {resultKey, size, duration}} -> {jobId, status, resultKey, size, duration}
    mark_failed       {error: {Error, Cause}} -> {Error, Cause}  (Cause is JSON {code, message})
    mark_removing_text, text_chunk_done     -> see `prosync.workflow.textremoval` (issue 16)
`mark_submitting` is `claim_slot` under its old name (executions started before the queue).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg

from prosync.db.callbacks import CallbackStore
from prosync.db.connection import run_with_reconnect
from prosync.db.repository import JobRepository
from prosync.jobs.status import JobStatus
from prosync.settings import JobStoreSettings
from prosync.workflow import callback, polling, queue, textremoval
from prosync.workflow.errors import DatabaseUnavailable, JobNotFound
from prosync.workflow.steps import complete_state, submit_request  # noqa: F401 (submit_request: re-exported)
from prosync.workflow.steps import refused as _refused
from prosync.revisions.steps import record_revision_clip

MAX_MESSAGE_CHARS = 2000
log = logging.getLogger("prosync.jobstore")


def handle(event: dict[str, Any], settings: JobStoreSettings, now: datetime | None = None) -> dict[str, Any]:
    action = ACTIONS.get(event.get("action", ""))
    if action is None:
        raise ValueError(f"unknown jobstore action {event.get('action')!r}; one of {sorted(ACTIONS)}")
    try:
        job_id = UUID(str(event.get("jobId")))
    except ValueError:
        raise JobNotFound(f"{event.get('jobId')!r} is not a job id") from None
    moment = now or datetime.now(UTC)
    try:
        return run_with_reconnect(
            settings, lambda conn: action(JobRepository(conn), job_id, event, settings, moment))
    except psycopg.OperationalError as exc:
        # the detail (host, port, server message) goes to the logs only: this message may reach the user
        log.warning("database unavailable for %s: %s: %s", event.get("action"), type(exc).__name__, exc)
        raise DatabaseUnavailable("the job database could not be reached") from exc


def record_generation(repo, job_id, event, settings, now) -> dict[str, Any]:
    generation_id = str(event["generationId"])
    cost = event.get("estimatedCost")
    detail = {"step": "generation", "generationId": generation_id}
    if event.get("attempt") is not None:
        detail["attempt"] = event["attempt"]
    job = repo.transition(job_id, JobStatus.PROCESSING, detail=detail, sync_generation_id=generation_id,
                          **({"estimated_cost": cost} if cost else {}))
    if job is None or job.sync_generation_id != generation_id:
        raise _refused(repo, job_id, JobStatus.PROCESSING)
    return complete_state(polling.initial_state(generation_id, event["poll"]))


def mark_downloading(repo, job_id, event, settings, now) -> dict[str, Any]:
    job = repo.transition(job_id, JobStatus.DOWNLOADING, task_token=None, poll_state=None,
                          detail={"step": "download", "generationId": event.get("generationId")})
    if job is None:
        raise _refused(repo, job_id, JobStatus.DOWNLOADING)
    if event.get("generationId"):
        CallbackStore(repo.conn).inbox_delete(str(event["generationId"]))
    return {"status": job.status.value}


def mark_completed(repo, job_id, event, settings, now) -> dict[str, Any]:
    result = event["result"]
    job = repo.transition(
        job_id, JobStatus.COMPLETED, detail={"step": "completed", **result},
        result_key=result["resultKey"], result_size=result.get("size"),
        output_duration=result.get("duration"))
    if job is None:
        job = repo.get_job(job_id)
        if job is None or job.status is not JobStatus.COMPLETED or job.result_key != result["resultKey"]:
            raise _refused(repo, job_id, JobStatus.COMPLETED)
    return {"jobId": str(job.id), "status": job.status.value, "resultKey": job.result_key,
            "size": job.result_size, "duration": job.output_duration}


def mark_failed(repo, job_id, event, settings, now) -> dict[str, Any]:
    name, code, message = describe_failure(event.get("error"))
    job = repo.transition(job_id, JobStatus.FAILED, detail={"step": "failed", "error": name, "code": code},
                          error_code=code, error_message=message, task_token=None, poll_state=None)
    if job is None:
        job = repo.get_job(job_id)
        if job is None or job.status is not JobStatus.FAILED:
            raise _refused(repo, job_id, JobStatus.FAILED)
        code, message = job.error_code or code, job.error_message or message  # a retry: keep the first
    return {"Error": name, "Cause": json.dumps({"code": code, "message": message})}


def describe_failure(error: dict[str, Any] | None) -> tuple[str, str, str]:
    """(error name, code, message) from a Catch's `{"Error", "Cause"}`.

    The Cause of a Lambda error is the runtime's envelope `{"errorType", "errorMessage", ...}`; our
    errors' message is JSON `{"code", "message"}` (Sync.so's code kept). Anything else (a bug, a
    States.Timeout) gets the error name as its code.
    """
    error = error or {}
    name = str(error.get("Error") or "UnknownError")
    cause = error.get("Cause")
    message = cause if isinstance(cause, str) else (json.dumps(cause) if cause else "")
    parsed = _json(message)
    if isinstance(parsed, dict) and ("errorType" in parsed or "errorMessage" in parsed):
        name = str(parsed.get("errorType") or name)
        message = str(parsed.get("errorMessage") or "")
        parsed = _json(message)
    if isinstance(parsed, dict) and parsed.get("code"):
        return name, str(parsed["code"]), str(parsed.get("message") or parsed["code"])[:MAX_MESSAGE_CHARS]
    text = f"{name}: {message}" if message else name
    return name, name, text[:MAX_MESSAGE_CHARS]


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


ACTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "claim_slot": queue.claim_slot,
    "mark_submitting": queue.claim_slot,
    "requeue": queue.requeue,
    "record_generation": record_generation,
    "await_generation": callback.await_generation,
    "new_attempt": queue.new_attempt,
    "mark_downloading": mark_downloading,
    "mark_completed": mark_completed,
    "mark_failed": mark_failed,
    "mark_removing_text": textremoval.mark_removing_text,
    "text_chunk_done": textremoval.text_chunk_done,
    "record_revision_clip": record_revision_clip,  # issue 17
}
