"""API models with the seed's names: camelCase on the wire (snake_case inside `options`, as Sync.so
takes them), unknown fields refused (`extra="forbid"` -> 422). The request models are strict: a JSON
string is never a number or a boolean, a boolean never a number (an integer is still a valid float).

The models check structure and types only. Every rule of DESIGN §3 (enums, patterns, ranges, tiers,
overlaps...) lives in `prosync.validation`, so that each rule is one function with one test; the
constraints are also written into the JSON schema here (same constants) so the OpenAPI document
tells a client what the server enforces.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from prosync.jobs.status import JobStatus
from prosync.settings import Tier

MODELS = ("lipsync-2", "lipsync-2-pro", "lipsync-1.9.0-beta", "react-1", "sync-3")
SYNC_MODES = ("bounce", "loop", "cut_off", "silence", "remap")
REF_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
OUTPUT_FILE_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,255}$"
# content type -> the file extensions it may carry (both are checked, and must agree)
VIDEO_TYPES: dict[str, tuple[str, ...]] = {
    "video/mp4": (".mp4",),
    "video/quicktime": (".mov",),
    "video/webm": (".webm",),
    "video/x-msvideo": (".avi",),
    "video/avi": (".avi",),
    "video/msvideo": (".avi",),
}
AUDIO_TYPES: dict[str, tuple[str, ...]] = {
    "audio/wav": (".wav",),
    "audio/x-wav": (".wav",),
    "audio/wave": (".wav",),
    "audio/vnd.wave": (".wav",),
    "audio/mpeg": (".mp3",),
    "audio/mp3": (".mp3",),
    "audio/ogg": (".ogg",),
    "audio/flac": (".flac",),
    "audio/x-flac": (".flac",),
    "audio/mp4": (".m4a",),
    "audio/x-m4a": (".m4a",),
    "audio/m4a": (".m4a",),
    "audio/aac": (".aac",),
    "audio/x-aac": (".aac",),
}
# extension -> the container name FFmpeg reports for it (one of its comma-separated names)
CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".m4a": "m4a", ".webm": "webm", ".avi": "avi", ".wav": "wav",
              ".mp3": "mp3", ".ogg": "ogg", ".flac": "flac", ".aac": "aac"}


def _doc(**schema: Any) -> dict[str, Any]:
    return {"json_schema_extra": schema}


class WireModel(BaseModel):
    """camelCase aliases, python names accepted too, unknown fields refused, no NaN/Infinity."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", allow_inf_nan=False
    )


# -- request -----------------------------------------------------------------------------------


class RequestModel(WireModel):
    """What a client sends: strict types (`"size": "100"`, `"size": true` -> 422 on that field)."""

    model_config = ConfigDict(strict=True)


class FileDeclaration(RequestModel):
    file_name: str = Field(description="the file's name on the user's machine (only its extension is used)",
                           **_doc(maxLength=1024))
    content_type: str = Field(description="the MIME type the browser will send with the upload")
    size: int = Field(description="size in bytes; the upload may not be larger", **_doc(minimum=1))


class VideoInputRequest(FileDeclaration):
    """The video: mp4, mov, webm or avi."""

    content_type: str = Field(description="the MIME type the browser will send",
                              **_doc(enum=list(VIDEO_TYPES)))


class AudioInputRequest(FileDeclaration):
    """One audio track: wav, mp3, ogg, flac, m4a or aac. `refId` is generated (`audio-<n>`, 1-based
    position) when absent."""

    content_type: str = Field(description="the MIME type the browser will send",
                              **_doc(enum=list(AUDIO_TYPES)))
    ref_id: str | None = Field(default=None, **_doc(pattern=REF_ID_PATTERN))


class SegmentAudioInput(RequestModel):
    """Which audio is spoken, optionally cropped to [startTime, endTime) seconds of that audio."""

    ref_id: str
    start_time: float | None = Field(default=None, **_doc(minimum=0))
    end_time: float | None = Field(default=None, **_doc(exclusiveMinimum=0))


class SpeakerPoint(RequestModel):
    """The speaker to lip-sync (issue 17): the face under the point (`x`, `y`: fractions of the frame's
    width and height from its top-left corner, 0..1) in the frame shown at `time` seconds of the video.
    Sent to Sync.so as `active_speaker_detection = {"auto_detect": false, "frame_number", "coordinates"}`
    in pixels of the probed video (`prosync.speaker`)."""

    time: float = Field(description="seconds into the video (inside it; checked at start)", **_doc(minimum=0))
    x: float = Field(description="fraction of the frame's width", **_doc(minimum=0, maximum=1))
    y: float = Field(description="fraction of the frame's height", **_doc(minimum=0, maximum=1))


class SegmentRequest(RequestModel):
    """A time range of the video, in seconds, and the audio spoken over it; optionally its own speaker
    (`speaker`, a point) or auto-detection (`activeSpeakerDetection`), overriding the job's."""

    start_time: float = Field(**_doc(minimum=0))
    end_time: float = Field(**_doc(exclusiveMinimum=0))
    audio_input: SegmentAudioInput
    speaker: SpeakerPoint | None = Field(default=None, description="this segment's speaker (Sync.so "
                                         "`optionsOverride.active_speaker_detection`)")
    active_speaker_detection: bool | None = Field(default=None, description="auto-detect this segment's "
                                                  "speaker (not with `speaker`)")


class SyncOptions(BaseModel):
    """Sync.so generation options (snake_case, passed on as they are)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    sync_mode: str | None = Field(default=None, **_doc(enum=list(SYNC_MODES)))
    temperature: float | None = Field(default=None, **_doc(minimum=0, maximum=1))
    active_speaker_detection: bool | None = Field(
        default=None, description="auto-detect the active speaker (sent to Sync.so as {\"auto_detect\": …})")
    occlusion_detection_enabled: bool | None = None
    speaker: SpeakerPoint | None = Field(default=None, description="the job's speaker, a point on the face "
                                         "(not with `active_speaker_detection: true`)")


class TextRegion(RequestModel):
    """A rectangle to clean, in fractions of the frame (x, y: its top-left corner; 0..1, inside the
    frame), optionally only from `startTime` to `endTime` seconds of the video."""

    x: float = Field(**_doc(minimum=0, maximum=1))
    y: float = Field(**_doc(minimum=0, maximum=1))
    width: float = Field(**_doc(exclusiveMinimum=0, maximum=1))
    height: float = Field(**_doc(exclusiveMinimum=0, maximum=1))
    start_time: float | None = Field(default=None, **_doc(minimum=0))
    end_time: float | None = Field(default=None, **_doc(exclusiveMinimum=0))


class TextRemovalRequest(RequestModel):
    """Burnt-in text removal after lip-sync (issue 16): the given `regions` and/or the text found in
    the frames (`auto`). The untouched lip-synced video is kept beside the cleaned one."""

    regions: list[TextRegion] = Field(default_factory=list)
    auto: bool = False


# DESIGN §3's example, in the OpenAPI document for clients (Swagger UI) and fuzzers
CREATE_EXAMPLE: dict[str, Any] = {
    "model": "lipsync-2-pro",
    "video": {"fileName": "talk.mp4", "contentType": "video/mp4", "size": 10485760},
    "audios": [{"refId": "intro", "fileName": "intro.wav", "contentType": "audio/wav", "size": 480000},
               {"refId": "outro", "fileName": "outro.mp3", "contentType": "audio/mpeg", "size": 120000}],
    "segments": [{"startTime": 0.0, "endTime": 2.5, "audioInput": {"refId": "intro"}},
                 {"startTime": 4.0, "endTime": 6.0,
                  "audioInput": {"refId": "outro", "startTime": 0.5, "endTime": 2.5}}],
    "options": {"sync_mode": "cut_off", "temperature": 0.5},
    "outputFileName": "talk_dubbed",
}


class ProSyncProcessRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CREATE_EXAMPLE]})

    model: str = Field(default="lipsync-2", **_doc(enum=list(MODELS)))
    video: VideoInputRequest
    audios: list[AudioInputRequest]
    segments: list[SegmentRequest]
    options: SyncOptions = Field(default_factory=SyncOptions)
    output_file_name: str | None = Field(default=None, **_doc(pattern=OUTPUT_FILE_NAME_PATTERN))
    text_removal: TextRemovalRequest | None = None

    @model_validator(mode="after")
    def _generate_ref_ids(self):
        for position, audio in enumerate(self.audios, start=1):
            if audio.ref_id is None:
                audio.ref_id = f"audio-{position}"
        return self


# -- responses ---------------------------------------------------------------------------------


class UploadTarget(WireModel):
    """A presigned POST: send `fields` then the file (form field `file`) as multipart/form-data to `url`."""

    url: str
    fields: dict[str, str]
    key: str
    expires_at: datetime


class UploadTargets(WireModel):
    video: UploadTarget
    audios: dict[str, UploadTarget]


class ProSyncProcessResponse(WireModel):
    job_id: UUID
    status: JobStatus
    uploads: UploadTargets | None = Field(description="one presigned POST per file; null when an "
                                          "Idempotency-Key replay finds the job already started")


class JobError(WireModel):
    code: str
    message: str


class JobHistoryEntry(WireModel):
    at: datetime
    from_status: JobStatus | None
    to_status: JobStatus
    detail: dict[str, Any] = Field(default_factory=dict)


class EstimatedCost(WireModel):
    """Sync.so's estimate for the job's generation (`POST /v2/analyze/cost`, asked by submit)."""

    usd: float
    model: str
    media_seconds: float = Field(description="seconds of video Sync.so renders")


class TextRemovalChunks(WireModel):
    done: int
    total: int


class RevisionView(WireModel):
    """A revision (issue 17): its parent, the ranges re-done, and Sync.so's seconds against a full re-run
    (`revisionSeconds`: an upper bound until the clip is cut, then the clip's length)."""

    parent_job_id: UUID
    changed_ranges: list[list[float]]
    revision_seconds: float
    full_seconds: float | None = None
    exact: bool = Field(default=False, description="true once the clip is cut")


class SegmentJobStatus(WireModel):
    job_id: UUID
    status: JobStatus
    stage: str
    progress: int = Field(description="coarse progress in percent")
    model: str
    segments: list[SegmentRequest]
    output_file_name: str | None = None
    sync_generation_id: str | None = None
    result_url: str | None = Field(default=None, description="presigned GET of the result (completed jobs)")
    output_duration: float | None = None
    error: JobError | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    history: list[JobHistoryEntry] | None = Field(default=None,
                                                  description="status changes (status route only)")
    queue_position: int | None = Field(default=None, description="place in line for one of the organisation's "
                                       "Sync.so slots (1 = next); null unless queued (status route only)")
    attempt: int = Field(default=0, description="Sync.so attempts made so far (a retried generation is a new one)")
    sync_progress_percent: int | None = Field(default=None, description="Sync.so's own percent of the current "
                                              "generation, when it reported one")
    estimated_cost: EstimatedCost | None = None
    text_removal: TextRemovalRequest | None = Field(default=None, description="the text removal asked for")
    text_removal_chunks: TextRemovalChunks | None = Field(default=None, description="chunks cleaned so far "
                                                          "(while removing text and after)")
    parent_job_id: UUID | None = Field(default=None, description="the job this one revises (issue 17)")
    revision: RevisionView | None = None


class JobList(WireModel):
    jobs: list[SegmentJobStatus]
    next_cursor: str | None = Field(default=None, description="pass as `cursor` for the next page")


class TierLimitsView(WireModel):
    max_segments: int
    max_video_bytes: int
    max_audio_bytes: int
    max_active_jobs: int
    max_awaiting_upload: int = Field(description="jobs created and not yet started (each holds upload URLs)")
    max_speech_seconds_per_segment: float
    max_text_regions: int = Field(default=10, description="textRemoval.regions of one job")


class SyncConcurrencyView(WireModel):
    """The organisation's Sync.so concurrency: generations at once (plan limit), in use, jobs in line."""

    limit: int
    in_use: int
    queued: int


class LimitsResponse(WireModel):
    tier: Tier
    can_create_jobs: bool
    limits: TierLimitsView | None = Field(description="null for the free tier")
    active_jobs: int
    awaiting_upload_jobs: int = Field(description="jobs created and not yet started, limited by "
                                      "`limits.maxAwaitingUpload`")
    video_content_types: list[str]
    audio_content_types: list[str]
    models: list[str]
    upload_url_expiry_seconds: int
    sync_concurrency: SyncConcurrencyView | None = Field(default=None, description="Sync.so slots of the "
                                                         "organisation (shared by every user)")


class ErrorDetail(WireModel):
    loc: list[str | int]
    msg: str


class ErrorBody(WireModel):
    code: str
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class SegmentValidationError(WireModel):
    """The one error body of every 4xx/5xx answer."""

    error: ErrorBody


class HealthResponse(WireModel):
    status: str = "ok"
