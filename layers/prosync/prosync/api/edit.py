"""POST /sync/pro-job/{job_id}/edit: change the segments and options of a job that still awaits its
uploads, so that a refused start (a segment past the video's end, a crop past its audio...) is fixed
without a new job and without uploading the files again.

The files cannot change here (their presigned POSTs name them): the new segments and options are
validated exactly as create validates a request (`prosync.validation.validate_create`, on the job's
declared files and the new segments), so every rule and message is the same. 404 for an unknown job
or another user's; 409 once the job has left `awaiting_upload` (started, canceled, expired).
"""

from uuid import UUID

from pydantic import Field

from prosync.api.common import Caller, job_status, owned_job
from prosync.db.repository import JobRepository
from prosync.errors import IllegalState
from prosync.jobs.status import JobStatus
from prosync.models import (
    MODELS, OUTPUT_FILE_NAME_PATTERN, AudioInputRequest, ProSyncProcessRequest, RequestModel,
    SegmentJobStatus, SegmentRequest, SyncOptions, VideoInputRequest)
from prosync.settings import ApiSettings
from prosync.validation import validate_create


class ProJobEditRequest(RequestModel):
    """The new segments (they replace the job's), and optionally new options, model and output name
    (each replaces the job's when given). The job's files stay as declared at create."""

    segments: list[SegmentRequest]
    options: SyncOptions | None = None
    model: str | None = Field(default=None, json_schema_extra={"enum": list(MODELS)})
    output_file_name: str | None = Field(default=None,
                                         json_schema_extra={"pattern": OUTPUT_FILE_NAME_PATTERN})


def edit_job(caller: Caller, job_id: UUID, request: ProJobEditRequest, *, repo: JobRepository,
             settings: ApiSettings) -> SegmentJobStatus:
    job = owned_job(repo, caller, job_id)
    if job.status is not JobStatus.AWAITING_UPLOAD:
        raise _not_editable(job.status)
    user = repo.ensure_user(caller.user_id, caller.email)
    whole = as_create_request(job, request)
    validate_create(whole, settings.tiers.for_tier(user.tier), settings.max_speech_seconds_per_segment)
    segments = sorted(whole.segments, key=lambda s: (s.start_time, s.end_time))  # as create stores them
    edited = repo.edit_awaiting_upload(
        job.id, caller.user_id,
        segments_data=[s.model_dump(by_alias=True, exclude_none=True) for s in segments],
        options=whole.options.model_dump(exclude_none=True), model=whole.model,
        output_file_name=whole.output_file_name or job.output_file_name)
    if edited is None:  # started, canceled or expired between the read and the update
        raise _not_editable(owned_job(repo, caller, job.id).status)
    return job_status(edited, settings)


def as_create_request(job, request: ProJobEditRequest) -> ProSyncProcessRequest:
    """The create request this job would have been made by with the edit applied."""
    def declared(entry: dict) -> dict:
        return {"file_name": entry["fileName"], "content_type": entry["contentType"],
                "size": entry.get("declaredSize", entry["size"])}

    return ProSyncProcessRequest(
        model=request.model if request.model is not None else job.model,
        video=VideoInputRequest(**declared(job.inputs["video"])),
        audios=[AudioInputRequest(ref_id=ref, **declared(entry))
                for ref, entry in job.inputs["audios"].items()],
        segments=request.segments,
        options=request.options if request.options is not None else SyncOptions(**job.options),
        output_file_name=request.output_file_name,
    )


def _not_editable(status: JobStatus) -> IllegalState:
    return IllegalState(f"the job is {status.value}; only a job still waiting for its uploads can be edited")
