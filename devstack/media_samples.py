"""Small sample media made on the fly with PyAV (no numpy, no external files).

- ``make_video``: a test-card video with a moving bar and a burnt-in ``SS:FF`` timecode, so a viewer
  (or a test reading pixels) can tell where in the video a frame comes from.
- ``make_tone``: a sine tone (or silence with ``freq=0``), container/codec chosen by the extension.

Used by the emulator's tests, the demo and the e2e tests.
"""

from __future__ import annotations

import itertools
import math
from array import array
from pathlib import Path

import av

AUDIO_FORMATS = {  # extension -> (container format, codec, sample rate)
    ".wav": ("wav", "pcm_s16le", 44100),
    ".mp3": ("mp3", "libmp3lame", 44100),
    ".ogg": ("ogg", "libopus", 48000),
    ".flac": ("flac", "flac", 44100),
    ".m4a": ("ipod", "aac", 44100),
    ".aac": ("adts", "aac", 44100),
}
VIDEO_FORMATS = {  # extension -> (container format, codec)
    ".mp4": ("mp4", "libx264"),
    ".mov": ("mov", "libx264"),
    ".webm": ("webm", "libvpx"),
    ".avi": ("avi", "mpeg4"),
}

# 3x5 bitmap digits, one string of 15 cells per glyph, row by row.
_GLYPHS = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001010010010",
    "8": "111101111101111",
    "9": "111101111001111",
    ":": "000010000010000",
}


def make_video(
    path: str | Path,
    seconds: float,
    fps: int = 25,
    size: tuple[int, int] = (160, 120),
    tone_freq: float | None = None,
) -> Path:
    """Write a test-card video of ``seconds`` at ``fps`` and ``size`` (width, height, made even).

    With ``tone_freq`` the file also gets an AAC/MP3 audio track with that tone (a camera's own sound).
    """
    path = Path(path)
    container_format, codec = _pick(VIDEO_FORMATS, path)
    width, height = size[0] // 2 * 2, size[1] // 2 * 2
    frame_count = max(1, round(seconds * fps))
    background = _background(width, height)
    with av.open(str(path), "w", format=container_format) as out:
        video = out.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            video.options = {"preset": "ultrafast", "tune": "zerolatency"}
        audio = _add_audio_stream(out, "aac" if codec != "libvpx" else "libopus") if tone_freq else None
        for index in range(frame_count):
            pixels = _draw_frame(background, width, height, index, fps)
            frame = _rgb_frame(pixels, width, height)
            frame.pts = index
            out.mux(video.encode(frame.reformat(format="yuv420p")))
        out.mux(video.encode())
        if audio is not None:
            _write_tone(out, audio, frame_count / fps, tone_freq, 0.3)
    return path


def make_tone(
    path: str | Path,
    seconds: float,
    freq: float,
    amplitude: float = 0.5,
    sample_rate: int | None = None,
) -> Path:
    """Write a mono sine tone of ``freq`` Hz (0 = silence); format from the extension
    (.wav .mp3 .ogg .flac .m4a .aac)."""
    return make_tone_sequence(path, [(seconds, freq)], amplitude, sample_rate)


def make_tone_sequence(
    path: str | Path,
    parts: list[tuple[float, float]],
    amplitude: float = 0.5,
    sample_rate: int | None = None,
) -> Path:
    """Write tones one after the other: ``parts`` = [(seconds, freq), ...] (freq 0 = silence).
    Handy to check that a crop of the audio lands where it should."""
    path = Path(path)
    container_format, codec, default_rate = _pick(AUDIO_FORMATS, path)
    with av.open(str(path), "w", format=container_format) as out:
        stream = _add_audio_stream(out, codec, sample_rate or default_rate)
        _write_tones(out, stream, parts, amplitude)
    return path


def media_duration(path: str | Path) -> float:
    """Duration in seconds as a player would report it (container, else longest stream)."""
    with av.open(str(path)) as container:
        if container.duration:
            return container.duration / av.time_base
        durations = [float(s.duration * s.time_base) for s in container.streams if s.duration and s.time_base]
        return max(durations, default=0.0)


# -- helpers ---------------------------------------------------------------------------------------


def _pick(table: dict, path: Path):
    try:
        return table[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"unsupported extension {path.suffix!r}; use one of {sorted(table)}") from None


def _add_audio_stream(out, codec: str, sample_rate: int = 44100):
    if codec == "libopus":
        sample_rate = 48000
    stream = out.add_stream(codec, rate=sample_rate)
    stream.layout = "mono"
    if codec in ("aac", "libmp3lame", "libopus"):
        stream.bit_rate = 64000
    return stream


def _write_tone(out, stream, seconds: float, freq: float, amplitude: float) -> None:
    _write_tones(out, stream, [(seconds, freq)], amplitude)


def _write_tones(out, stream, parts: list[tuple[float, float]], amplitude: float) -> None:
    rate = stream.codec_context.sample_rate
    resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
    chunk, peak, written = 1024, amplitude * 32767, 0
    for seconds, freq in parts:
        total, step = round(seconds * rate), 2 * math.pi * freq / rate
        for start in range(0, total, chunk):
            count = min(chunk, total - start)
            if freq:
                data = array("h", (int(peak * math.sin(step * (start + i))) for i in range(count))).tobytes()
            else:
                data = bytes(2 * count)
            frame = av.AudioFrame(format="s16", layout="mono", samples=count)
            frame.planes[0].update(data.ljust(frame.planes[0].buffer_size, b"\0"))
            frame.sample_rate, frame.pts = rate, written
            written += count
            for converted in resampler.resample(frame):
                out.mux(stream.encode(converted))
    for converted in resampler.resample(None):
        out.mux(stream.encode(converted))
    out.mux(stream.encode(None))


def _rgb_frame(pixels: bytearray, width: int, height: int) -> av.VideoFrame:
    frame = av.VideoFrame(width=width, height=height, format="rgb24")
    plane, row = frame.planes[0], width * 3
    if plane.line_size == row:
        plane.update(bytes(pixels))
    else:  # rows padded to the plane's alignment
        padding = bytes(plane.line_size - row)
        plane.update(b"".join(bytes(pixels[y * row : (y + 1) * row]) + padding for y in range(height)))
    return frame


def _background(width: int, height: int) -> bytearray:
    rows = bytearray()
    for y in range(height):
        for x in range(width):
            rows += bytes((40 + 120 * x // width, 40 + 120 * y // height, 110))
    return rows


def _fill(pixels: bytearray, width: int, x0: int, y0: int, w: int, h: int, rgb: bytes) -> None:
    height = len(pixels) // (width * 3)
    x0, x1 = max(0, x0), min(width, x0 + w)
    if x1 <= x0:
        return
    run = rgb * (x1 - x0)
    for y in range(max(0, y0), min(height, y0 + h)):
        offset = (y * width + x0) * 3
        pixels[offset : offset + len(run)] = run


def _draw_frame(background: bytearray, width: int, height: int, index: int, fps: int) -> bytearray:
    pixels = bytearray(background)
    bar_x = index * max(1, width // (2 * fps)) % width  # crosses the frame every 2 seconds
    _fill(pixels, width, bar_x, 0, max(2, width // 40), height, b"\xff\xff\x00")
    text = f"{index // fps % 100:02d}:{index % fps:02d}"
    scale = max(1, min(width // (len(text) * 4 * 2), height // 20))
    x, y = scale, height - 6 * scale
    _fill(pixels, width, x - scale // 2, y - scale // 2, (len(text) * 4) * scale, 6 * scale, b"\x00\x00\x00")
    for char in text:
        glyph = _GLYPHS[char]
        for cell, on in enumerate(glyph):
            if on == "1":
                _fill(
                    pixels,
                    width,
                    x + (cell % 3) * scale,
                    y + (cell // 3) * scale,
                    scale,
                    scale,
                    b"\xff\xff\xff",
                )
        x += 4 * scale
    return pixels


# -- analysis (to check an output: which tone plays where) -----------------------------------------


def decode_audio_pcm(path: str | Path, sample_rate: int = 8000) -> array:
    """The first audio stream as signed 16-bit mono samples at ``sample_rate``."""
    pcm = array("h")
    resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            for converted in resampler.resample(frame):
                pcm.frombytes(bytes(converted.planes[0])[: converted.samples * 2])
        for converted in resampler.resample(None):
            pcm.frombytes(bytes(converted.planes[0])[: converted.samples * 2])
    return pcm


def tone_profile(pcm: array, sample_rate: int, start: float, end: float) -> tuple[float, float]:
    """(RMS level 0..32767, frequency estimated from zero crossings in Hz) of ``pcm`` in [start, end)."""
    window = pcm[int(start * sample_rate) : int(end * sample_rate)]
    if not window:
        return 0.0, 0.0
    level = math.sqrt(sum(sample * sample for sample in window) / len(window))
    crossings = sum(1 for a, b in itertools.pairwise(window) if (a < 0) != (b < 0))
    return level, crossings / 2 / (len(window) / sample_rate)


def burn_caption(src: str | Path, dst: str | Path, text: str = "SUBTITLE 01", y: float = 0.2) -> tuple[Path, dict]:
    """Copy the video `src` to `dst` with a white caption (black outline) burnt into every frame, its
    baseline at `y` (fraction of the height; the default keeps it off `make_video`'s timecode), as a
    subtitle or a channel's title would be (text removal, issue 16). Returns the file and the
    caption's box as a textRemoval region (fractions of the frame, a few pixels around the ink)."""
    import cv2  # only this sample needs OpenCV (and numpy)
    import numpy as np

    dst = Path(dst)
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        rate = stream.average_rate or 25
        enc = out.add_stream("libx264", rate=rate, options={"preset": "ultrafast", "crf": "16"})
        enc.width, enc.height, enc.pix_fmt = stream.codec_context.width, stream.codec_context.height, "yuv420p"
        box = None
        for index, frame in enumerate(inp.decode(stream)):
            image = frame.to_ndarray(format="bgr24")
            h, w = image.shape[:2]
            scale = w / 400
            thick = max(1, round(2 * scale))
            (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
            origin = ((w - tw) // 2, int(h * y))
            burnt = image.copy()
            cv2.putText(burnt, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 3, cv2.LINE_AA)
            cv2.putText(burnt, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
            if box is None:
                ys, xs = np.nonzero(np.any(burnt != image, axis=2))
                box = {"x": max(0, xs.min() - 2) / w, "y": max(0, ys.min() - 2) / h,
                       "width": (min(w, xs.max() + 3) - max(0, xs.min() - 2)) / w,
                       "height": (min(h, ys.max() + 3) - max(0, ys.min() - 2)) / h}
            new = av.VideoFrame.from_ndarray(burnt, format="bgr24")
            new.pts = index  # in 1/rate: the encoder's time base
            out.mux(enc.encode(new))
        out.mux(enc.encode())
    return dst, {key: round(float(value), 4) for key, value in box.items()}
