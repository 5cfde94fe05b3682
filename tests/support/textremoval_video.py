"""Synthetic test videos for text removal: a known clean background, a caption burnt in where we
know, and a tone as audio. Small (320x240, 25 fps, 2.4 s) so the tests stay quick."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

W, H, FPS, SECONDS = 320, 240, 25, 2.4
CAPTION = "HELLO WORLD"


@dataclass
class Sample:
    path: Path
    clean: list[np.ndarray]  # BGR frames of the background alone
    caption_box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the caption's ink
    caption_frames: range  # the frames the caption is on


def background(i: int, w: int = W, h: int = H) -> np.ndarray:
    """A smooth gradient with soft blobs, slowly drifting (a few px over the clip)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shift = i * 0.5
    b = 90 + 60 * np.sin((xx + shift) / 53.0) + 30 * np.cos(yy / 41.0)
    g = 110 + 50 * np.cos((xx - yy + shift) / 67.0)
    r = 120 + 70 * np.sin((yy + 0.3 * xx) / 59.0)
    return np.clip(np.stack([b, g, r], axis=-1), 0, 255).astype(np.uint8)


def burn_caption(frame: np.ndarray, text: str = CAPTION, scale: float | None = None) -> tuple[np.ndarray, tuple]:
    import cv2

    h, w = frame.shape[:2]
    scale = scale or w / 400
    thick = max(1, round(2 * scale))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x, y = (w - tw) // 2, int(h * 0.86)
    out = frame.copy()
    cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 3, cv2.LINE_AA)
    cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
    diff = np.any(out != frame, axis=2)
    ys, xs = np.nonzero(diff)
    return out, (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def write_video(path: Path, frames: list[np.ndarray], fps: int = FPS, gop: int = 12, audio: bool = True,
                crf: int = 14) -> Path:
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": "veryfast", "g": str(gop),
                                                          "keyint_min": str(gop)})
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        a = out.add_stream("aac", rate=48000) if audio else None
        if a is not None:
            a.layout = "stereo"
        for i, bgr in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
        if a is not None:
            n = int(48000 * len(frames) / fps)
            t = np.arange(n) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, n, 1024):
                block = np.stack([tone[start:start + 1024]] * 2)
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp", layout="stereo")
                af.sample_rate, af.pts, af.time_base = 48000, start, Fraction(1, 48000)
                for p in a.encode(af):
                    out.mux(p)
            for p in a.encode(None):
                out.mux(p)
    return path


def make_sample(path: Path, *, seconds: float = SECONDS, caption_from: float = 0.0,
                caption_to: float | None = None, w: int = W, h: int = H, fps: int = FPS) -> Sample:
    n = round(seconds * fps)
    first, last = round(caption_from * fps), round((caption_to if caption_to is not None else seconds) * fps)
    clean, frames, box = [], [], None
    for i in range(n):
        bg = background(i, w, h)
        clean.append(bg)
        if first <= i < last:
            burnt, box = burn_caption(bg)
            frames.append(burnt)
        else:
            frames.append(bg)
    write_video(path, frames, fps=fps)
    return Sample(path, clean, box, range(first, last))


def decode_bgr(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(c.streams.video[0])]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
