"""POST /sync/pro-job/{job_id}/revise (issue 17): a new job that re-does only what changed in a
completed job (its parent). The body is the revised job's segments (all of them: unchanged ones as they
were), optionally its options, and the new audio files, uploaded by presigned POST as at create; a
refId of the parent's audios not given again reuses that audio as uploaded. Validated as create
validates (the parent's declared video, the audios the segments use); 409 unless the parent completed
(or when it had text removal: the cleaned result is not revised yet); 422 when nothing changed.

The new job holds `inputs.revision = {parentJobId, parentResultKey, ranges, newRefs, clipKey,
segments, fullSeconds}` and is started like any job; the state machine cuts the clip from the parent's
result, sends only it to Sync.so and splices the result back (prosync.revisions.steps). The parent's row
and files are only read.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from pydantic import Field

from prosync.api.common import Caller, owned_job
from prosync.api.create import check_idempotency_key, insert_once, upload_entry
from prosync.db.records import JobRecord, NewJob
from prosync.db.repository import JobRepository
from prosync.errors import IllegalState, ValidationFailed
from prosync.jobs.status import JobStatus
from prosync.models import (
    AudioInputRequest,
    ProSyncProcessRequest,
    RequestModel,
    RevisionView,
    SegmentRequest,
    SyncOptions,
    UploadTarget,
    VideoInputRequest,
    WireModel,
)
from prosync.revisions.plan import LEAD, MAX_MARGIN, changed_ranges
from prosync.settings import ApiSettings
from prosync.storage.presign import audio_slot, presign_upload, upload_key
from prosync.validation import validate_create


class ProJobReviseRequest(RequestModel):
    """The revised job: every segment (unchanged ones as they were), new audio files (a refId of the
    parent's replaces that audio), and optionally new options (else the parent's)."""

    segments: list[SegmentRequest]
    audios: list[AudioInputRequest] = Field(default_factory=list)
    options: SyncOptions | None = None


class ProJobReviseResponse(WireModel):
    job_id: UUID
    status: JobStatus
    parent_job_id: UUID
    uploads: dict[str, UploadTarget] | None = Field(description="one presigned POST per new audio, by "
                                                    "refId; null when an Idempotency-Key replay finds the "
                                                    "revision already started")
    revision: RevisionView


def _declared(entry: dict[str, Any]) -> dict[str, Any]:
    return {"file_name": entry["fileName"], "content_type": entry["contentType"],
            "size": entry.get("declaredSize", entry["size"])}


def revise_job(caller: Caller, job_id: UUID, request: ProJobReviseRequest, *, repo: JobRepository,
               settings: ApiSettings, idempotency_key: str | None = None) -> ProJobReviseResponse:
    """The revision job. With an `Idempotency-Key` already used by this caller, as at create: the same
    request gets the same revision (fresh presigned POSTs while it awaits its uploads), another request
    (or another parent, or a key used at create) 422 `idempotency_key_reused`."""
    check_idempotency_key(idempotency_key)
    parent = owned_job(repo, caller, job_id)
    if parent.status is not JobStatus.COMPLETED or not parent.result_key:
        raise IllegalState(f"the job is {parent.status.value}; only a completed job can be revised")
    if parent.inputs.get("textRemoval"):
        raise IllegalState("a job with text removal cannot be revised yet")
    for position, audio in enumerate(request.audios, start=1):
        if audio.ref_id is None:
            audio.ref_id = f"revised-{position}"
    new_refs = {a.ref_id for a in request.audios}
    used = {s.audio_input.ref_id for s in request.segments}
    reused = {ref: entry for ref, entry in parent.inputs["audios"].items() if ref in used and ref not in new_refs}
    whole = ProSyncProcessRequest(
        model=parent.model, video=VideoInputRequest(**_declared(parent.inputs["video"])),
        audios=[AudioInputRequest(ref_id=ref, **_declared(e)) for ref, e in reused.items()] + request.audios,
        segments=request.segments,
        options=request.options if request.options is not None else SyncOptions(**parent.options),
        output_file_name=parent.output_file_name)
    user = repo.ensure_user(caller.user_id, caller.email)
    limits = validate_create(whole, settings.tiers.for_tier(user.tier), settings.max_speech_seconds_per_segment)
    segments = [s.model_dump(by_alias=True, exclude_none=True)
                for s in sorted(whole.segments, key=lambda s: (s.start_time, s.end_time))]
    ranges = changed_ranges(parent.segments_data, segments, new_refs)
    if not ranges:
        raise ValidationFailed.at(["body", "segments"], "nothing changed: give a segment a new audio, crop, "
                                  "range or speaker, remove one, add one, or upload an audio again")
    new_id = uuid4()

    def file(ref: str, audio: AudioInputRequest) -> dict[str, Any]:
        return upload_entry(caller.user_id, new_id, audio_slot(ref), audio)

    duration = parent.inputs["video"].get("duration") or parent.output_duration
    revision = {"parentJobId": str(parent.id), "parentResultKey": parent.result_key,
                "ranges": [list(r) for r in ranges], "newRefs": sorted(new_refs), "segments": segments,
                "clipKey": upload_key(caller.user_id, new_id, "revision-clip", "clip.mp4"),
                "fullSeconds": duration}
    new = NewJob(id=new_id, user_id=caller.user_id, is_pro_job=True, segments_data=segments,
                 inputs={"video": parent.inputs["video"],
                         "audios": {**reused, **{a.ref_id: file(a.ref_id, a) for a in request.audios}},
                         "revision": revision},
                 options=whole.options.model_dump(exclude_none=True), model=parent.model,
                 output_file_name=parent.output_file_name, idempotency_key=idempotency_key)
    return insert_once(
        repo, new, limits, settings,
        presign=lambda inputs: _presign_new(inputs, settings),
        same_request=lambda job: (stored := _fingerprint(job)) is not None and stored == _fingerprint(new),
        answer=lambda job, uploads: ProJobReviseResponse(
            job_id=job.id, status=job.status, parent_job_id=UUID(job.inputs["revision"]["parentJobId"]),
            uploads=uploads, revision=revision_view(job.inputs)))


def _presign_new(inputs: dict[str, Any], settings: ApiSettings) -> dict[str, UploadTarget]:
    """One presigned POST per new audio (the parent's reused audios stay as uploaded)."""
    new_refs = set(inputs["revision"]["newRefs"])
    return {ref: presign_upload(bucket=settings.media_bucket, key=entry["key"], content_type=entry["contentType"],
                                max_bytes=entry["declaredSize"], expires_in=settings.upload_url_expiry_seconds)
            for ref, entry in inputs["audios"].items() if ref in new_refs}


def _fingerprint(job: JobRecord | NewJob) -> dict[str, Any] | None:
    """What makes two revise requests the same one: the parent, the segments, the options and the new
    audios as declared (their keys hold the job id, so not those). None for a job that is no revision."""
    revision = job.inputs.get("revision")
    if not revision:
        return None
    new_refs = set(revision["newRefs"])
    return {"parent": revision["parentJobId"], "segments": job.segments_data, "options": job.options,
            "model": job.model, "newRefs": sorted(new_refs),
            "audios": {ref: (e["fileName"], e["contentType"], e.get("declaredSize", e.get("size")))
                       for ref, e in job.inputs["audios"].items() if ref in new_refs}}


def revision_view(inputs: dict[str, Any]) -> RevisionView:
    """Sync.so's seconds for the revision: the clip's once cut, else an upper bound (each range plus
    the longest margin the clip may take before it and the lead after it)."""
    revision = inputs["revision"]
    clip = revision.get("clip")
    full = revision.get("fullSeconds")
    if clip:
        seconds = clip["seconds"]
    else:
        seconds = sum(b - a + max(MAX_MARGIN, LEAD) + LEAD for a, b in revision["ranges"])
        seconds = min(seconds, full) if full else seconds
    return RevisionView(parent_job_id=UUID(revision["parentJobId"]), changed_ranges=revision["ranges"],
                        revision_seconds=round(seconds, 3), full_seconds=full, exact=bool(clip))
