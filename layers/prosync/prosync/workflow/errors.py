"""Errors the workflow Lambdas raise to Step Functions.

Step Functions sees `type(exc).__name__` as the error name, so the class names are a contract with
`statemachine/pro_sync.asl.json`. `str(exc)` is JSON `{"code", "message"}`, the same shape as the
Sync.so client's errors, so the failure path (which only sees the name and the cause string) keeps a
machine code and a readable message.
"""

import json


class WorkflowError(Exception):
    code = "workflow_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        self.code = code or self.code
        self.message = message
        super().__init__(json.dumps({"code": self.code, "message": message}))


class JobNotFound(WorkflowError):
    """The execution names a job that does not exist: nothing to write to."""

    code = "job_not_found"


class JobCanceled(WorkflowError):
    """The job was canceled: the execution ends without writing anything more."""

    code = "job_canceled"


class JobStateConflict(WorkflowError):
    """The job is in a status this step may not move it from (another execution owns it)."""

    code = "job_state_conflict"


class DatabaseUnavailable(WorkflowError):
    """The database could not be reached: retried by the state machine."""

    code = "database_unavailable"


class DownloadFailed(WorkflowError):
    """The output could not be streamed to S3 (network, truncated body, 5xx): retried."""

    code = "download_failed"


class OutputUrlExpired(WorkflowError):
    """The output URL answered 403/410 even after asking Sync.so for a fresh one: retried."""

    code = "output_url_expired"


class OutputUrlRejected(WorkflowError):
    """Sync.so's output URL (or a redirect from it) points where we never download from: not
    https on a public address, nor Sync.so's own origin. No request is made; the job fails."""

    code = "output_url_rejected"
