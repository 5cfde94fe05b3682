"""What a user sees of a failed job's `error_code`/`error_message`: our code and a safe message.

The job row keeps what was recorded (operators read it there and in the logs); the status answer
shows it only when it was written for the user. Who writes a job's error (grep `error_code`):

- the sweeper: `job_expired`, `workflow_not_started`, `workflow_missing` (messages written for the
  user), and `workflow_<execution status>` whose message quotes the execution's error and cause;
- the workflow's failure path (`jobstore.describe_failure`): the code of our `WorkflowError`s
  (`database_unavailable`: "OperationalError: connection to server at …"), of the Sync.so client
  (Sync.so's own `errorCode`, `http_<status>`, or our transport codes `timeout`, `connection_failed`…),
  of the poll step (Sync.so's generation `error_code`, `generation_<status>`, `deadline_exceeded`), or,
  for anything else, the exception's name (`States.Timeout`, `Lambda.Unknown`, `KeyError`).

So: Sync.so's codes (and `http_4xx`: Sync.so refused the request) keep their message, as do our
user-facing codes; our internal codes keep the code with a generic message; an exception's name
becomes `internal_error`.
"""

import re

from prosync.models import JobError
from prosync.workflow.errors import WorkflowError

INTERNAL_MESSAGE = ("the job stopped on an internal error (our operators have the details); "
                    "nothing else will run for it: create the job again")
SYNC_UNREACHABLE_MESSAGE = ("Sync.so could not be reached or gave no usable answer, even after retries; "
                            "create the job again later")

# ours, written for the user: shown as they are
USER_FACING = frozenset({"job_expired", "workflow_not_started", "workflow_missing", "deadline_exceeded"})
# ours, with internals in the message: the code stays, the message is replaced
SYNC_TRANSPORT = frozenset({"timeout", "connection_failed", "connection_error", "invalid_response"})
_WORKFLOW_ENDED = re.compile(r"workflow_[a-z_]+")  # the sweeper's workflow_<execution status>
_SYNC_SERVER_ERROR = re.compile(r"http_5\d\d")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,199}")  # how our and Sync.so's codes look; exception names do not


def _workflow_codes() -> frozenset[str]:
    found, pending = set(), [WorkflowError]
    while pending:
        cls = pending.pop()
        found.add(cls.code)
        pending.extend(cls.__subclasses__())
    return frozenset(found)


def public_error(code: str | None, message: str | None) -> JobError:
    """The `error` of a status answer for what the job row recorded."""
    code, message = code or "", message or ""
    if code in USER_FACING:
        return JobError(code=code, message=message)
    if not _CODE.fullmatch(code):  # an exception's name (States.Timeout, KeyError) or nothing
        return JobError(code="internal_error", message=INTERNAL_MESSAGE)
    if code in SYNC_TRANSPORT or _SYNC_SERVER_ERROR.fullmatch(code):
        return JobError(code=code, message=SYNC_UNREACHABLE_MESSAGE)
    if code in _workflow_codes() or _WORKFLOW_ENDED.fullmatch(code):
        return JobError(code=code, message=INTERNAL_MESSAGE)
    return JobError(code=code, message=message or code)  # Sync.so's code and message


def public_code(code: object) -> object:
    """An error code in a job event's detail, as `public_error` would show it."""
    return public_error(code, "").code if isinstance(code, str) else code
