"""Regions to clean: rectangles as fractions of the frame with an optional time range, their pixel
masks at a frame's time, and detections merged over time into steady regions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Region:
    """A rectangle in fractions of the frame (0..1) shown from `start` to `end` seconds (None: always)."""

    x: float
    y: float
    width: float
    height: float
    start: float | None = None
    end: float | None = None

    @classmethod
    def from_request(cls, item: dict) -> Region:
        return cls(float(item["x"]), float(item["y"]), float(item["width"]), float(item["height"]),
                   item.get("startTime"), item.get("endTime"))

    def to_json(self) -> dict:
        return asdict(self)

    def active(self, t: float) -> bool:
        return (self.start is None or t >= self.start - 1e-6) and (self.end is None or t <= self.end + 1e-6)

    def pixels(self, width: int, height: int, margin: int = 0) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in pixels, x1/y1 exclusive, grown by `margin` and clipped to the frame."""
        x0 = int(np.floor(self.x * width)) - margin
        y0 = int(np.floor(self.y * height)) - margin
        x1 = int(np.ceil((self.x + self.width) * width)) + margin
        y1 = int(np.ceil((self.y + self.height) * height)) + margin
        return max(0, x0), max(0, y0), min(width, x1), min(height, y1)


def region_from_json(item: dict) -> Region:
    return Region(**{key: item.get(key) for key in ("x", "y", "width", "height", "start", "end")})


def margin_for(width: int, height: int) -> int:
    """Pixels added around every rectangle: anti-aliased glyph edges and outlines reach past a box."""
    return max(2, round(0.006 * max(width, height)))


class MaskMaker:
    """The boolean mask of the regions active at a time, cached by the set of active regions."""

    def __init__(self, regions: Sequence[Region], width: int, height: int, margin: int | None = None) -> None:
        self.regions, self.width, self.height = list(regions), width, height
        self.margin = margin_for(width, height) if margin is None else margin
        self._cache: dict[tuple[int, ...], np.ndarray | None] = {}

    def at(self, t: float) -> np.ndarray | None:
        """The mask at `t` seconds (height x width, bool), None when no region is active."""
        active = tuple(i for i, region in enumerate(self.regions) if region.active(t))
        if active not in self._cache:
            if not active:
                self._cache[active] = None
            else:
                mask = np.zeros((self.height, self.width), dtype=bool)
                for i in active:
                    x0, y0, x1, y1 = self.regions[i].pixels(self.width, self.height, self.margin)
                    mask[y0:y1, x0:x1] = True
                self._cache[active] = mask
        return self._cache[active]


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels


def iou(a: Box, b: Box) -> float:
    inter = _intersection(a, b)
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def _area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _intersection(a: Box, b: Box) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def _same_place(a: Box, b: Box) -> bool:
    """One text line seen twice: they overlap by half of the smaller box (a caption whose words
    change keeps its place and height, not its width)."""
    smaller = min(_area(a), _area(b))
    return smaller > 0 and _intersection(a, b) >= 0.5 * smaller


def merge_detections(samples: Iterable[tuple[float, list[Box]]], *, interval: float, duration: float,
                     width: int, height: int, min_hits: int = 2) -> list[Region]:
    """Detections at sample times -> steady regions. A box joins the track it overlaps that was seen
    within two sample intervals; a track becomes one rectangle (the union of its boxes) from one
    interval before its first sighting to one after its last, so the mask neither flickers between
    samples nor lets a caption's first frames through. Tracks seen fewer than `min_hits` times
    (when the video had that many samples) are dropped as noise."""
    tracks: list[dict] = []
    count = 0
    for t, boxes in samples:
        count += 1
        for box in boxes:
            match = next((tr for tr in tracks if t - tr["last"] <= 2 * interval + 1e-6
                          and _same_place(tr["box"], box)), None)
            if match is None:
                tracks.append({"box": tuple(box), "first": t, "last": t, "hits": 1})
            else:
                b = match["box"]
                match["box"] = (min(b[0], box[0]), min(b[1], box[1]), max(b[2], box[2]), max(b[3], box[3]))
                match["last"], match["hits"] = t, match["hits"] + 1
    needed = min(min_hits, max(1, count))
    regions = []
    for tr in tracks:
        if tr["hits"] < needed:
            continue
        x0, y0, x1, y1 = tr["box"]
        start, end = max(0.0, tr["first"] - interval), min(duration, tr["last"] + interval)
        regions.append(Region(x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height,
                              round(start, 3), round(end, 3)))
    return regions
