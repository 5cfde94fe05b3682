"""The emulated model: fetch the inputs by URL and write a real MP4 with PyAV.

Output = the input video's frames re-encoded (H.264, yuv420p, even size, same frame rate) plus one AAC
mono track where each segment's audio (cropped by audioInput.startTime/endTime when given) starts at
the segment's startTime and stops at its endTime (cut off when longer, silence after when shorter),
with silence outside every segment; the video's own sound is dropped. Output duration = input video
duration. Without segments, the single audio plays from 0. No lips move: this stands in for the model.
Memory stays flat: frames and audio are streamed, never held whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx

from .media import RenderFailure, fetch, probe_audio, probe_video, report_fetched

__all__ = ["RenderFailure", "fetch", "probe_audio", "probe_video", "render_generation"]

SAMPLE_RATE = 44100
AAC_FRAME = 1024
MAX_SEGMENT_AUDIO_SECONDS = 300.0
FETCH_SHARE = 0.3  # of the progress: fetching the inputs; the rest is encoding the frames


@dataclass
class Placement:
    """One audio placed on the video timeline [start, end), read from ``crop_start`` in its file."""

    start: float
    end: float
    path: Path
    crop_start: float = 0.0
    crop_end: float | None = None


def render_generation(
    inputs: list[dict[str, Any]],
    segments: list[dict[str, Any]] | None,
    workdir: Path,
    output: Path,
    http: httpx.Client,
    on_fetched: Callable[[dict[str, Any]], None] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> float:
    """Fetch, check and render; returns the output duration. Raises RenderFailure. `on_fetched` gets
    `{type, refId, size, sha256}` of each input once fetched (the emulator's stats); `on_progress` the
    share of the work done (0..1): fetching is the first FETCH_SHARE, encoding frames the rest."""
    progress = on_progress or (lambda fraction: None)
    video_item = next(item for item in inputs if item["type"] == "video")
    audio_items = [item for item in inputs if item["type"] != "video"]
    if any(item["type"] == "text" for item in audio_items):
        raise RenderFailure("generation_pipeline_failed", "text-to-speech inputs are not emulated")
    video_path = fetch(http, video_item["url"], workdir / "video", "generation_video_missing", "video")
    report_fetched(on_fetched, video_item, video_path)
    progress(FETCH_SHARE / (1 + len(audio_items)))
    duration, rate = probe_video(video_path)
    audio_paths: dict[str | None, Path] = {}
    audio_durations: dict[str | None, float] = {}
    for index, item in enumerate(audio_items):
        path = fetch(http, item["url"], workdir / f"audio{index}", "generation_audio_missing", "audio")
        report_fetched(on_fetched, item, path)
        audio_paths[item.get("refId")] = path
        audio_durations[item.get("refId")] = probe_audio(path)
        progress(FETCH_SHARE * (index + 2) / (1 + len(audio_items)))
    if not segments:
        segments = [
            {"startTime": 0.0, "endTime": duration, "audioInput": {"refId": audio_items[0].get("refId")}}
        ]
    placements = plan_placements(segments, audio_paths, audio_durations, duration)
    write_output(
        video_path,
        rate,
        duration,
        placements,
        output,
        lambda f: progress(FETCH_SHARE + (1 - FETCH_SHARE) * f),
    )
    return round(duration, 3)


def plan_placements(
    segments: list[dict[str, Any]], paths: dict, durations: dict, video_duration: float
) -> list[Placement]:
    """Segments in time order, clipped to the video; an overlapping later one starts where the
    earlier one ends."""
    placements: list[Placement] = []
    cursor = 0.0
    for index, segment in sorted(enumerate(segments), key=lambda pair: pair[1]["startTime"]):
        audio = segment["audioInput"]
        crop_start, crop_end = audio.get("startTime"), audio.get("endTime")
        spoken = (crop_end - crop_start) if crop_start is not None else durations[audio["refId"]]
        if spoken > MAX_SEGMENT_AUDIO_SECONDS:
            raise RenderFailure(
                "generation_audio_length_exceeded",
                f"segments[{index}] uses {spoken:.1f} s of audio;"
                f" the limit is {MAX_SEGMENT_AUDIO_SECONDS:g} s per segment",
            )
        start = max(cursor, float(segment["startTime"]))
        end = min(float(segment["endTime"]), video_duration)
        if end <= start:
            continue
        placements.append(Placement(start, end, paths[audio["refId"]], float(crop_start or 0.0), crop_end))
        cursor = end
    return placements


def write_output(
    video_path: Path,
    rate: Fraction,
    duration: float,
    placements: list[Placement],
    output: Path,
    on_progress: Callable[[float], None] | None = None,
) -> None:
    total_samples = round(duration * SAMPLE_RATE)
    try:
        with av.open(str(video_path)) as source, av.open(str(output), "w", format="mp4") as out:
            video_in = source.streams.video[0]
            video_in.thread_type = "AUTO"
            video_out = out.add_stream("libx264", rate=rate)
            video_out.width = max(2, video_in.codec_context.width // 2 * 2)
            video_out.height = max(2, video_in.codec_context.height // 2 * 2)
            video_out.pix_fmt = "yuv420p"
            video_out.options = {"preset": "ultrafast", "crf": "26"}
            audio_out = out.add_stream("aac", rate=SAMPLE_RATE)
            audio_out.layout = "mono"
            audio_out.bit_rate = 96000
            audio = _AudioWriter(out, audio_out, audio_timeline(placements, total_samples))
            first_time, last_pts = None, -1
            for index, frame in enumerate(source.decode(video_in)):
                time = frame.time if frame.time is not None else index / rate
                first_time = time if first_time is None else first_time
                pts = round((time - first_time) * rate)
                if pts <= last_pts or pts / rate >= duration:
                    continue
                last_pts = pts
                image = frame.reformat(width=video_out.width, height=video_out.height, format="yuv420p")
                image.pts, image.time_base = pts, 1 / rate
                audio.write_until(min(total_samples, round((pts + 1) / rate * SAMPLE_RATE)))
                out.mux(video_out.encode(image))
                if on_progress is not None:
                    on_progress(min(1.0, float((pts + 1) / rate) / duration))
            out.mux(video_out.encode(None))
            audio.write_until(total_samples)
            audio.flush()
    except av.FFmpegError as exc:
        raise RenderFailure("generation_pipeline_failed", f"the output could not be encoded: {exc}") from exc


def audio_timeline(placements: list[Placement], total_samples: int) -> Iterator[bytes]:
    """s16 mono PCM at SAMPLE_RATE for the whole output, segment audio placed, silence elsewhere."""
    position = 0
    for placement in placements:
        start = round(placement.start * SAMPLE_RATE)
        end = min(round(placement.end * SAMPLE_RATE), total_samples)
        if start > position:
            yield from _silence(start - position)
            position = start
        wanted = end - position
        if placement.crop_end is not None:
            wanted = min(wanted, round((placement.crop_end - placement.crop_start) * SAMPLE_RATE))
        taken = 0
        for chunk in decode_pcm(placement.path, round(placement.crop_start * SAMPLE_RATE)):
            take = min(len(chunk) // 2, wanted - taken)
            if take <= 0:
                break
            yield chunk[: take * 2]
            taken += take
        position += taken
        if end > position:
            yield from _silence(end - position)
            position = end
    if total_samples > position:
        yield from _silence(total_samples - position)


def decode_pcm(path: Path, skip_samples: int) -> Iterator[bytes]:
    """The file's first audio stream as s16 mono PCM at SAMPLE_RATE, from sample ``skip_samples``."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    to_skip = skip_samples * 2
    try:
        with av.open(str(path)) as container:
            for frame in itertools.chain(container.decode(audio=0), [None]):  # None flushes the resampler
                for converted in resampler.resample(frame):
                    data = bytes(converted.planes[0])[: converted.samples * 2]
                    if to_skip >= len(data):
                        to_skip -= len(data)
                        continue
                    yield data[to_skip:]
                    to_skip = 0
    except av.FFmpegError as exc:
        raise RenderFailure("generation_audio_missing", f"an audio input cannot be decoded: {exc}") from exc


class _AudioWriter:
    """Feeds the PCM timeline to the AAC encoder in frame-size pieces, interleaved with the video."""

    def __init__(self, out: Any, stream: Any, pcm: Iterator[bytes]) -> None:
        self.out, self.stream, self.pcm = out, stream, pcm
        self.buffer = bytearray()
        self.written = 0
        self.resampler = av.AudioResampler(
            format=stream.codec_context.format.name, layout="mono", rate=SAMPLE_RATE
        )

    def write_until(self, sample: int) -> None:
        while self.written < sample:
            while len(self.buffer) < AAC_FRAME * 2:
                chunk = next(self.pcm, None)
                if chunk is None:
                    break
                self.buffer += chunk
            count = min(AAC_FRAME, len(self.buffer) // 2)
            if count == 0:
                return
            frame = av.AudioFrame(format="s16", layout="mono", samples=count)
            frame.planes[0].update(bytes(self.buffer[: count * 2]).ljust(frame.planes[0].buffer_size, b"\0"))
            del self.buffer[: count * 2]
            frame.sample_rate, frame.pts = SAMPLE_RATE, self.written
            self.written += count
            for converted in self.resampler.resample(frame):
                self.out.mux(self.stream.encode(converted))

    def flush(self) -> None:
        for converted in self.resampler.resample(None):
            self.out.mux(self.stream.encode(converted))
        self.out.mux(self.stream.encode(None))


def _silence(samples: int) -> Iterator[bytes]:
    block = bytes(8192)
    while samples > 0:
        take = min(samples, len(block) // 2)
        yield block[: take * 2]
        samples -= take
