"""POST /sync/pro-sync-process: validate everything, then write the job row, then hand out one
presigned POST per file. Nothing is written for a refused request (S3 is never written here)."""

import re
from typing import Any
from uuid import UUID, uuid4

from prosync.api.common import Caller
from prosync.db.records import JobRecord, NewJob
from prosync.db.repository import JobRepository
from prosync.errors import ValidationFailed
from prosync.jobs.status import JobStatus
from prosync.models import ProSyncProcessRequest, ProSyncProcessResponse, UploadTargets
from prosync.settings import ApiSettings
from prosync.storage.presign import audio_slot, presign_upload, upload_key, video_slot
from prosync.validation import check_active_jobs, check_awaiting_upload, validate_create

IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces


def create_job(caller: Caller, request: ProSyncProcessRequest, *, repo: JobRepository,
               settings: ApiSettings, idempotency_key: str | None = None) -> ProSyncProcessResponse:
    """Create a job awaiting its uploads. With an `Idempotency-Key` already used by this caller, the
    same job is returned (with fresh presigned POSTs); used with a different request, 422. A caller
    with `max_awaiting_upload` jobs not yet started gets 429 (counted under the user's row lock, so
    concurrent creates cannot both pass); a replay is answered whatever the count."""
    if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise ValidationFailed.at(["header", "Idempotency-Key"], "Idempotency-Key must be 1-255 printable "
                                  "ASCII characters without spaces")
    user = repo.ensure_user(caller.user_id, caller.email)
    limits = validate_create(request, settings.tiers.for_tier(user.tier),
                             settings.max_speech_seconds_per_segment)
    new = new_job(uuid4(), caller, request, idempotency_key)
    if idempotency_key is not None:
        existing = repo.find_by_idempotency_key(caller.user_id, idempotency_key)
        if existing is not None:
            return _replay(existing, new, settings)
    check_active_jobs(repo.count_active(caller.user_id), limits)
    uploads = presign_all(new.inputs, settings)  # before the insert: a signing failure writes nothing
    with repo.user_locked(caller.user_id):  # concurrent creates of this user count and insert one at a time
        if idempotency_key is not None:  # the same key's request that held the lock may have made it
            existing = repo.find_by_idempotency_key(caller.user_id, idempotency_key)
            if existing is not None:
                return _replay(existing, new, settings)
        expire_after = settings.sweep_expire_after_seconds
        awaiting, seconds_to_expiry = repo.awaiting_upload(caller.user_id, expire_after)
        check_awaiting_upload(awaiting, limits, seconds_to_expiry=seconds_to_expiry,
                              expire_after_seconds=expire_after)
        job, created = repo.create_job(new)
    if not created:  # a concurrent request with the same key won the insert
        return _replay(job, new, settings)
    return ProSyncProcessResponse(job_id=job.id, status=job.status, uploads=uploads)


def new_job(job_id: UUID, caller: Caller, request: ProSyncProcessRequest,
            idempotency_key: str | None) -> NewJob:
    """The job row of a validated request (ARCHITECTURE.md, "What a job row holds")."""
    def file(slot: str, declared) -> dict[str, Any]:
        return {"key": upload_key(caller.user_id, job_id, slot, declared.file_name),
                "fileName": declared.file_name, "contentType": declared.content_type,
                "size": declared.size, "declaredSize": declared.size}

    segments = sorted(request.segments, key=lambda s: (s.start_time, s.end_time))
    return NewJob(
        id=job_id, user_id=caller.user_id, is_pro_job=True,
        segments_data=[s.model_dump(by_alias=True, exclude_none=True) for s in segments],
        inputs={"video": file(video_slot(), request.video),
                "audios": {a.ref_id: file(audio_slot(a.ref_id), a) for a in request.audios},
                **({"textRemoval": request.text_removal.model_dump(by_alias=True, exclude_none=True)}
                   if request.text_removal else {})},
        options=request.options.model_dump(exclude_none=True),
        model=request.model,
        output_file_name=request.output_file_name or default_output_name(request.video.file_name),
        idempotency_key=idempotency_key,
    )


def default_output_name(video_file_name: str) -> str:
    """`outputFileName` when none was given: the video's name without extension, made safe."""
    stem = video_file_name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:240]
    return f"{safe or 'video'}_synced"


def presign_all(inputs: dict[str, Any], settings: ApiSettings) -> UploadTargets:
    def post(entry: dict[str, Any]):
        return presign_upload(bucket=settings.media_bucket, key=entry["key"],
                              content_type=entry["contentType"], max_bytes=entry["declaredSize"],
                              expires_in=settings.upload_url_expiry_seconds)

    return UploadTargets(video=post(inputs["video"]),
                         audios={ref: post(entry) for ref, entry in inputs["audios"].items()})


def _fingerprint(model: str, segments: list, inputs: dict, options: dict, output: str | None) -> dict:
    def files(entry: dict) -> tuple:
        return entry["fileName"], entry["contentType"], entry.get("declaredSize", entry.get("size"))

    return {"model": model, "segments": segments, "options": options, "output": output,
            "video": files(inputs["video"]), "audios": {r: files(e) for r, e in inputs["audios"].items()},
            "textRemoval": inputs.get("textRemoval")}


def _replay(job: JobRecord, new: NewJob, settings: ApiSettings) -> ProSyncProcessResponse:
    """The job an Idempotency-Key already made, when the request is the same one. Fresh presigned
    POSTs only while it awaits its uploads: once started, its checked inputs must not be replaced."""
    stored = _fingerprint(job.model, job.segments_data, job.inputs, job.options, job.output_file_name)
    if stored != _fingerprint(new.model, new.segments_data, new.inputs, new.options, new.output_file_name):
        raise ValidationFailed.at(["header", "Idempotency-Key"], "this Idempotency-Key was used for a "
                                  "different request", code="idempotency_key_reused")
    uploads = presign_all(job.inputs, settings) if job.status is JobStatus.AWAITING_UPLOAD else None
    return ProSyncProcessResponse(job_id=job.id, status=job.status, uploads=uploads)
