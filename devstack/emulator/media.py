"""Fetching and probing the inputs (for rendering and for cost estimates)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import av
import httpx

FETCH_CHUNK = 1 << 16


class RenderFailure(Exception):
    """The generation ends FAILED with this error_code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def fetch(http: httpx.Client, url: str, dest: Path, code: str, label: str) -> Path:
    where = urlsplit(url)._replace(query="", fragment="").geturl()  # never echo presigned query strings
    try:
        with http.stream("GET", url) as response:
            if response.status_code != 200:
                raise RenderFailure(
                    code, f"{label} input could not be fetched from {where}: HTTP {response.status_code}"
                )
            with open(dest, "wb") as sink:
                sink.writelines(response.iter_bytes(FETCH_CHUNK))
    except httpx.HTTPError as exc:
        raise RenderFailure(
            code, f"{label} input could not be fetched from {where}: {type(exc).__name__}"
        ) from exc
    return dest


def report_fetched(
    on_fetched: Callable[[dict[str, Any]], None] | None, item: dict[str, Any], path: Path
) -> None:
    if on_fetched is not None:
        digest = hashlib.sha256()
        with open(path, "rb") as source:
            for chunk in iter(lambda: source.read(FETCH_CHUNK), b""):
                digest.update(chunk)
        on_fetched(
            {
                "type": item["type"],
                "refId": item.get("refId"),
                "size": path.stat().st_size,
                "sha256": digest.hexdigest(),
            }
        )


def probe_video(path: Path) -> tuple[float, Fraction]:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise RenderFailure("generation_video_missing", "the video input has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            duration = _duration(container, stream)
    except av.FFmpegError as exc:
        raise RenderFailure("generation_video_missing", f"the video input cannot be decoded: {exc}") from exc
    if not duration:
        raise RenderFailure("generation_media_metadata_missing", "the video input has no duration")
    if not rate:
        raise RenderFailure("generation_media_metadata_missing", "the video input has no frame rate")
    return duration, Fraction(rate).limit_denominator(1001)


def probe_audio(path: Path) -> float:
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise RenderFailure("generation_audio_missing", "an audio input has no audio stream")
            duration = _duration(container, container.streams.audio[0])
    except av.FFmpegError as exc:
        raise RenderFailure("generation_audio_missing", f"an audio input cannot be decoded: {exc}") from exc
    if not duration:
        raise RenderFailure("generation_media_metadata_missing", "an audio input has no duration")
    return duration


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None
