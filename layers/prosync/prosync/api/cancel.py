"""POST /sync/pro-job/{job_id}/cancel: mark the job canceled (the database is the truth: every later
workflow write is refused), then stop its execution and delete its uploads (every version; a failure
is logged only: the lifecycle rule on uploads/ is the backstop). 409 when the job already ended."""

import logging
from uuid import UUID

from botocore.exceptions import BotoCoreError, ClientError

from prosync.api.common import Caller, job_status, owned_job
from prosync.aws import client
from prosync.db.repository import JobRepository
from prosync.errors import IllegalState
from prosync.jobs.status import JobStatus
from prosync.models import SegmentJobStatus
from prosync.settings import ApiSettings
from prosync.storage.cleanup import delete_uploads

log = logging.getLogger(__name__)


def cancel_job(caller: Caller, job_id: UUID, *, repo: JobRepository,
               settings: ApiSettings) -> SegmentJobStatus:
    job = owned_job(repo, caller, job_id)
    if job.status.terminal:
        raise _ended(job.status)
    moved = repo.transition(job.id, JobStatus.CANCELED, detail={"by": "user"})
    if moved is None:  # it ended between the read and the update
        raise _ended(owned_job(repo, caller, job.id).status)
    if moved.execution_arn:
        stop_execution(moved.execution_arn)
    delete_uploads(client("s3"), settings.media_bucket, moved)
    return job_status(moved, settings)


def _ended(status: JobStatus) -> IllegalState:
    return IllegalState(f"the job is already {status.value}; only a running or waiting job can be canceled")


def stop_execution(execution_arn: str) -> None:
    """Stop the job's execution. Not there (never started) or already stopped is fine; any other
    failure is logged only: the job is canceled anyway and the workflow's next write is refused."""
    try:
        client("stepfunctions").stop_execution(executionArn=execution_arn, cause="canceled by the user")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
            log.warning("stop_execution %s failed: %s", execution_arn, exc)
    except BotoCoreError as exc:
        log.warning("stop_execution %s failed: %s", execution_arn, exc)
