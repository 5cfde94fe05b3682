"""Sample media the shared makers (devstack.media_samples) do not cover: a large incompressible MP4
(faststart or not) and long silent WAVs, both made in well under a second."""

import os
import wave
from pathlib import Path

import av


def noise_mp4(path: str | Path, frames: int = 50, size: tuple[int, int] = (320, 240), fps: int = 25,
              faststart: bool = True) -> Path:
    """A lossless H.264 MP4 of random frames: ~ frames x width x height x 1.5 bytes (9 MB by default)."""
    path = Path(path)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"preset": "ultrafast", "qp": "0"}
        for index in range(frames):
            frame = av.VideoFrame(width=size[0], height=size[1], format="yuv420p")
            for plane in frame.planes:
                plane.update(os.urandom(plane.buffer_size))
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def silent_wav(path: str | Path, seconds: float, rate: int = 8000) -> Path:
    """8-bit mono silence (8 kB per second at the default rate)."""
    path = Path(path)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(b"\x80" * round(seconds * rate))
    return path
