"""Text detection with RapidOCR's DB text detector: the ONNX model that ships inside the `rapidocr`
wheel (`rapidocr/models/PP-OCRv6_det_small.onnx`), run by onnxruntime. Nothing is downloaded: the
package is located without importing it (its import pulls in the recogniser's dependencies).

Pre/post-processing follow RapidOCR's `DetPreProcess`/`DBPostProcess` (scale to multiples of 32,
(x/255 - 0.5)/0.5, probability > 0.3, boxes scoring > 0.5, grown by the unclip ratio) with the
connected components done in numpy, so the step needs neither OpenCV nor shapely.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from pathlib import Path

import numpy as np

from prosync.textremoval.regions import Box, Region, merge_detections

MODEL_FILE = "PP-OCRv6_det_small.onnx"
THRESH, BOX_THRESH, UNCLIP = 0.3, 0.5, 1.6
MIN_SIDE, MAX_SIDE = 480, 960  # 1080p -> 960x544: ~0.3 s a frame on one core

_sessions: dict[str, object] = {}
_lock = threading.Lock()


def model_path() -> Path:
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the rapidocr package (its ONNX text detector) is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / MODEL_FILE
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: the rapidocr wheel ships it")
    return path


def session():
    """One onnxruntime session per process (thread count: the process's cores)."""
    import onnxruntime as ort

    key = str(model_path())
    with _lock:
        if key not in _sessions:
            options = ort.SessionOptions()
            options.log_severity_level = 3
            _sessions[key] = ort.InferenceSession(key, options, providers=["CPUExecutionProvider"])
        return _sessions[key]


def input_size(width: int, height: int) -> tuple[int, int]:
    """(w, h) multiples of 32: the short side brought up to MIN_SIDE, the long side at most MAX_SIDE."""
    ratio = max(1.0, MIN_SIDE / min(width, height))
    ratio = min(ratio, MAX_SIDE / max(width, height)) if max(width, height) * ratio > MAX_SIDE else ratio
    return max(32, round(width * ratio / 32) * 32), max(32, round(height * ratio / 32) * 32)


def detect(bgr: np.ndarray) -> list[Box]:
    """Text boxes (x0, y0, x1, y1 in the image's pixels) of a BGR image already at `input_size`
    multiples of 32 or any size (then only its scale is assumed by the caller)."""
    sess = session()
    x = (bgr.astype(np.float32) / 255.0 - 0.5) / 0.5
    x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
    prob = sess.run(None, {sess.get_inputs()[0].name: x})[0][0, 0]
    return boxes_from_map(prob)


def boxes_from_map(prob: np.ndarray) -> list[Box]:
    """DB post-processing: components of prob > THRESH (dilated by one pixel as RapidOCR does), kept
    when their mean probability > BOX_THRESH, grown by area * UNCLIP / perimeter on every side."""
    binary = prob > THRESH
    dilated = binary.copy()
    dilated[1:, :] |= binary[:-1, :]
    dilated[:, 1:] |= dilated[:, :-1]
    boxes = []
    for ys, xs in components(dilated):
        if len(ys) < 4:
            continue
        if float(prob[ys, xs].mean()) < BOX_THRESH:
            continue
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        w, h = x1 - x0, y1 - y0
        grow = (w * h) * UNCLIP / (2 * (w + h))
        boxes.append((float(x0 - grow), float(y0 - grow), float(x1 + grow), float(y1 + grow)))
    return boxes


def components(mask: np.ndarray):
    """Yield (ys, xs) of each 8-connected component, by runs of each row joined with union-find."""
    runs = []  # (row, start, end)
    for y in np.flatnonzero(mask.any(axis=1)):
        row = np.concatenate(([0], mask[y].view(np.int8), [0]))
        edges = np.flatnonzero(np.diff(row))
        runs += [(int(y), int(s), int(e)) for s, e in zip(edges[0::2], edges[1::2], strict=True)]
    parent = list(range(len(runs)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_row: dict[int, list[int]] = {}
    for i, (y, s, e) in enumerate(runs):
        for j in by_row.get(y - 1, ()):
            _, s2, e2 = runs[j]
            if s2 <= e and s <= e2:  # 8-connected: touching diagonally counts
                parent[find(i)] = find(j)
        by_row.setdefault(y, []).append(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(runs)):
        groups.setdefault(find(i), []).append(i)
    for members in groups.values():
        ys = np.concatenate([np.full(runs[i][2] - runs[i][1], runs[i][0]) for i in members])
        xs = np.concatenate([np.arange(runs[i][1], runs[i][2]) for i in members])
        yield ys, xs


def sample_text(path: str | Path, *, sample_seconds: float = 0.5, start: float = 0.0) -> dict:
    """Decode a video (or a chunk of one, whose first frame is at `start` seconds of the whole) and
    run the detector on the first frame at or after every multiple of `sample_seconds`: the same
    frames whether the video is read whole or chunk by chunk. {samples: [[t, [box...]]...], width,
    height, duration} with boxes in pixels."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = stream.codec_context.width, stream.codec_context.height
        dw, dh = input_size(width, height)
        sx, sy = width / dw, height / dh
        samples, next_t, first = [], math.ceil(start / sample_seconds - 1e-9) * sample_seconds, None
        for index, frame in enumerate(container.decode(stream)):
            rel = frame.pts if frame.pts is not None else index
            first = rel if first is None else first
            t = start + float((rel - first) * stream.time_base) if frame.pts is not None else start
            if t + 1e-6 < next_t:
                continue
            next_t = (math.floor(t / sample_seconds + 1e-6) + 1) * sample_seconds
            bgr = frame.to_ndarray(width=dw, height=dh, format="bgr24")
            boxes = [(x0 * sx, y0 * sy, x1 * sx, y1 * sy) for x0, y0, x1, y1 in detect(bgr)]
            samples.append([round(t, 4), [_clip(b, width, height) for b in boxes]])
        return {"samples": samples, "width": width, "height": height, "duration": _duration(container, stream)}


def detect_regions(path: str | Path, *, sample_seconds: float = 0.5, min_hits: int = 2) -> list[Region]:
    """The whole video in one pass: `sample_text`, then merged over time (`merge_detections`)."""
    found = sample_text(path, sample_seconds=sample_seconds)
    return merge_detections(found["samples"], interval=sample_seconds, duration=found["duration"],
                            width=found["width"], height=found["height"], min_hits=min_hits)


def _clip(box: Box, width: int, height: int) -> Box:
    return (max(0.0, box[0]), max(0.0, box[1]), min(float(width), box[2]), min(float(height), box[3]))


def _duration(container, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / 1_000_000 if container.duration else 0.0
