"""A revision's audio (issue 17): the parent's AAC packets, except those starting inside a changed
range, replaced by the generation's audio of that range encoded at the parent's rate and layout and put
on the parent's packet times (so the track keeps its length and packet grid; `media.splice` muxes it)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from prosync.revisions.plan import to_clip_time


def _open(path, mode="r"):
    import av

    return av.open(str(path), mode=mode)


def spliced_audio(parent: str | Path, generation: str | Path, pieces, ranges, oaudio) -> list:
    """The parent's audio packets, those starting inside a range replaced by the generation's."""
    import av

    with _open(parent) as src:
        audio = src.streams.audio[0]
        tb = audio.time_base
        packets = [p for p in src.demux(audio) if p.pts is not None]
    replaced: dict[int, list] = {}
    for a, b in ranges:
        slots = [i for i, p in enumerate(packets) if a - 1e-6 <= float(p.pts * tb) < b - 1e-6]
        if slots:
            replaced.update(zip(slots, _encoded(generation, audio, to_clip_time(float(packets[slots[0]].pts * tb), pieces),
                                                len(slots)), strict=True))
    out = []
    for i, packet in enumerate(packets):
        if i in replaced:
            new = av.Packet(bytes(replaced[i]))
            new.pts, new.dts, new.duration, new.time_base = packet.pts, packet.dts, packet.duration, tb
            packet = new
        packet.stream = oaudio
        out.append(packet)
    return out


def _encoded(generation, audio, clip_start: float, count: int) -> list:
    """`count` AAC packets of the generation's audio from `clip_start`, at the parent's format."""
    import av

    ctx = audio.codec_context
    frame_size = ctx.frame_size or 1024
    enc = av.CodecContext.create("aac", "w")
    enc.sample_rate, enc.layout, enc.format = ctx.sample_rate, ctx.layout.name, "fltp"
    enc.bit_rate = ctx.bit_rate or 128000
    enc.time_base = Fraction(1, ctx.sample_rate)
    enc.open()
    priming = frame_size  # FFmpeg's AAC encoder delay: its first packet is this much before the audio
    wanted = (count + 2) * frame_size
    skip = max(0, round(clip_start * ctx.sample_rate) - priming)
    resampler = av.AudioResampler(format="fltp", layout=ctx.layout.name, rate=ctx.sample_rate)
    fifo = av.AudioFifo()
    with _open(generation) as gen:
        frames = gen.decode(gen.streams.audio[0]) if gen.streams.audio else iter(())
        _fill(frames, resampler, fifo, skip, wanted)
    packets = []
    written = 0
    while len(packets) < count + 2:
        frame = fifo.read(frame_size) if fifo.samples >= frame_size else None
        if frame is None:  # the generation's audio ran out: silence
            frame = av.AudioFrame(format="fltp", layout=ctx.layout.name, samples=frame_size)
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts, frame.time_base = ctx.sample_rate, written, enc.time_base
        written += frame_size
        packets += enc.encode(frame)
    return packets[:count]


def _fill(frames, resampler, fifo, skip: int, wanted: int) -> None:
    """`wanted` samples of `frames` after the first `skip`, resampled, into `fifo`."""
    position = 0
    for frame in frames:
        for converted in resampler.resample(frame):
            if position + converted.samples <= skip:
                position += converted.samples
                continue
            converted.pts = None
            fifo.write(converted)
            position += converted.samples
        if fifo.samples >= wanted + 8192:
            break
    if fifo.samples and position - fifo.samples < skip:
        fifo.read(min(fifo.samples, skip - (position - fifo.samples)))
