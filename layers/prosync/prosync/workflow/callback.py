"""Completion by Sync.so's signed webhook, with the adaptive poll as the fallback.

The state machine waits in a `.waitForTaskToken` Task that calls jobstore `await_generation` with the
task token and the poll state; its `TimeoutSecondsPath` is the poll state's wait (+1 s), and on
`States.Timeout` it polls once and waits again. The webhook route (api Lambda, `receive_webhook`)
verifies `Sync-Signature` over the raw body, finds the job by generation id and, when an execution
waits on that generation, resumes it with `SendTaskSuccess(token, poll.advance(state, generation))`
and forgets the token: a duplicate, late or out-of-order delivery then changes nothing.

Both sides run under `CallbackStore.locked(generation id)` (see `prosync.db.callbacks`): a webhook
that comes before the token is stored is filed in the inbox, and `await_generation` answers from it
at once (it sends the task success itself). Only final statuses wake an execution; a non-final one
only moves the job's progress forward.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime
from typing import Any
from uuid import UUID

from botocore.exceptions import ClientError

from prosync import aws
from prosync.db.callbacks import CallbackStore
from prosync.db.repository import JobRepository
from prosync.jobs.status import JobStatus
from prosync.settings import JobStoreSettings, SyncWebhookSettings, WorkflowTimingSettings
from prosync.workflow.steps import complete_state, refused

log = logging.getLogger(__name__)
# SendTaskSuccess answers for a token nobody waits on any more: the webhook was late, a duplicate, or
# lost its race with the poll fallback. Nothing to do.
STALE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
MAX_ERROR_CHARS = 2000  # of Sync.so's message kept in the inbox (the poll state bounds it again)
KEPT_FIELDS = ("id", "createdAt", "status", "model", "outputUrl", "outputMediaUrl", "outputDuration",
               "error", "error_code", "errorCode", "progress_percent", "progressPercent")


def advance(state: dict[str, Any], generation, settings: WorkflowTimingSettings, now: datetime) -> dict[str, Any]:
    """The poll state after seeing `generation` (`prosync.workflow.poll.advance`), every key present."""
    from prosync.workflow.poll import advance as advance_state

    return complete_state(advance_state(state, generation, settings, now))


def is_final(status: Any) -> bool:
    from prosync.syncso import FINAL_STATUSES

    return str(getattr(status, "value", status)) in FINAL_STATUSES


def send_task_success(token: str, state: dict[str, Any]) -> bool:
    """Resume the waiting execution; False when the token is stale (nobody waits on it)."""
    try:
        aws.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps(state))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in STALE_TOKEN_ERRORS:
            return False
        raise
    return True


# -- the jobstore side ---------------------------------------------------------------------------

def await_generation(repo: JobRepository, job_id: UUID, event: dict[str, Any], settings: JobStoreSettings,
                     now: datetime) -> dict[str, Any]:
    """Store the task token and the poll state on the job (or answer at once from the inbox)."""
    state = complete_state(event["poll"])
    token, generation_id = str(event["taskToken"]), str(state["generationId"])
    store = CallbackStore(repo.conn)
    with store.locked(generation_id):
        job = store.job(job_id)
        if job is None or job.status is not JobStatus.PROCESSING or job.sync_generation_id != generation_id:
            raise refused(repo, job_id, f"wait for generation {generation_id}")
        filed = store.inbox_get(generation_id)
        if filed is not None and is_final(filed.get("status")):
            from prosync.syncso import Generation

            resumed = advance(state, Generation.model_validate(filed), settings, now)
            if send_task_success(token, resumed):
                store.inbox_delete(generation_id)
                store.set_progress(job_id, resumed.get("progressPercent") or 0)
                return {"waiting": False, "answeredFrom": "inbox", "status": resumed["status"]}
        progress = state.get("progressPercent")
        store.store_wait(job_id, token, state, int(progress) if progress is not None else None)
    return {"waiting": True}


# -- the api side: POST /api/v1/webhooks/syncso --------------------------------------------------

_secret_lock = threading.Lock()
_secrets: dict[str, tuple[float, str]] = {}


def webhook_secret(settings: SyncWebhookSettings) -> str:
    """`SYNC_WEBHOOK_SECRET` locally; on AWS the secret `SYNC_WEBHOOK_SECRET_ARN`, read again after
    `sync_webhook_secret_cache_seconds` so a rotated secret takes over without a deploy."""
    if settings.sync_webhook_secret:
        return settings.sync_webhook_secret
    arn = settings.sync_webhook_secret_arn
    if not arn:
        return ""  # no secret: every delivery is refused (401)
    with _secret_lock:
        read_at, value = _secrets.get(arn, (0.0, ""))
        if not value or time.monotonic() - read_at > settings.sync_webhook_secret_cache_seconds:
            value = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"].strip()
            if value.startswith("{"):
                value = json.loads(value)["webhookSecret"]
            _secrets[arn] = (time.monotonic(), value)
        return value


def _kept(raw_body: bytes) -> dict[str, Any]:
    """What the inbox keeps of a verified delivery: the fields a poll state is made from, bounded."""
    parsed = json.loads(raw_body)
    kept = {key: parsed[key] for key in KEPT_FIELDS if key in parsed}
    if isinstance(kept.get("error"), str):
        kept["error"] = kept["error"][:MAX_ERROR_CHARS]
    return kept


def verified(raw_body: bytes, signature: str | None, settings: SyncWebhookSettings, now: datetime):
    """The Generation of a delivery whose `Sync-Signature` checks out (no database needed); raises the
    client's `WebhookSignatureInvalid` (answer 401) or `WebhookPayloadInvalid` (400)."""
    from prosync.syncso import verify

    return verify(webhook_secret(settings), signature, raw_body, now,
                  tolerance_seconds=settings.sync_webhook_tolerance_seconds)


def receive_webhook(generation, raw_body: bytes, *, repo: JobRepository, timing: WorkflowTimingSettings,
                    now: datetime) -> dict[str, Any]:
    """Act on one verified delivery. The answer says what was done: `woke` (the waiting execution
    resumed), `stale` (its token had expired: the poll fallback took over), `filed` / `progress` (no
    execution waits on it yet: kept in the inbox), `ignored` (the job moved on)."""
    final = is_final(generation.status)
    progress = getattr(generation, "progress", None)
    store = CallbackStore(repo.conn)
    with store.locked(generation.id):
        job = store.job_of_generation(generation.id)
        if job is not None and job.status is not JobStatus.PROCESSING:
            action = "ignored"  # it moved on (downloading, completed, failed, canceled)
        elif job is not None and job.task_token and final:
            resumed = advance(job.poll_state or {"generationId": generation.id}, generation, timing, now)
            action = "woke" if send_task_success(job.task_token, resumed) else "stale"
            store.clear_wait(job.id, job.task_token)
            progress = resumed.get("progressPercent") if action == "woke" else progress
        else:
            store.inbox_put(generation.id, str(generation.status.value), _kept(raw_body), final)
            action = "filed" if final else "progress"
        if job is not None and progress is not None and job.status is JobStatus.PROCESSING:
            store.set_progress(job.id, int(progress))
    log.info("syncso webhook", extra={"generationId": generation.id, "status": str(generation.status.value),
                                      "action": action, "jobId": str(job.id) if job else None})
    return {"received": True, "action": action}
