"""What the jobstore actions share: why a guarded write was refused, what submit needs, the poll seed.

(`prosync.workflow.jobstore` dispatches; `queue` and `callback` hold the Sync.so-slot and webhook
actions; this module keeps them free of import cycles.)
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from prosync.db.records import JobRecord
from prosync.db.repository import JobRepository
from prosync.jobs.status import JobStatus
from prosync.settings import WorkflowTimingSettings
from prosync.speaker import geometry_of
from prosync.workflow import polling
from prosync.workflow.errors import JobCanceled, JobNotFound, JobStateConflict, WorkflowError

# Every key of the poll state the state machine carries (`$.poll`): a state missing one (an older
# poll Lambda during a deploy) gets its default, so the ASL's ResultSelectors always resolve.
POLL_DEFAULTS: dict[str, Any] = {
    "status": "PENDING", "rawStatus": None, "interval": 0, "elapsed": 0, "waitSeconds": 0, "polls": 0,
    "deadline": None, "deadlinePassed": False, "outputUrl": None, "outputDuration": None, "error": None,
    "progressPercent": None, "retryable": False, "statusErrors": 0,
}


def refused(repo: JobRepository, job_id: UUID, to: JobStatus | str) -> WorkflowError:
    """The error for a write the job's status refused: canceled, missing, or another step's."""
    job = repo.get_job(job_id)
    if job is None:
        return JobNotFound(f"job {job_id} does not exist")
    if job.status is JobStatus.CANCELED:
        return JobCanceled(f"job {job_id} was canceled; nothing more is written")
    target = f"become {to.value}" if isinstance(to, JobStatus) else to
    return JobStateConflict(f"job {job_id} is {job.status.value}; it may not {target}")


def submit_request(job: JobRecord) -> dict[str, Any]:
    """What the submit Lambda needs to build Sync.so's request for the job's current attempt: ids, S3
    keys and the version ids start checked (only those recorded), never media."""
    video, audios = job.inputs["video"], job.inputs["audios"]
    request = {
        "jobId": str(job.id),
        "attempt": max(1, job.attempt),
        "model": job.model,
        "videoKey": video["key"],
        "audioKeys": {ref_id: audio["key"] for ref_id, audio in audios.items()},
        "segments": job.segments_data,
        "options": job.options,
        "outputFileName": job.output_file_name,
        "textRemoval": job.inputs.get("textRemoval"),  # read by the state machine after download
    }
    if video.get("versionId"):
        request["videoVersionId"] = video["versionId"]
    if geometry_of(video):  # frame rate and size start probed: where a speaker point lands (issue 17)
        request["videoGeometry"] = geometry_of(video)
    versions = {ref_id: audio["versionId"] for ref_id, audio in audios.items() if audio.get("versionId")}
    if versions:
        request["audioVersionIds"] = versions
    # issue 17: the revision (null for a job that is none; read by the state machine's Choices), and
    # once its clip is cut, the clip as the video with the segments in clip time
    from prosync.revisions.steps import submit_fields

    request.update(submit_fields(job))
    if request["revision"] and request["revision"]["clip"]:
        request.pop("videoVersionId", None)
    return request


def deadline_of(job: JobRecord, settings: WorkflowTimingSettings, now: datetime) -> datetime:
    """The job's deadline: `WORKFLOW_DEADLINE_SECONDS` after start queued it (time in Sync.so's queue
    counts), so it always comes before the execution's own timeout (deadline + 1 h)."""
    started = job.started_at or now
    return started + timedelta(seconds=settings.workflow_deadline_seconds)


def poll_seed(job: JobRecord, settings: WorkflowTimingSettings, now: datetime,
              deadline: str | None = None) -> dict[str, Any]:
    """The first wait for a new generation (from the model and media length) and the deadline."""
    first = first_wait(job, settings)
    return {"interval": first, "waitSeconds": polling.scaled(first, settings),
            "deadline": deadline or deadline_of(job, settings, now).isoformat()}


def first_wait(job: JobRecord, settings: WorkflowTimingSettings) -> int:
    """Unscaled seconds before the first status call. Polling alone: 0.9 x the expected generation
    time (`polling.first_wait_seconds`). With Sync.so's webhook, which ends the wait whenever the
    generation ends, the first poll is only the fallback for a lost webhook: after the expected time
    with a margin (`callback_first_wait_fraction`, 1.2), so a generation on time costs no status call."""
    media = polling.media_seconds(job.inputs, job.segments_data)
    if not getattr(settings, "sync_webhooks", False):
        return polling.first_wait_seconds(job.model, media, settings)
    wanted = settings.callback_first_wait_fraction * polling.expected_generation_seconds(job.model, media, settings)
    return int(min(max(wanted, settings.poll_first_wait_min_seconds), settings.callback_first_wait_max_seconds))


def complete_state(state: dict[str, Any]) -> dict[str, Any]:
    """The poll state with every key the state machine reads, and `callbackSeconds`: the callback
    wait's timeout, the state's wait but at least 1 s (a Task timeout must be positive)."""
    full = {**POLL_DEFAULTS, **state}
    if full["rawStatus"] is None:
        full["rawStatus"] = full["status"]
    full["callbackSeconds"] = max(1, int(full["waitSeconds"] or 0))
    return full


def scaled_seconds(seconds: float, settings: WorkflowTimingSettings) -> int:
    """A wait the state machine really does (`PROSYNC_WAIT_SCALE`), a whole number of seconds."""
    return max(0, math.ceil(float(seconds) * settings.wait_scale))


def now_utc() -> datetime:
    return datetime.now(UTC)
