"""The sweeper: each run ends the jobs that nothing else will ever move again.

(a) `awaiting_upload` unchanged for `sweep_expire_after_seconds` (24 h) -> `expired`; its uploads
    (the keys of `inputs`, all under `uploads/`) are deleted with every version
    (`prosync.storage.cleanup`, which a user's cancel uses too). The bucket's lifecycle would remove
    them later.
(b) `queued` unchanged for `sweep_stalled_after_seconds` (15 min) whose execution does not exist (a
    start stopped between its update and StartExecution and was never retried) -> `failed`
    `workflow_not_started`.
(c) `queued`, `submitting`, `processing` or `downloading` unchanged that long whose execution has
    ended -> `failed` `workflow_<status>` with the execution's error and cause: the Catch could not
    record the failure (database down), the state machine's own timeout skipped the Catch, or the
    execution was stopped in the console. SUCCEEDED counts too: such a job would never move again.
A running execution (RUNNING, or PENDING_REDRIVE) is left alone: its own steps and deadline end it.

Every move is the guarded `JobRepository.transition` with its job_events row (`by: sweeper`): a job
that a user or the workflow moved meanwhile is skipped. Each kind takes at most `sweep_batch_size`
jobs per run, oldest first; the next run takes the rest. A failed DescribeExecution skips that job (the
next run checks it again); a failed delete leaves those uploads to the bucket's lifecycle rule. Either
is counted, the run still does the rest, then raises `SweepIncomplete` so the Errors alarm fires.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from prosync.db.records import JobRecord
from prosync.db.repository import JobRepository
from prosync.jobs.status import JobStatus
from prosync.settings import SweeperSettings
from prosync.storage.cleanup import delete_uploads
from prosync.workflow.jobstore import describe_failure  # the Catch path's reading of error and cause

log = logging.getLogger(__name__)

ALIVE = frozenset({"RUNNING", "PENDING_REDRIVE"})
RUNNING = (JobStatus.SUBMITTING, JobStatus.PROCESSING, JobStatus.DOWNLOADING, JobStatus.REMOVING_TEXT)
MAX_MESSAGE_CHARS = 2000


class SweepIncomplete(RuntimeError):
    """Some jobs could not be checked, or some uploads not deleted (AWS failures)."""


@dataclass
class SweepCounts:
    expired: int = 0  # (a)
    not_started: int = 0  # (b) failed: no execution (workflow_not_started, workflow_missing)
    ended: int = 0  # (c) failed: execution ended
    running: int = 0  # checked, execution still running: left alone
    skipped: int = 0  # moved by someone else between the query and the update
    errors: int = 0  # AWS calls that failed (see the module's docstring)


def run(repo: JobRepository, settings: SweeperSettings, sfn, s3) -> dict[str, int]:
    """One sweep; its counts. Raises `SweepIncomplete` (with the counts) after a partial run."""
    counts = SweepCounts()
    expire_abandoned(repo, settings, s3, counts)
    fail_stalled(repo, settings, sfn, counts)
    result = asdict(counts)
    if counts.errors:
        raise SweepIncomplete(json.dumps(result))
    return result


def expire_abandoned(repo: JobRepository, settings: SweeperSettings, s3, counts: SweepCounts) -> None:
    """(a) Expire jobs whose uploads never came (or that were never started), then delete the uploads."""
    hours = settings.sweep_expire_after_seconds / 3600
    jobs = repo.unchanged_for([JobStatus.AWAITING_UPLOAD], settings.sweep_expire_after_seconds,
                              settings.sweep_batch_size)
    for job in jobs:
        moved = repo.transition(
            job.id, JobStatus.EXPIRED, detail={"by": "sweeper", "step": "expire"}, error_code="job_expired",
            error_message=f"the job was not started within {hours:g} h of its last change; create it again")
        if moved is None:  # started, canceled or expired meanwhile: its uploads may be in use
            counts.skipped += 1
            continue
        counts.expired += 1
        if not delete_uploads(s3, settings.media_bucket, job):
            counts.errors += 1


def fail_stalled(repo: JobRepository, settings: SweeperSettings, sfn, counts: SweepCounts) -> None:
    """(b) and (c): fail unfinished jobs whose execution is missing or over."""
    stalled, batch = settings.sweep_stalled_after_seconds, settings.sweep_batch_size
    for statuses in ([JobStatus.QUEUED], RUNNING):
        for job in repo.unchanged_for(statuses, stalled, batch):
            check_execution(repo, sfn, job, counts)


def check_execution(repo: JobRepository, sfn, job: JobRecord, counts: SweepCounts) -> None:
    try:
        execution = describe(sfn, job.execution_arn)
    except (ClientError, BotoCoreError) as exc:
        log.warning("describing the execution of job %s failed: %s", job.id, exc)
        counts.errors += 1
        return
    if execution is not None and execution["status"] in ALIVE:
        counts.running += 1
        return
    if execution is None:
        started = job.status is not JobStatus.QUEUED  # a running job whose execution is gone
        code = "workflow_missing" if started else "workflow_not_started"
        message = ("the job's workflow execution no longer exists" if started else
                   "the job's workflow never started (its start was interrupted); create the job again")
    else:
        code = f"workflow_{execution['status'].lower()}"
        message = ended_message(execution)
    detail = {"by": "sweeper", "step": "failed", "code": code}
    moved = repo.transition(job.id, JobStatus.FAILED, detail=detail, error_code=code,
                            error_message=message[:MAX_MESSAGE_CHARS])
    if moved is None:
        counts.skipped += 1
    elif execution is None:
        counts.not_started += 1
    else:
        counts.ended += 1


def describe(sfn, execution_arn: str | None) -> dict[str, Any] | None:
    """DescribeExecution of the job's execution; None when there is none (or no ARN was stored)."""
    if not execution_arn:
        return None
    try:
        return sfn.describe_execution(executionArn=execution_arn)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            return None
        raise


def ended_message(execution: dict[str, Any]) -> str:
    """What the job's error message says about an execution that ended without recording it."""
    text = f"the job's workflow ended {execution['status']} without recording it on the job"
    error, cause = execution.get("error"), execution.get("cause")
    if not (error or cause):
        return text
    name, code, message = describe_failure({"Error": error, "Cause": cause})
    return f"{text} ({message if code == name else f'{code}: {message}'})"
