"""The text-removal rules of the create request and of start (issue 16), one function per rule like
`prosync.validation` (which runs them): each problem names its field, 422."""

from __future__ import annotations

import math

from prosync.errors import Loc, ValidationFailed, detail
from prosync.models import TextRemovalRequest

EDGE_TOLERANCE = 1e-6  # x + width = 1.0000000001 from a float round trip is still inside


def check_text_removal(config: TextRemovalRequest | None, max_regions: int, root: Loc) -> list[dict]:
    """Regions or auto; at most the tier's count; each rectangle inside the frame; each time range
    0 <= startTime < endTime. The problems found (details)."""
    if config is None:
        return []
    loc = [*root, "textRemoval"]
    if not config.regions and not config.auto:
        return [detail(loc, "textRemoval needs regions or auto: true")]
    if len(config.regions) > max_regions:
        return [detail([*loc, "regions"], f"{len(config.regions)} text regions given; your plan allows "
                                           f"at most {max_regions}")]
    problems = []
    for i, region in enumerate(config.regions):
        at = [*loc, "regions", i]
        numbers = (region.x, region.y, region.width, region.height)
        if not all(math.isfinite(v) for v in numbers):
            problems.append(detail(at, "x, y, width and height must be finite numbers"))
            continue
        for name, value in (("x", region.x), ("y", region.y)):
            if not 0 <= value <= 1:
                problems.append(detail([*at, name], f"{name} must be within 0..1 (a fraction of the frame)"))
        for name, value in (("width", region.width), ("height", region.height)):
            if not 0 < value <= 1:
                problems.append(detail([*at, name], f"{name} must be > 0 and at most 1 (a fraction of "
                                                    "the frame)"))
        if region.x + region.width > 1 + EDGE_TOLERANCE:
            problems.append(detail([*at, "width"], "the region passes the frame's right edge "
                                                    "(x + width > 1)"))
        if region.y + region.height > 1 + EDGE_TOLERANCE:
            problems.append(detail([*at, "height"], "the region passes the frame's bottom edge "
                                                     "(y + height > 1)"))
        problems += _time_problems(at, region.start_time, region.end_time)
    return problems


def _time_problems(at: list, start: float | None, end: float | None) -> list[dict]:
    problems = []
    if start is not None and (not math.isfinite(start) or start < 0):
        problems.append(detail([*at, "startTime"], "startTime must be >= 0"))
    if end is not None and (not math.isfinite(end) or end <= 0):
        problems.append(detail([*at, "endTime"], "endTime must be greater than 0"))
    if start is not None and end is not None and not problems and end <= start:
        problems.append(detail([*at, "endTime"], "endTime must be greater than startTime"))
    return problems


def check_text_regions_within_video(config: dict | None, video_duration: float, tolerance: float,
                                    root: Loc = ()) -> list[dict]:
    """At start, against the probed video: every region's time range starts and ends within it."""
    problems = []
    for i, region in enumerate((config or {}).get("regions") or []):
        at = [*root, "textRemoval", "regions", i]
        for name in ("startTime", "endTime"):
            value = region.get(name)
            if value is not None and value > video_duration + tolerance:
                problems.append(detail([*at, name], f"{name} is {value:g} s but the video is "
                                                    f"{video_duration:.2f} s long"))
    return problems


def raise_problems(problems: list[dict], kind: type = ValidationFailed) -> None:
    if problems:
        raise kind(problems[0]["msg"] if len(problems) == 1 else "textRemoval is invalid", details=problems)
