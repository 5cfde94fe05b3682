"""POST /sync/pro-job/{job_id}/start: check the uploads against what was declared (HeadObject), read
the real durations (ranged reads + PyAV), check the segments against them, then queue the job and
start its execution (name = job id). Starting again is a no-op that returns the current state.

The plan is checked again against the user's tier of now (a downgrade since create): free is 403, more
segments than the plan allows 422. S3 failing while the uploads are checked is 503
`storage_unavailable` (safe to retry). In the versioned media bucket the probe reads the version the
HeadObject saw, and that version id is recorded in the job's `inputs` (`versionId`): submit hands Sync.so
exactly that version, so a re-upload with a still-valid POST after start reaches nobody. Without a
version id (a bucket without versioning) the probe reads only the ETag the HeadObject saw, and an upload
that changed in between is 422 `upload_changed`, naming the file.
A refused start leaves the job awaiting its uploads, so the user can upload a right file and retry.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from botocore.exceptions import BotoCoreError, ClientError

from prosync.api.common import Caller, job_status, owned_job
from prosync.aws import client
from prosync.db.repository import JobRepository
from prosync.errors import ProSyncError, ServiceUnavailable, UploadChanged, UploadInvalid, merge
from prosync.jobs.status import JobStatus
from prosync.media.probe import MediaUnreadable, probe_object
from prosync.models import FileDeclaration, SegmentJobStatus, SegmentRequest
from prosync.settings import ApiSettings, TierLimits
from prosync.storage.presign import head_object
from prosync.storage.range_reader import ObjectChanged
from prosync.validation import (
    check_active_jobs, check_media_kind, check_segment_count, check_tier, check_uploaded_object,
    validate_media)

PROBE_THREADS = 8
# When several files have problems, the answer is about the most certain kind: 422, then 413, then 503.
ERROR_ORDER = {422: 0, 413: 1}


def start_job(caller: Caller, job_id: UUID, *, repo: JobRepository,
              settings: ApiSettings) -> SegmentJobStatus:
    job = owned_job(repo, caller, job_id)
    if job.status is JobStatus.QUEUED:  # finish a start that stopped before StartExecution (idempotent)
        start_execution(job.id, settings)
    if job.status is not JobStatus.AWAITING_UPLOAD:
        return job_status(job, settings)
    user = repo.ensure_user(caller.user_id, caller.email)
    limits = check_tier(settings.tiers.for_tier(user.tier))  # the tier of now: it may have changed
    segments = [SegmentRequest.model_validate(s) for s in job.segments_data]
    check_segment_count(segments, limits.max_segments, root=())
    check_active_jobs(repo.count_active(caller.user_id), limits)
    inputs = inspect_uploads(job.inputs, limits, settings)
    validate_media(segments, inputs["video"]["duration"],
                   {ref: a["duration"] for ref, a in inputs["audios"].items()},
                   settings.max_speech_seconds_per_segment, text_removal=inputs.get("textRemoval"),
                   options=job.options, video=inputs["video"])
    with repo.user_locked(caller.user_id):  # concurrent starts of this user's jobs queue one at a time
        check_active_jobs(repo.count_active(caller.user_id, excluding=job.id), limits)
        moved = repo.transition(job.id, JobStatus.QUEUED, detail={"step": "start"}, inputs=inputs,
                                execution_arn=execution_arn(settings.state_machine_arn, job.id))
    if moved is None:  # a concurrent start, a cancel or the expiry moved it first
        moved = owned_job(repo, caller, job.id)
        if moved.status is not JobStatus.QUEUED:
            return job_status(moved, settings)
    start_execution(moved.id, settings)
    return job_status(moved, settings)


def _files(inputs: dict[str, Any]) -> list[tuple[list, str, str, dict[str, Any]]]:
    """(loc, label, kind, entry) of every declared file."""
    video = inputs["video"]
    found = [(["video"], f"video {video['fileName']!r}", "video", video)]
    for ref, audio in inputs["audios"].items():
        found.append((["audios", ref], f"audio {ref!r} ({audio['fileName']!r})", "audio", audio))
    return found


def inspect_uploads(inputs: dict[str, Any], limits: TierLimits, settings: ApiSettings) -> dict[str, Any]:
    """The job's `inputs` with real sizes, formats and durations; every problem found is reported
    (422 before 413), naming the file."""
    files = _files(inputs)
    caps = {"video": limits.max_video_bytes, "audio": limits.max_audio_bytes}

    def check_head(loc, label, kind, entry) -> dict:
        try:
            head = head_object(bucket=settings.media_bucket, key=entry["key"])
        except (ClientError, BotoCoreError) as exc:
            raise _storage_unavailable(exc) from exc
        check_uploaded_object(loc, label, _declared(entry), head, caps[kind])
        return head

    heads = _run_all(check_head, files)

    def check_media(loc, label, kind, entry) -> Any:
        head = heads[entry["key"]]
        try:
            info = probe_object(settings.media_bucket, entry["key"], head["size"], etag=head.get("etag"),
                                version_id=head.get("version_id"))
        except ObjectChanged as exc:
            raise UploadChanged.at(loc, f"{label} changed while it was being checked (uploaded again?); "
                                   "start the job again once its upload is complete") from exc
        except (ClientError, BotoCoreError) as exc:
            raise _storage_unavailable(exc) from exc
        except MediaUnreadable as exc:
            raise UploadInvalid.at(loc, f"{label} is not a readable {kind} file") from exc
        check_media_kind(loc, label, kind, _declared(entry), info)
        return info

    infos = _run_all(check_media, files)
    result = json.loads(json.dumps(inputs))
    for entry in [result["video"], *result["audios"].values()]:
        info, head = infos[entry["key"]], heads[entry["key"]]
        entry.update(size=head["size"], duration=info.duration, format=info.format_name)
        if entry is result["video"]:  # what a speaker point needs (issue 17: frame number, pixels)
            entry.update({k: v for k, v in (("width", info.width), ("height", info.height),
                                            ("frameRate", getattr(info, "frame_rate", None))) if v})
        entry.pop("versionId", None)
        if head.get("version_id"):  # the version checked here is the one Sync.so gets (submit)
            entry["versionId"] = head["version_id"]
    return result


def _storage_unavailable(exc: Exception) -> ServiceUnavailable:
    """S3 refused (403: our permissions or keys), failed (5xx), throttled or was unreachable."""
    return ServiceUnavailable(f"the uploads could not be checked now ({_aws_code(exc)}); starting the job "
                              "again is safe", code="storage_unavailable")


def _aws_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return f"storage answered {exc.response.get('Error', {}).get('Code') or 'an error'}"
    return "storage unreachable"


def _declared(entry: dict[str, Any]) -> FileDeclaration:
    return FileDeclaration(file_name=entry["fileName"], content_type=entry["contentType"],
                           size=entry.get("declaredSize", entry["size"]))


def _run_all(check, files) -> dict[str, Any]:
    """Run `check` on every file (in threads: each is a few S3 round trips); raise one error with
    every problem of the most certain kind (ERROR_ORDER: 422s, then 413s, then 503s)."""
    with ThreadPoolExecutor(max_workers=min(PROBE_THREADS, len(files))) as pool:
        futures = {f[3]["key"]: pool.submit(check, *f) for f in files}
    results, errors = {}, []
    for key, future in futures.items():
        try:
            results[key] = future.result()
        except ProSyncError as exc:
            errors.append(exc)
    if errors:
        errors.sort(key=lambda e: ERROR_ORDER.get(e.status, len(ERROR_ORDER)))
        raise merge([e for e in errors if e.status == errors[0].status])
    return results


def execution_arn(state_machine_arn: str, name: UUID | str) -> str:
    """The ARN StartExecution gives an execution of that name (known before it starts)."""
    prefix, _, machine = state_machine_arn.rpartition(":stateMachine:")
    return f"{prefix}:execution:{machine}:{name}"


def start_execution(job_id: UUID, settings: ApiSettings) -> None:
    """Start the job's execution; one that already exists (a second start) is a no-op."""
    try:
        client("stepfunctions").start_execution(
            stateMachineArn=settings.state_machine_arn, name=str(job_id),
            input=json.dumps({"jobId": str(job_id)}))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            return
        raise ServiceUnavailable("the job could not be started now; starting it again is safe",
                                 code="workflow_unavailable") from exc
    except BotoCoreError as exc:
        raise ServiceUnavailable("the job could not be started now; starting it again is safe",
                                 code="workflow_unavailable") from exc
