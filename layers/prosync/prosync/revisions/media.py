"""The video work of a revision, with PyAV: the parent's keyframes, the clip Sync.so gets, the splice.

`cut_clip`: the pieces of `plan.clip_pieces` laid end to end in one MP4 (video only; Sync.so lays the
segments' audio itself): when every piece starts on a keyframe, the parent's packets are copied with
their timestamps moved (nothing decoded); otherwise the pieces' frames are re-encoded (CLIP_ENCODER).

`splice`: the revised result = the parent's result with the changed ranges taken from the generation.
Video: every GOP of the parent that overlaps no changed range is copied packet by packet; a GOP that
overlaps one is decoded, its frames inside the ranges replaced by the generation's frame shown at the
same moment (clip time), and re-encoded (libx264, SPLICE_ENCODER, no B-frames, starting on a keyframe)
at the parent's timestamps, so frame count and duration are the parent's. The re-encoded GOPs carry
their own parameter sets in-band, and the first copied keyframe after them gets the parent's again
(from its avcC), so each part decodes with its own. Audio: the parent's AAC packets are copied, except
those starting inside a changed range, which are replaced by the generation's audio of that range
encoded at the parent's rate and layout and put on the parent's packet times. A parent with B-frames
(dts != pts) or another codec than H.264 is refused (`SpliceUnsupported`): nothing half-spliced.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

from prosync.revisions.audio import spliced_audio
from prosync.revisions.plan import Piece, to_clip_time

CLIP_ENCODER = {"crf": "14", "preset": "veryfast", "x264-params": "bframes=0"}
SPLICE_ENCODER = {"crf": "12", "preset": "veryfast", "x264-params": "bframes=0:scenecut=0:repeat-headers=1"}


class SpliceUnsupported(ValueError):
    """The parent's result cannot be spliced without re-encoding it whole."""


def _open(path, mode="r", **kw):
    import av

    return av.open(str(path), mode=mode, **kw)


def keyframes(path: str | Path) -> tuple[list[float], float]:
    """The times of the video's keyframes and its duration (seconds)."""
    with _open(path) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        times, last = [], 0.0
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            if packet.is_keyframe:
                times.append(float(packet.pts * tb))
            last = max(last, float((packet.pts + (packet.duration or 0)) * tb))
        return sorted(times), last


def _frames(container, stream) -> Iterator:
    for frame in container.decode(stream):
        yield frame


def cut_clip(parent: str | Path, pieces: Sequence[Piece], out_path: str | Path) -> float:
    """Write the clip; its duration (seconds)."""
    with _open(parent) as src, _open(out_path, "w", format="mp4") as out:
        stream = src.streams.video[0]
        tb = stream.time_base
        if all(p.copy for p in pieces):
            ostream = out.add_stream_from_template(stream)
            for packet in src.demux(stream):
                if packet.pts is None:
                    continue
                t = float(packet.pts * tb)
                piece = next((p for p in pieces if p.start - 1e-6 <= t < p.end - 1e-6), None)
                if piece is None:
                    continue
                shift = round((piece.clip_start - piece.start) / tb)
                packet.pts += shift
                packet.dts = (packet.dts if packet.dts is not None else packet.pts - shift) + shift
                packet.stream = ostream
                out.mux(packet)
            return sum(p.length for p in pieces)
        rate = stream.average_rate or Fraction(25)
        enc = out.add_stream("libx264", rate=rate, options=dict(CLIP_ENCODER))
        enc.width, enc.height, enc.pix_fmt = stream.codec_context.width, stream.codec_context.height, "yuv420p"
        written = 0
        for piece in pieces:  # from the keyframe before each piece: only what it needs is decoded
            src.seek(int(piece.start / tb), stream=stream, backward=True)
            for frame in _frames(src, stream):
                t = float(frame.pts * tb)
                if t >= piece.end - 1e-6:
                    break
                if t < piece.start - 1e-6:
                    continue
                image = frame.reformat(format="yuv420p")
                image.pts, image.time_base = written, 1 / rate
                out.mux(enc.encode(image))
                written += 1
        out.mux(enc.encode(None))
        return written / float(rate)


# -- splice ------------------------------------------------------------------------------------------

def _nal_units(data: bytes) -> list[bytes]:
    """NAL units of an Annex B buffer (3- or 4-byte start codes)."""
    units, i, n = [], 0, len(data)
    starts = []
    while i < n - 2:
        if data[i] == 0 and data[i + 1] == 0 and data[i + 2] == 1:
            starts.append(i + 3)
            i += 3
        else:
            i += 1
    for k, start in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else n
        unit = data[start:end]
        while k + 1 < len(starts) and unit.endswith(b"\0"):
            unit = unit[:-1]
        units.append(unit)
    return units


def _length_prefixed(units: Sequence[bytes], size: int) -> bytes:
    return b"".join(len(u).to_bytes(size, "big") + u for u in units)


def _avcc_parameter_sets(extradata: bytes) -> tuple[int, list[bytes]]:
    """(NAL length size, [SPS..., PPS...]) of an avcC record."""
    if not extradata or extradata[0] != 1:
        raise SpliceUnsupported("the parent's H.264 stream has no avcC record")
    size = (extradata[4] & 3) + 1
    units, i = [], 6
    for count_at_end in (False, True):
        count = extradata[5] & 0x1F if not count_at_end else extradata[i]
        i += 1 if count_at_end else 0
        for _ in range(count):
            length = int.from_bytes(extradata[i:i + 2], "big")
            units.append(bytes(extradata[i + 2:i + 2 + length]))
            i += 2 + length
    return size, units


def _gops(packets) -> Iterator[list]:
    """The packets grouped by GOP (a keyframe and what follows it), one GOP in memory at a time."""
    gop: list = []
    for packet in packets:
        if packet.pts is None:
            continue
        if packet.dts is not None and packet.dts != packet.pts:
            raise SpliceUnsupported("the parent's video has B-frames")
        if packet.is_keyframe and gop:
            yield gop
            gop = []
        gop.append(packet)
    if gop:
        yield gop


def _inside(t: float, ranges: Sequence[tuple[float, float]]) -> bool:
    return any(a - 1e-6 <= t < b - 1e-6 for a, b in ranges)


class _Generation:
    """The generation's frames in order, asked for by clip time (each at most once, forwards)."""

    def __init__(self, container, width: int, height: int):
        self.stream = container.streams.video[0]
        self.frames = container.decode(self.stream)
        self.width, self.height = width, height
        self.current = self.upcoming = None

    def at(self, t: float):
        if self.upcoming is None:
            self.upcoming = next(self.frames, None)
        while self.upcoming is not None and float(self.upcoming.pts * self.stream.time_base) <= t + 1e-4:
            self.current, self.upcoming = self.upcoming, next(self.frames, None)
        frame = self.current or self.upcoming
        if frame is None:
            raise SpliceUnsupported("the generation has no video frames")
        return frame.reformat(width=self.width, height=self.height, format="yuv420p")


def splice(parent: str | Path, generation: str | Path, pieces: Sequence[Piece],
           ranges: Sequence[tuple[float, float]], out_path: str | Path) -> dict:
    """Write the revised result; what was copied and re-encoded (frames, GOPs)."""
    import av

    with _open(parent) as src, _open(generation) as gen, _open(out_path, "w", format="mp4") as out:
        video = src.streams.video[0]
        if video.codec_context.name != "h264":
            raise SpliceUnsupported(f"the parent's video is {video.codec_context.name}, not H.264")
        tb, ctx = video.time_base, video.codec_context
        size, parent_sets = _avcc_parameter_sets(bytes(ctx.extradata or b""))
        audio = src.streams.audio[0] if src.streams.audio else None
        ovideo = out.add_stream_from_template(video)
        oaudio = out.add_stream_from_template(audio) if audio is not None else None
        source = _Generation(gen, ctx.width, ctx.height)
        stats = {"gopsCopied": 0, "gopsEncoded": 0, "framesReplaced": 0, "frames": 0}
        sounds = spliced_audio(parent, generation, pieces, ranges, oaudio) if oaudio is not None else []
        after_encoded = False
        for gop in _gops(src.demux(video)):
            stats["frames"] += len(gop)
            muxed: list = []
            start = float(gop[0].pts * tb)
            while sounds and float(sounds[0].dts * sounds[0].time_base) < start:  # audio up to this GOP
                out.mux(sounds.pop(0))
            end = float((gop[-1].pts + (gop[-1].duration or 0)) * tb)
            touched = any(a < end and float(gop[0].pts * tb) < b for a, b in ranges)
            if not touched:
                first = gop[0]
                if after_encoded:  # the parent's parameter sets again, in-band
                    first = av.Packet(_length_prefixed(parent_sets, size) + bytes(gop[0]))
                    first.pts, first.dts, first.duration = gop[0].pts, gop[0].dts, gop[0].duration
                    first.time_base, first.is_keyframe = tb, True
                for packet in [first, *gop[1:]]:
                    packet.stream = ovideo
                    out.mux(packet)
                stats["gopsCopied"] += 1
                after_encoded = False
                continue
            stats["gopsEncoded"] += 1
            after_encoded = True
            decoder = av.CodecContext.create(ctx.name, "r")
            decoder.extradata = ctx.extradata
            frames = []
            for packet in gop:
                frames += decoder.decode(packet)
            frames += decoder.decode(None)
            enc = av.CodecContext.create("libx264", "w")
            enc.width, enc.height, enc.pix_fmt = ctx.width, ctx.height, "yuv420p"
            enc.time_base, enc.framerate = tb, video.average_rate or Fraction(25)
            enc.options = dict(SPLICE_ENCODER, keyint=str(len(gop) + 1))
            for frame in sorted(frames, key=lambda f: f.pts):
                t = float(frame.pts * tb)
                if _inside(t, ranges):
                    image = source.at(to_clip_time(t, pieces))
                    stats["framesReplaced"] += 1
                else:
                    image = frame.reformat(format="yuv420p")
                image.pts, image.time_base = frame.pts, tb
                muxed += _annexb_to_mp4(enc.encode(image), size, ovideo, tb)
            muxed += _annexb_to_mp4(enc.encode(None), size, ovideo, tb)
            for packet in sorted(muxed, key=lambda p: p.dts):
                out.mux(packet)
        for packet in sounds:
            out.mux(packet)
        return stats


def _annexb_to_mp4(packets, size: int, stream, tb) -> list:
    import av

    out = []
    for packet in packets:
        converted = av.Packet(_length_prefixed(_nal_units(bytes(packet)), size))
        converted.pts, converted.dts, converted.duration = packet.pts, packet.dts, packet.duration
        converted.time_base, converted.is_keyframe = tb, packet.is_keyframe
        converted.stream = stream
        out.append(converted)
    return out
