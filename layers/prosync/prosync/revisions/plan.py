"""What a revision re-does: the changed ranges, the clip Sync.so gets, the segments in clip time.

A segment is unchanged when the revision has one with the same range, audio (refId, crop), speaker and
auto-detection, and its audio was not uploaded again; every other parent segment (changed or removed)
and every revised segment not in the parent is a changed range. Ranges that overlap or touch merge.

The clip: one piece per changed range, cut from the parent's result. A piece starts at the keyframe at
or before the range when that keyframe is at most `max_margin` seconds before it (the piece is then a
stream copy of the parent's packets: nothing decoded); otherwise `lead` seconds before the range and
the clip is re-encoded (Sync.so bills every second it gets, so a long GOP is not worth sending). Either
way a piece ends `lead` seconds after its range (a stream copy may stop at any frame). Pieces that
overlap merge; they are laid end to end in one clip, so one generation re-does every range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

COMPARED = ("startTime", "endTime", "audioInput", "speaker", "activeSpeakerDetection")
MAX_MARGIN = 1.0  # seconds: the longest keyframe margin sent rather than re-encoding the clip
LEAD = 0.5  # seconds of context each side of a re-encoded piece (and after every piece)


@dataclass(frozen=True)
class Piece:
    start: float  # in the parent's result
    end: float
    clip_start: float  # where it starts in the clip
    copy: bool  # starts on a keyframe: a stream copy

    @property
    def length(self) -> float:
        return self.end - self.start


def _key(segment: dict[str, Any]) -> str:
    import json

    return json.dumps({k: segment.get(k) for k in COMPARED}, sort_keys=True)


def changed_ranges(parent: Sequence[dict], revised: Sequence[dict], new_refs: set[str] = frozenset()
                   ) -> list[tuple[float, float]]:
    """The merged [start, end) ranges of the video a revision changes."""
    def fresh(segment: dict) -> bool:
        return segment["audioInput"]["refId"] in new_refs

    kept = {_key(s) for s in parent if not fresh(s)}
    revised_keys = {_key(s) for s in revised if not fresh(s)}
    ranges = [(s["startTime"], s["endTime"]) for s in parent if fresh(s) or _key(s) not in revised_keys]
    ranges += [(s["startTime"], s["endTime"]) for s in revised if fresh(s) or _key(s) not in kept]
    return merge(ranges)


def merge(ranges: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def clip_pieces(ranges: Sequence[tuple[float, float]], keyframes: Sequence[float], duration: float,
                max_margin: float = MAX_MARGIN, lead: float = LEAD) -> list[Piece]:
    """The pieces of the parent's result sent to Sync.so, in order, with their place in the clip."""
    raw = []
    for start, end in ranges:
        before = [k for k in keyframes if k <= start + 1e-6]
        key = before[-1] if before else 0.0
        copy = start - key <= max_margin
        raw.append([key if copy else max(0.0, start - lead), min(duration, end + lead), copy])
    merged: list[list] = []
    for piece in sorted(raw):
        if merged and piece[0] <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], piece[1])
        else:
            merged.append(piece)
    pieces, at = [], 0.0
    for start, end, copy in merged:
        pieces.append(Piece(start, end, at, copy))
        at += end - start
    return pieces


def to_clip_time(t: float, pieces: Sequence[Piece]) -> float:
    for piece in pieces:
        if piece.start - 1e-6 <= t <= piece.end + 1e-6:
            return round(piece.clip_start + (t - piece.start), 6)
    raise ValueError(f"{t} s is in no piece of the clip")


def clip_segments(revised: Sequence[dict], ranges: Sequence[tuple[float, float]], pieces: Sequence[Piece]
                  ) -> list[dict]:
    """The revised segments inside a changed range, in clip time (what Sync.so gets); a speaker point
    inside the clip moves with it, one outside is left to the job's choice."""
    out = []
    for segment in revised:
        if not any(a - 1e-6 <= segment["startTime"] and segment["endTime"] <= b + 1e-6 for a, b in ranges):
            continue
        moved = {**segment, "startTime": to_clip_time(segment["startTime"], pieces),
                 "endTime": to_clip_time(segment["endTime"], pieces)}
        if segment.get("speaker"):
            try:
                moved["speaker"] = {**segment["speaker"], "time": to_clip_time(segment["speaker"]["time"], pieces)}
            except ValueError:
                moved.pop("speaker")
        out.append(moved)
    return out


def saving(pieces: Sequence[Piece], duration: float) -> dict[str, float]:
    """Seconds Sync.so renders for the revision against a full re-run of the job."""
    billed = round(sum(p.length for p in pieces), 3)
    return {"revisionSeconds": billed, "fullSeconds": round(duration, 3),
            "fraction": round(billed / duration, 4) if duration else 0.0}
