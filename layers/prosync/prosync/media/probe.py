"""Media probing with PyAV: container format, duration and which streams a file has.

`probe_object` reads an S3 object through `S3RangeReader`, so only the bytes the demuxer asks for
are fetched (the header, and for some formats the tail): a few hundred KB, whatever the file size.
Anything FFmpeg cannot read raises `MediaUnreadable` (the caller names the file in its error). An
object that changed while it was read raises `ObjectChanged`, and an S3 failure its botocore error:
neither is the file's fault, so neither becomes `MediaUnreadable`.
"""

from dataclasses import dataclass

from prosync.storage.range_reader import FetchBudgetExceeded, S3RangeReader

# Enough for FFmpeg to find the streams of any file we accept, small enough to stay cheap.
_CONTAINER_OPTIONS = {"probesize": str(2 * 1024 * 1024), "analyzeduration": str(3_000_000)}


class MediaUnreadable(ValueError):
    """The bytes are not a media file FFmpeg can read (corrupt, truncated, or not media at all)."""


@dataclass(frozen=True)
class MediaInfo:
    format_name: str  # FFmpeg's demuxer names, comma-separated ("mov,mp4,m4a,3gp,3g2,mj2")
    duration: float | None  # seconds
    has_video: bool
    has_audio: bool
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None  # the video stream's average frame rate (frames per second)
    bytes_read: int = 0  # what reading it cost (ranged reads)


def probe(fileobj, *, bytes_read=lambda: 0) -> MediaInfo:
    """Open a seekable binary file object with PyAV and describe it."""
    import av  # imported on first use: a cold start that never probes does not pay for it

    try:
        with av.open(fileobj, mode="r", container_options=_CONTAINER_OPTIONS) as container:
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            return MediaInfo(
                format_name=container.format.name,
                duration=_duration(container),
                has_video=video is not None,
                has_audio=audio is not None,
                video_codec=video.codec_context.name if video else None,
                audio_codec=audio.codec_context.name if audio else None,
                width=video.codec_context.width if video else None,
                height=video.codec_context.height if video else None,
                frame_rate=_frame_rate(video),
                bytes_read=bytes_read(),
            )
    except FetchBudgetExceeded as exc:
        raise MediaUnreadable(f"not readable within the probe's budget ({exc})") from exc
    except (av.FFmpegError, OSError, EOFError, ValueError, IndexError) as exc:
        raise MediaUnreadable(f"not a readable media file ({type(exc).__name__}: {exc})") from exc


def probe_object(bucket: str, key: str, size: int | None = None, *, etag: str | None = None,
                 version_id: str | None = None, max_fetch_bytes: int = 64 * 1024 * 1024,
                 s3=None) -> MediaInfo:
    """Probe an S3 object with ranged reads (at most `max_fetch_bytes` fetched). With `version_id`,
    that version is read whatever is uploaded meanwhile; with `etag`, only an object with that ETag is
    read (`ObjectChanged` otherwise: what pins it in a bucket without versioning)."""
    reader = S3RangeReader(bucket, key, size, max_fetch_bytes=max_fetch_bytes, s3=s3, etag=etag,
                           version_id=version_id)
    try:
        info = probe(reader, bytes_read=lambda: reader.bytes_fetched)
    except MediaUnreadable as exc:
        if reader.failure is not None:  # a failed GET, not the bytes, made it unreadable
            raise reader.failure from exc
        raise
    if reader.failure is not None:  # FFmpeg carried on past a failed read: its answer is not sound
        raise reader.failure
    return info


def _duration(container) -> float | None:
    """The container's duration, else the longest stream's (None when neither is known)."""
    import av

    if container.duration:
        return container.duration / av.time_base
    durations = [float(s.duration * s.time_base) for s in container.streams if s.duration and s.time_base]
    return max(durations) if durations else None


def _frame_rate(video) -> float | None:
    """The video stream's average (else guessed) frame rate, None when FFmpeg knows neither."""
    rate = (video.average_rate or video.guessed_rate) if video is not None else None
    return float(rate) if rate else None
