"""POST /sync/pro-sync-process: validate everything, then write the job row, then hand out one
presigned POST per file. Nothing is written for a refused request (S3 is never written here)."""

import re
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID, uuid4

from prosync.api.common import Caller
from prosync.db.records import JobRecord, NewJob
from prosync.db.repository import JobRepository
from prosync.errors import ValidationFailed
from prosync.jobs.status import JobStatus
from prosync.models import ProSyncProcessRequest, ProSyncProcessResponse, UploadTargets
from prosync.settings import ApiSettings, TierLimits
from prosync.storage.presign import audio_slot, presign_upload, upload_key, video_slot
from prosync.validation import check_active_jobs, check_awaiting_upload, validate_create

IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces
T = TypeVar("T")


def create_job(caller: Caller, request: ProSyncProcessRequest, *, repo: JobRepository,
               settings: ApiSettings, idempotency_key: str | None = None) -> ProSyncProcessResponse:
    """Create a job awaiting its uploads. With an `Idempotency-Key` already used by this caller, the
    same job is returned (with fresh presigned POSTs); used with a different request, 422. A caller
    with `max_awaiting_upload` jobs not yet started gets 429 (counted under the user's row lock, so
    concurrent creates cannot both pass); a replay is answered whatever the count."""
    check_idempotency_key(idempotency_key)
    user = repo.ensure_user(caller.user_id, caller.email)
    limits = validate_create(request, settings.tiers.for_tier(user.tier),
                             settings.max_speech_seconds_per_segment)
    new = new_job(uuid4(), caller, request, idempotency_key)
    return insert_once(
        repo, new, limits, settings,
        presign=lambda inputs: presign_all(inputs, settings),
        same_request=lambda job: _fingerprint(job) == _fingerprint(new),
        answer=lambda job, uploads: ProSyncProcessResponse(job_id=job.id, status=job.status, uploads=uploads))


def check_idempotency_key(idempotency_key: str | None) -> None:
    if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise ValidationFailed.at(["header", "Idempotency-Key"], "Idempotency-Key must be 1-255 printable "
                                  "ASCII characters without spaces")


def insert_once(repo: JobRepository, new: NewJob, limits: TierLimits, settings: ApiSettings, *,
                presign: Callable[[dict[str, Any]], Any], same_request: Callable[[JobRecord], bool],
                answer: Callable[[JobRecord, Any], T]) -> T:
    """Write `new` once per `Idempotency-Key` (create and revise): the job the key already made is
    answered again when `same_request` (fresh presigned POSTs only while it awaits its uploads: once
    started, its checked inputs must not be replaced), else 422. The active-job limit is checked first;
    the cap on jobs awaiting upload is counted, and the row inserted, under the user's row lock, so
    concurrent creates cannot both pass; presigning comes before the insert, so a signing failure
    writes nothing. `answer(job, uploads)` shapes the route's answer."""
    def replay(job: JobRecord) -> T:
        if not same_request(job):
            raise ValidationFailed.at(["header", "Idempotency-Key"], "this Idempotency-Key was used for a "
                                      "different request", code="idempotency_key_reused")
        return answer(job, presign(job.inputs) if job.status is JobStatus.AWAITING_UPLOAD else None)

    user_id, key = new.user_id, new.idempotency_key
    if key is not None and (existing := repo.find_by_idempotency_key(user_id, key)) is not None:
        return replay(existing)
    check_active_jobs(repo.count_active(user_id), limits)
    uploads = presign(new.inputs)
    with repo.user_locked(user_id):  # concurrent creates of this user count and insert one at a time
        # the same key's request that held the lock may have made it
        if key is not None and (existing := repo.find_by_idempotency_key(user_id, key)) is not None:
            return replay(existing)
        expire_after = settings.sweep_expire_after_seconds
        awaiting, seconds_to_expiry = repo.awaiting_upload(user_id, expire_after)
        check_awaiting_upload(awaiting, limits, seconds_to_expiry=seconds_to_expiry,
                              expire_after_seconds=expire_after)
        job, created = repo.create_job(new)
    return answer(job, uploads) if created else replay(job)  # not created: a concurrent same-key insert won


def new_job(job_id: UUID, caller: Caller, request: ProSyncProcessRequest,
            idempotency_key: str | None) -> NewJob:
    """The job row of a validated request (ARCHITECTURE.md, "What a job row holds")."""
    def file(slot: str, declared) -> dict[str, Any]:
        return upload_entry(caller.user_id, job_id, slot, declared)

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


def upload_entry(user_id: str, job_id: UUID, slot: str, declared) -> dict[str, Any]:
    """A file of the job's `inputs` as declared by the request (create and revise): its upload key."""
    return {"key": upload_key(user_id, job_id, slot, declared.file_name), "fileName": declared.file_name,
            "contentType": declared.content_type, "size": declared.size, "declaredSize": declared.size}


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


def _fingerprint(job: JobRecord | NewJob) -> dict:
    def files(entry: dict) -> tuple:
        return entry["fileName"], entry["contentType"], entry.get("declaredSize", entry.get("size"))

    inputs = job.inputs
    return {"model": job.model, "segments": job.segments_data, "options": job.options,
            "output": job.output_file_name, "video": files(inputs["video"]),
            "audios": {r: files(e) for r, e in inputs["audios"].items()}, "textRemoval": inputs.get("textRemoval")}
