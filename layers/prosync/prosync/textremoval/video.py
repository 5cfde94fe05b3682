"""Video side of text removal, with PyAV: cut at keyframes, clean a chunk, join.

- `cut`: the video stream is copied packet by packet into chunk files, a new chunk starting at the
  first keyframe after `chunk_seconds`; nothing is decoded. The plan records each chunk's first pts
  (source time base) and frame count.
- `clean_chunk`: decode, fill the masked pixels of every frame in its YUV planes (`inpaint`; the
  rest of each frame is untouched before encoding), encode with libx264 (no B-frames, so dts = pts
  and the chunks join with monotonic timestamps; every chunk the same settings, so the same
  parameter sets). Frames keep their source timestamps.
- `join`: the cleaned chunks' packets by stream copy, moved back to their place in the source's
  timeline, and the source's audio packets by stream copy (bit-identical), interleaved by time.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from prosync.textremoval.inpaint import chroma_mask, fill_plane
from prosync.textremoval.regions import MaskMaker, Region

WINDOW = 6  # frames each side a masked pixel may be taken from
ENCODER = {"crf": "16", "preset": "veryfast", "x264-params": "bframes=0:scenecut=0"}


def _open(path, mode="r"):
    import av

    return av.open(str(path), mode=mode)


def describe(path: str | Path) -> dict:
    """Size, rate, time base, duration and frame count (from the packets) of the video stream."""
    with _open(path) as container:
        stream = container.streams.video[0]
        frames = sum(1 for p in container.demux(stream) if p.dts is not None or p.pts is not None)
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        duration = float(stream.duration * stream.time_base) if stream.duration else (
            container.duration / 1_000_000 if container.duration else frames / float(rate))
        return {"width": stream.codec_context.width, "height": stream.codec_context.height,
                "rate": [rate.numerator, rate.denominator], "frames": frames, "duration": duration,
                "timeBase": [stream.time_base.numerator, stream.time_base.denominator],
                "hasAudio": bool(container.streams.audio)}


def cut(path: str | Path, out_dir: str | Path, chunk_seconds: float) -> list[dict]:
    """Copy the video stream into `out_dir/chunk-NNNN.mp4` files cut at keyframes; their plan."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chunks: list[dict] = []
    out = ostream = None
    with _open(path) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        try:
            for packet in container.demux(stream):
                if packet.pts is None and packet.dts is None:
                    continue
                pts = packet.pts if packet.pts is not None else packet.dts
                start_new = out is None or (packet.is_keyframe and
                                            float((pts - chunks[-1]["firstPts"]) * tb) >= chunk_seconds)
                if start_new:
                    if out is not None:
                        out.close()
                    index = len(chunks)
                    file = out_dir / f"chunk-{index:04d}.mp4"
                    out = _open(file, "w")
                    ostream = out.add_stream_from_template(stream)
                    chunks.append({"index": index, "firstPts": int(pts), "frames": 0,
                                   "start": float(pts * tb), "file": file.name})
                chunks[-1]["frames"] += 1
                chunks[-1]["firstPts"] = min(chunks[-1]["firstPts"], int(pts))
                packet.stream = ostream
                out.mux(packet)
        finally:
            if out is not None:
                out.close()
    for chunk in chunks:
        chunk["start"] = float(chunk["firstPts"] * tb)
    return chunks


def _planes(frame) -> list[np.ndarray]:
    """Y, U, V of a yuv420p frame as separate arrays (copies)."""
    arr = frame.to_ndarray(format="yuv420p")
    h, w = frame.height, frame.width
    ch, cw = (h + 1) // 2, (w + 1) // 2
    y = arr[:h].copy()
    rest = arr[h:].reshape(-1)
    return [y, rest[: ch * cw].reshape(ch, cw).copy(), rest[ch * cw: 2 * ch * cw].reshape(ch, cw).copy()]


def _frame(planes: list[np.ndarray]):
    import av

    y, u, v = planes
    arr = np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)]).reshape(-1, y.shape[1])
    return av.VideoFrame.from_ndarray(arr, format="yuv420p")


def clean_chunk(in_path: str | Path, out_path: str | Path, regions: Sequence[Region], *,
                first_pts: int, time_base: Fraction, rate: Fraction, temporal: bool = True,
                encoder: dict | None = None, threads: int | None = None) -> int:
    """Clean one chunk file into `out_path` (video only); the number of frames written. `threads`:
    decoder and encoder threads (None: as many as FFmpeg and x264 find cores)."""
    with _open(in_path) as src, _open(out_path, "w") as out:
        stream = src.streams.video[0]
        options = dict(encoder or ENCODER)
        if threads:
            stream.codec_context.thread_count = threads
            options["threads"] = str(threads)
        else:
            stream.thread_type = "AUTO"
        width, height = stream.codec_context.width, stream.codec_context.height
        masks = MaskMaker(regions, width, height)
        enc = out.add_stream("libx264", rate=rate, options=options)
        enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
        enc.time_base = time_base
        enc.codec_context.time_base = time_base
        gop = max(1, round(float(rate) * 2))
        enc.codec_context.gop_size = gop
        window: deque = deque()  # (pts, planes, masks per plane)
        chroma: dict[int, tuple] = {}  # id(luma mask) -> (mask, its 4:2:0 chroma mask), one object each
        written, offset = 0, None

        def emit(i: int) -> None:
            nonlocal written
            pts, planes, pmasks = window[i]
            if pmasks is not None:
                neighbours = sorted((j for j in range(len(window)) if j != i), key=lambda j: abs(j - i))
                planes = [fill_plane(planes[p], pmasks[p],
                                     [(window[j][1][p], None if window[j][2] is None else window[j][2][p])
                                      for j in neighbours], temporal=temporal) for p in range(3)]
            frame = _frame(planes)
            frame.pts, frame.time_base = pts, time_base
            for packet in enc.encode(frame):
                out.mux(packet)
            written += 1

        pending = 0  # index in `window` of the next frame to emit
        for frame in src.decode(stream):
            rel = frame.pts if frame.pts is not None else written + len(window)
            if offset is None:
                offset = rel
            src_tb = stream.time_base
            pts = first_pts + round((rel - offset) * src_tb / time_base)
            t = float(pts * time_base)
            mask = masks.at(t)
            if mask is not None and id(mask) not in chroma:
                chroma[id(mask)] = (mask, chroma_mask(mask))  # the mask kept alive: its id stays its own
            pmasks = None if mask is None else [mask, chroma[id(mask)][1], chroma[id(mask)][1]]
            if frame.format.name != "yuv420p":
                frame = frame.reformat(format="yuv420p")
            window.append((pts, _planes(frame), pmasks))
            while pending < len(window) and len(window) - 1 - pending >= WINDOW:
                emit(pending)
                pending += 1
                if pending > WINDOW:
                    window.popleft()
                    pending -= 1
        while pending < len(window):
            emit(pending)
            pending += 1
        for packet in enc.encode(None):
            out.mux(packet)
        return written


def _video_packets(chunks: Sequence[dict], paths: Sequence[Path], src_tb: Fraction, ostream) -> Iterator:
    for chunk, path in zip(chunks, paths, strict=True):
        with _open(path) as container:
            stream = container.streams.video[0]
            packets = [p for p in container.demux(stream) if p.dts is not None]
            if not packets:
                continue
            first = min(p.pts for p in packets)
            ctb = stream.time_base
            offset = round(chunk["firstPts"] * src_tb / ctb) - first
            for packet in packets:
                packet.pts += offset
                packet.dts += offset
                packet.stream = ostream
                yield float(packet.dts * ctb), 1, packet


def _audio_packets(container, stream, ostream) -> Iterator:
    for packet in container.demux(stream):
        if packet.dts is None:
            continue
        packet.stream = ostream
        yield float(packet.dts * stream.time_base), 0, packet


def join(chunks: Sequence[dict], paths: Sequence[str | Path], source: str | Path,
         out_path: str | Path) -> None:
    """The cleaned chunks (stream copy) + the source's audio (stream copy) into `out_path`."""
    paths = [Path(p) for p in paths]
    with _open(source) as src, _open(paths[0]) as first, _open(out_path, "w") as out:
        src_tb = src.streams.video[0].time_base
        ovideo = out.add_stream_from_template(first.streams.video[0])
        feeds = [_video_packets(chunks, paths, src_tb, ovideo)]
        for audio in src.streams.audio[:1]:
            feeds.append(_audio_packets(src, audio, out.add_stream_from_template(audio)))
        for _, _, packet in heapq.merge(*feeds, key=lambda item: (item[0], item[1])):
            out.mux(packet)
