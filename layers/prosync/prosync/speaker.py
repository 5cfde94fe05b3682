"""Speaker selection (issue 17): whose lips Sync.so moves, for the job and per segment.

The API takes a point on the face in one frame: `time` (seconds into the video) and `x`, `y` as
fractions of the frame (0..1 from the top-left corner), so a client never needs the video's pixel size
or frame rate; or auto-detection (`active_speaker_detection: true`). The job's choice is
`options.speaker` / `options.active_speaker_detection`; a segment's own choice is `segments[i].speaker` /
`segments[i].activeSpeakerDetection`, overriding the job's for that range.

Rules (`check_speakers`, at create and edit; `check_speakers_within_video`, at start against the probed
video): a point is finite, `time >= 0`, `0 <= x, y <= 1`; a point and auto-detection `true` are not
given together; the time is before the video's end.

Sync.so's shape (reference §2.4 and §9): `active_speaker_detection = {"auto_detect": false,
"frame_number": N, "coordinates": [x_px, y_px]}` with N = floor(time x frame rate) (clamped to the last
frame) and the pixels = floor(fraction x size) (clamped inside the frame), from what start probed
(`inputs.video.width`, `height`, `frameRate`). A segment's choice goes in that segment's
`optionsOverride.active_speaker_detection`, same shape (docs/ARCHITECTURE.md, "Speaker selection").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from prosync.errors import Loc, detail

FRAME_EPSILON = 1e-6  # a time exactly on a frame boundary (2.0 s at 25 fps) is that frame, not the one before


def _point_problems(point: Any, loc: list) -> list[dict]:
    problems = []
    for name in ("time", "x", "y"):
        value = getattr(point, name)
        if not math.isfinite(value):
            problems.append(detail([*loc, name], f"{name} must be a finite number"))
        elif name == "time" and value < 0:
            problems.append(detail([*loc, name], "time must be >= 0 (seconds into the video)"))
        elif name != "time" and not 0 <= value <= 1:
            problems.append(detail([*loc, name], f"{name} must be between 0 and 1 (a fraction of the frame)"))
    return problems


def check_speakers(options: Any, segments: Sequence[Any], root: Loc = ("body",)) -> list[dict]:
    """Every problem of the job's and the segments' speaker choices (field paths in wire names)."""
    problems: list[dict] = []
    choices = [([*root, "options"], options.speaker, options.active_speaker_detection, "active_speaker_detection")]
    choices += [([*root, "segments", i], s.speaker, s.active_speaker_detection, "activeSpeakerDetection")
                for i, s in enumerate(segments)]
    for loc, point, auto, auto_name in choices:
        if point is None:
            continue
        problems += _point_problems(point, [*loc, "speaker"])
        if auto:
            problems.append(detail([*loc, "speaker"], f"choose either a speaker point or {auto_name}: true"))
    return problems


def points_of(options: Mapping[str, Any] | None, segments: Sequence[Mapping[str, Any]]) -> list[tuple[list, dict]]:
    """(loc, point) of every stored speaker point: the job's (`options.speaker`) and each segment's."""
    found = []
    if (options or {}).get("speaker"):
        found.append((["options", "speaker"], options["speaker"]))
    found += [(["segments", i, "speaker"], s["speaker"]) for i, s in enumerate(segments) if s.get("speaker")]
    return found


def check_speakers_within_video(options: Mapping[str, Any] | None, segments: Sequence[Mapping[str, Any]],
                                video: Mapping[str, Any], root: Loc = ()) -> list[dict]:
    """At start: every point's time is before the video's end, and the video's frame rate and size
    were read (needed to name the frame and the pixel)."""
    problems = []
    duration = video.get("duration")
    for loc, point in points_of(options, segments):
        if duration is not None and point["time"] >= duration:
            problems.append(detail([*root, *loc, "time"], f"speaker time {point['time']:g} s is not inside "
                                   f"the video ({duration:.2f} s long)"))
        elif not (video.get("frameRate") and video.get("width") and video.get("height")):
            problems.append(detail([*root, *loc], "the video's frame rate or size could not be read, so a "
                                   "speaker point cannot be used; use active speaker detection"))
    return problems


def frame_number(time: float, geometry: Mapping[str, Any]) -> int:
    """The index of the frame shown at `time` (floor of time x fps), never past the last frame."""
    fps = float(geometry["frameRate"])
    last = max(0, math.ceil(float(geometry.get("duration") or 0) * fps - FRAME_EPSILON) - 1)
    frame = math.floor(time * fps + FRAME_EPSILON)
    return max(0, min(frame, last)) if geometry.get("duration") else max(0, frame)


def pixel(fraction: float, size: int) -> int:
    return max(0, min(int(size) - 1, math.floor(fraction * int(size))))


def to_sync(point: Mapping[str, Any], geometry: Mapping[str, Any] | None) -> dict[str, Any]:
    """A stored point as Sync.so's `active_speaker_detection` object."""
    if not geometry or not all(geometry.get(k) for k in ("frameRate", "width", "height")):
        raise ValueError("a speaker point needs the video's frame rate and size (recorded by start)")
    return {"auto_detect": False, "frame_number": frame_number(point["time"], geometry),
            "coordinates": [pixel(point["x"], geometry["width"]), pixel(point["y"], geometry["height"])]}


def job_speaker(options: Mapping[str, Any], geometry: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Sync.so's job-level `active_speaker_detection` (None: leave it out)."""
    if options.get("speaker"):
        return to_sync(options["speaker"], geometry)
    if isinstance(options.get("active_speaker_detection"), bool):
        return {"auto_detect": options["active_speaker_detection"]}
    return None


def sync_segment(segment: Mapping[str, Any], geometry: Mapping[str, Any] | None) -> dict[str, Any]:
    """A stored segment as Sync.so takes it: our `speaker` / `activeSpeakerDetection` become
    `optionsOverride.active_speaker_detection`; nothing else changes."""
    wire = {k: v for k, v in segment.items() if k not in ("speaker", "activeSpeakerDetection")}
    if segment.get("speaker"):
        choice = to_sync(segment["speaker"], geometry)
    elif isinstance(segment.get("activeSpeakerDetection"), bool):
        choice = {"auto_detect": segment["activeSpeakerDetection"]}
    else:
        return wire
    wire["optionsOverride"] = {**(wire.get("optionsOverride") or {}), "active_speaker_detection": choice}
    return wire


def geometry_of(video: Mapping[str, Any]) -> dict[str, Any] | None:
    """What submit needs of the probed video to place a point (None when start recorded none)."""
    found = {k: video.get(k) for k in ("width", "height", "frameRate", "duration") if video.get(k) is not None}
    return found or None
