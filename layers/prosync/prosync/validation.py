"""Every validation rule of DESIGN §3, one pure function per rule, raising a typed error from
`prosync.errors` whose details name the field (`loc` in wire names, prefixed by `root`: `("body",)` for
the create request, `()` for the job at start). `validate_create`/`validate_media` run them in order:
403 first, then every 422 problem at once (one answer lists them all), then 413."""

import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePosixPath

from prosync.errors import (
    Loc, PayloadTooLarge, ProSyncError, TierForbidden, TooManyActiveJobs, TooManyAwaitingUpload,
    UploadInvalid, UploadMissing, ValidationFailed, detail, merge)
from prosync.models import (
    AUDIO_TYPES, CONTAINERS, MODELS, OUTPUT_FILE_NAME_PATTERN, REF_ID_PATTERN, SYNC_MODES, VIDEO_TYPES,
    AudioInputRequest, FileDeclaration, ProSyncProcessRequest, SegmentRequest, SyncOptions,
)
from prosync.settings import TierLimits
from prosync.speaker import check_speakers, check_speakers_within_video
from prosync.textremoval.rules import check_text_regions_within_video, check_text_removal, raise_problems

BODY: Loc = ("body",)
DURATION_TOLERANCE = 0.05  # seconds: container durations are rounded to the stream's time base


def check_tier(limits: TierLimits | None) -> TierLimits:
    """The free tier (no limits) may not create or start jobs: 403."""
    if limits is None:
        raise TierForbidden("Lip-sync jobs need the Pro or Enterprise plan; this account is on the free plan")
    return limits


def check_active_jobs(active: int, limits: TierLimits) -> None:
    if active >= limits.max_active_jobs:
        raise TooManyActiveJobs(f"{active} of your jobs are running; your plan allows "
                                f"{limits.max_active_jobs} at once: wait for one to finish or cancel one")


def check_awaiting_upload(awaiting: int, limits: TierLimits, *, seconds_to_expiry: float,
                          expire_after_seconds: float) -> None:
    """At most `max_awaiting_upload` jobs created and not yet started (each holds presigned POSTs
    for its files): 429, with Retry-After = when the oldest of them expires by itself."""
    if awaiting < limits.max_awaiting_upload:
        return
    hours = expire_after_seconds / 3600
    raise TooManyAwaitingUpload(
        f"{awaiting} of your jobs are waiting for their uploads; your plan allows "
        f"{limits.max_awaiting_upload}: start one, cancel one, or wait until one expires "
        f"({hours:g} h after its last change)", retry_after=max(1, math.ceil(seconds_to_expiry)))


def check_segment_count(segments: Sequence[SegmentRequest], max_segments: int, root: Loc = BODY) -> None:
    if not segments:
        raise ValidationFailed.at([*root, "segments"], "at least one segment is required")
    if len(segments) > max_segments:
        raise ValidationFailed.at([*root, "segments"],
                                  f"{len(segments)} segments given; your plan allows at most {max_segments}")


def _time_range(loc: Loc, start: float, end: float) -> dict | None:
    """The problem with a [start, end) range of seconds, if any: finite, 0 <= start < end."""
    if not (math.isfinite(start) and math.isfinite(end)):
        return detail(loc, "startTime and endTime must be finite numbers")
    if start < 0:
        return detail([*loc, "startTime"], "startTime must be >= 0")
    if end <= start:
        return detail([*loc, "endTime"], "endTime must be greater than startTime")
    return None


def check_segment_times(segments: Sequence[SegmentRequest], root: Loc = BODY) -> None:
    """0 <= startTime < endTime, finite numbers."""
    problems = [_time_range([*root, "segments", i], s.start_time, s.end_time) for i, s in enumerate(segments)]
    _raise_if([p for p in problems if p], "segment times are invalid")


def find_overlaps(ranges: Sequence[tuple[float, float]]) -> list[tuple[int, int]]:
    """Pairs (i, j) of overlapping ranges (touching is no overlap): one sweep in start order against the
    furthest end so far, giving a pair for every range that overlaps an earlier-starting one."""
    order = sorted(range(len(ranges)), key=lambda i: (ranges[i][0], ranges[i][1]))
    pairs, reach = [], None  # reach = (end, index) of the range ending furthest so far
    for j in order:
        start, end = ranges[j]
        if reach is not None and start < reach[0]:
            pairs.append((reach[1], j))
        if reach is None or end > reach[0]:
            reach = (end, j)
    return pairs


def check_no_overlap(segments: Sequence[SegmentRequest], root: Loc = BODY) -> None:
    """No two segments overlap, whatever the input order; touching (a.end == b.start) is fine."""
    pairs = find_overlaps([(s.start_time, s.end_time) for s in segments])
    def message(i: int, j: int) -> str:
        a, b = segments[i], segments[j]
        return (f"{b.start_time:g}-{b.end_time:g} s overlaps segments[{i}] "
                f"({a.start_time:g}-{a.end_time:g} s)")

    _raise_if([detail([*root, "segments", j], message(i, j)) for i, j in pairs],
              "segments overlap")


def check_segment_refs(segments: Sequence[SegmentRequest], audios: Sequence[AudioInputRequest],
                       root: Loc = BODY) -> None:
    """Each segment's audioInput.refId names an audio of this request."""
    known = {a.ref_id for a in audios}
    _raise_if([detail([*root, "segments", i, "audioInput", "refId"], f"no audio has refId {ref!r}")
               for i, ref in enumerate(s.audio_input.ref_id for s in segments) if ref not in known],
              "a segment names an unknown audio")


def check_crops(segments: Sequence[SegmentRequest], root: Loc = BODY) -> None:
    """An audio crop gives both startTime and endTime or neither, with 0 <= startTime < endTime."""
    problems = []
    for i, seg in enumerate(segments):
        crop, loc = seg.audio_input, [*root, "segments", i, "audioInput"]
        if (crop.start_time is None) != (crop.end_time is None):
            missing = "endTime" if crop.end_time is None else "startTime"
            problems.append(detail([*loc, missing], "an audio crop needs both startTime and endTime"))
        elif crop.start_time is not None:
            problems.append(_time_range(loc, crop.start_time, crop.end_time))
    problems = [p for p in problems if p]
    _raise_if(problems, "audio crops are invalid")


def check_all_audios_used(segments: Sequence[SegmentRequest], audios: Sequence[AudioInputRequest],
                          root: Loc = BODY) -> None:
    used = {s.audio_input.ref_id for s in segments}
    _raise_if([detail([*root, "audios", i, "refId"], f"audio {a.ref_id!r} is not used by any segment")
               for i, a in enumerate(audios) if a.ref_id not in used],
              "every audio must be used by a segment")


def check_speech_length(segments: Sequence[SegmentRequest], max_seconds: float,
                        audio_durations: Mapping[str, float] | None = None, root: Loc = BODY) -> None:
    """At most `max_seconds` (Sync.so: 300) of audio per segment: the crop (checked at create), else the
    whole audio (checked at start, once its duration is known)."""
    problems = []
    for i, seg in enumerate(segments):
        crop = seg.audio_input
        cropped = crop.start_time is not None and crop.end_time is not None
        seconds = crop.end_time - crop.start_time if cropped else (audio_durations or {}).get(crop.ref_id)
        if seconds is not None and seconds > max_seconds:
            problems.append(detail([*root, "segments", i, "audioInput"],
                                   f"{seconds:.1f} s of audio in one segment; at most {max_seconds:g} s"))
    _raise_if(problems, "too much audio in a segment")


def extension(file_name: str) -> str:
    return PurePosixPath(file_name.replace("\\", "/")).suffix.lower()


def check_file_type(file: FileDeclaration, allowed: Mapping[str, tuple[str, ...]], loc: Loc) -> None:
    """Declared content type and file extension both allowed, and agreeing with each other."""
    content_type, ext = file.content_type.lower().split(";")[0].strip(), extension(file.file_name)
    extensions = sorted({e for exts in allowed.values() for e in exts})
    if content_type not in allowed:
        raise ValidationFailed.at([*loc, "contentType"], f"content type {content_type!r} is not allowed; "
                                  f"use one of {sorted(allowed)}")
    if ext not in extensions:
        raise ValidationFailed.at([*loc, "fileName"], f"file extension {ext or '(none)'!r} is not allowed; "
                                  f"use one of {extensions}")
    if ext not in allowed[content_type]:
        raise ValidationFailed.at([*loc, "fileName"],
                                  f"extension {ext!r} does not match content type {content_type!r}")


MAX_FILE_NAME_CHARS = 1024
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")  # control characters, lone surrogates


def check_file_name(file: FileDeclaration, loc: Loc) -> None:
    """1-1024 characters of text: no control character (Postgres cannot store NUL) and no lone
    surrogate (not encodable as UTF-8). Only the extension is used; the name is kept for display."""
    if len(file.file_name) > MAX_FILE_NAME_CHARS:
        raise ValidationFailed.at([*loc, "fileName"], f"fileName is longer than {MAX_FILE_NAME_CHARS} characters")
    if _UNSTORABLE.search(file.file_name):
        raise ValidationFailed.at([*loc, "fileName"], "fileName may not contain control characters "
                                  "or invalid Unicode")


def check_positive_sizes(request: ProSyncProcessRequest, root: Loc = BODY) -> None:
    files = [([*root, "video"], request.video)]
    files += [([*root, "audios", i], a) for i, a in enumerate(request.audios)]
    _raise_if([detail([*loc, "size"], "size must be at least 1 byte") for loc, f in files if f.size < 1],
              "file sizes are invalid")


def check_file_sizes(request: ProSyncProcessRequest, limits: TierLimits, root: Loc = BODY) -> None:
    """Declared sizes within the tier's caps: 413."""
    problems = []
    if request.video.size > limits.max_video_bytes:
        problems.append(detail([*root, "video", "size"], f"video is {request.video.size} bytes; "
                               f"your plan allows {limits.max_video_bytes}"))
    for i, audio in enumerate(request.audios):
        if audio.size > limits.max_audio_bytes:
            problems.append(detail([*root, "audios", i, "size"],
                                   f"audio {audio.ref_id!r} is {audio.size} bytes; "
                                   f"your plan allows {limits.max_audio_bytes}"))
    _raise_if(problems, "a file is larger than your plan allows", PayloadTooLarge)


def check_ref_ids(audios: Sequence[AudioInputRequest], root: Loc = BODY) -> None:
    """refIds match [A-Za-z0-9_-]{1,64} and are unique."""
    problems, seen = [], set()
    for i, audio in enumerate(audios):
        loc = [*root, "audios", i, "refId"]
        if not re.fullmatch(REF_ID_PATTERN.strip("^$"), audio.ref_id or ""):
            problems.append(detail(loc, "refId must be 1-64 characters of A-Z a-z 0-9 _ -"))
        elif audio.ref_id in seen:
            problems.append(detail(loc, f"refId {audio.ref_id!r} is used twice"))
        seen.add(audio.ref_id)
    _raise_if(problems, "audio refIds are invalid")


def check_model(model: str, root: Loc = BODY) -> None:
    if model not in MODELS:
        raise ValidationFailed.at([*root, "model"], f"model {model!r} is not one of {list(MODELS)}")


def check_sync_options(options: SyncOptions, root: Loc = BODY) -> None:
    loc = [*root, "options"]
    if options.sync_mode is not None and options.sync_mode not in SYNC_MODES:
        raise ValidationFailed.at([*loc, "sync_mode"], f"sync_mode must be one of {list(SYNC_MODES)}")
    t = options.temperature
    if t is not None and not (math.isfinite(t) and 0 <= t <= 1):
        raise ValidationFailed.at([*loc, "temperature"], "temperature must be between 0 and 1")


def check_output_file_name(name: str | None, root: Loc = BODY) -> None:
    if name is not None and not re.fullmatch(OUTPUT_FILE_NAME_PATTERN.strip("^$"), name):
        raise ValidationFailed.at([*root, "outputFileName"],
                                  "outputFileName must be 1-255 characters of A-Z a-z 0-9 _ - (no extension)")


def check_segments_within_video(segments: Sequence[SegmentRequest], video_duration: float,
                                root: Loc = ()) -> None:
    _raise_if([detail([*root, "segments", i, "endTime"],
                      f"segment ends at {s.end_time:g} s but the video is {video_duration:.2f} s long")
               for i, s in enumerate(segments) if s.end_time > video_duration + DURATION_TOLERANCE],
              "a segment ends after the video", UploadInvalid)


def check_crops_within_audio(segments: Sequence[SegmentRequest], audio_durations: Mapping[str, float],
                             root: Loc = ()) -> None:
    problems = []
    for i, seg in enumerate(segments):
        crop, length = seg.audio_input, audio_durations.get(seg.audio_input.ref_id)
        if crop.end_time is not None and length is not None and crop.end_time > length + DURATION_TOLERANCE:
            problems.append(detail([*root, "segments", i, "audioInput", "endTime"],
                                   f"crop ends at {crop.end_time:g} s but audio {crop.ref_id!r} "
                                   f"is {length:.2f} s long"))
    _raise_if(problems, "an audio crop ends after its audio", UploadInvalid)


def check_uploaded_object(loc: Loc, label: str, declared: FileDeclaration, head: Mapping | None,
                          cap: int) -> None:
    """HeadObject of an upload: present (422), size within the declared size and the tier cap (413),
    content type as declared (422). `head` is {"size", "content_type"} or None when missing."""
    if head is None:
        raise UploadMissing.at(loc, f"{label} was not uploaded")
    allowed = min(declared.size, cap)
    if head["size"] > allowed:
        raise PayloadTooLarge.at(loc, f"{label} is {head['size']} bytes, more than the {allowed} allowed")
    if head["size"] < 1:
        raise UploadInvalid.at(loc, f"{label} is empty")
    if (head.get("content_type") or "").lower() != declared.content_type.lower():
        raise UploadInvalid.at(loc, f"{label} was uploaded as {head.get('content_type')!r}, "
                               f"declared {declared.content_type!r}")


def check_media_kind(loc: Loc, label: str, kind: str, declared: FileDeclaration, info) -> None:
    """What the probe found (a `prosync.media.probe.MediaInfo`) is what was declared: a video (audio)
    stream, the container of its extension, and a duration."""
    if kind == "video" and not info.has_video:
        raise UploadInvalid.at(loc, f"{label} has no video stream")
    if kind == "audio" and not info.has_audio:
        raise UploadInvalid.at(loc, f"{label} has no audio stream")
    expected = CONTAINERS.get(extension(declared.file_name))
    if expected and expected not in info.format_name.split(","):
        raise UploadInvalid.at(loc, f"{label} is a {info.format_name!r} file, not {expected}")
    duration = info.duration
    if not duration or duration <= 0 or not math.isfinite(duration):
        raise UploadInvalid.at(loc, f"{label} has no readable duration")


def validate_create(request: ProSyncProcessRequest, limits: TierLimits | None,
                    max_speech_seconds: float) -> TierLimits:
    """Every rule that needs no media and no database: 403, then all 422 problems, then 413."""
    limits = check_tier(limits)
    segs, audios = request.segments, request.audios
    _collect([
        lambda: check_model(request.model), lambda: check_sync_options(request.options),
        lambda: check_output_file_name(request.output_file_name),
        lambda: check_file_name(request.video, [*BODY, "video"]),
        lambda: check_file_type(request.video, VIDEO_TYPES, [*BODY, "video"]),
        *[(lambda i=i, a=a: check_file_name(a, [*BODY, "audios", i])) for i, a in enumerate(audios)],
        *[(lambda i=i, a=a: check_file_type(a, AUDIO_TYPES, [*BODY, "audios", i]))
          for i, a in enumerate(audios)],
        lambda: check_positive_sizes(request),
        lambda: check_ref_ids(audios), lambda: check_segment_count(segs, limits.max_segments),
        lambda: check_segment_times(segs), lambda: check_no_overlap(segs),
        lambda: check_segment_refs(segs, audios), lambda: check_crops(segs),
        lambda: check_all_audios_used(segs, audios), lambda: check_speech_length(segs, max_speech_seconds),
        lambda: raise_problems(check_text_removal(request.text_removal, limits.max_text_regions, BODY)),
        lambda: _raise_if(check_speakers(request.options, segs), "speaker choices are invalid"),
    ])
    check_file_sizes(request, limits)
    return limits


def validate_media(segments: Sequence[SegmentRequest], video_duration: float,
                   audio_durations: Mapping[str, float], max_speech_seconds: float,
                   text_removal: Mapping | None = None, options: Mapping | None = None,
                   video: Mapping | None = None) -> None:
    """The start-time rules against the real durations (all problems in one 422)."""
    _collect([
        lambda: check_segments_within_video(segments, video_duration),
        lambda: raise_problems(check_text_regions_within_video(text_removal, video_duration,
                                                               DURATION_TOLERANCE)),
        lambda: check_crops_within_audio(segments, audio_durations),
        lambda: check_speech_length(segments, max_speech_seconds, audio_durations, root=()),
        lambda: _raise_if(check_speakers_within_video(
            options, [s.model_dump(by_alias=True, exclude_none=True) for s in segments],
            video or {"duration": video_duration}), "a speaker choice does not fit the video"),
    ], kind=UploadInvalid)


def _raise_if(problems: list, message: str, kind: type[ProSyncError] = ValidationFailed) -> None:
    if problems:
        raise kind(problems[0]["msg"] if len(problems) == 1 else message, details=problems)


def _collect(checks: list[Callable[[], None]], kind: type[ProSyncError] | None = None) -> None:
    """Run every check, then raise one error with all their details (as `kind` when given)."""
    found = []
    for check in checks:
        try:
            check()
        except ValidationFailed as exc:
            found.append(exc)
    if found:
        error = merge(found)
        raise error if kind is None else kind(error.message, details=error.details)
