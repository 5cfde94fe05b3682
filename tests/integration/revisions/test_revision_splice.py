"""A revision's media path (issue 17), with the emulator's real renderer standing in for Sync.so:
a 5-segment parent, then one segment revised with a new audio. The clip sent covers at most that
segment plus the margins; the spliced result has the parent's duration and frame count, the parent's
frames outside the range (PSNR >= 40 dB, identical where copied) and audio, the new tone inside."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from devstack.emulator.render import Placement, write_output
from devstack.media_samples import decode_audio_pcm, make_tone, make_video, tone_profile
from prosync.revisions import plan
from prosync.revisions.media import cut_clip, keyframes, splice

FPS, SECONDS = 25, 10.0
TONES = [440, 550, 660, 770, 880]
SEGMENTS = [(0.2, 1.8), (2.0, 3.6), (4.0, 5.6), (6.0, 7.6), (8.0, 9.6)]


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray") for f in c.decode(video=0)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def with_gop(src: Path, dst: Path, gop: int) -> Path:
    """`src` with its video re-encoded (ultrafast, a keyframe every `gop` frames), audio copied."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        v, a = inp.streams.video[0], inp.streams.audio[0]
        enc = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "20",
                                                            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"})
        enc.width, enc.height, enc.pix_fmt = v.codec_context.width, v.codec_context.height, "yuv420p"
        oa = out.add_stream_from_template(a)
        for packet in inp.demux(a):
            if packet.dts is not None:
                packet.stream = oa
                out.mux(packet)
        inp.seek(0)
        for i, frame in enumerate(inp.decode(v)):
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(enc.encode(frame))
        out.mux(enc.encode(None))
    return dst


@pytest.fixture(scope="module", params=["emulator-gop", "1s-gop"])
def parent(tmp_path_factory, request) -> dict:
    folder = tmp_path_factory.mktemp("revision")
    video = make_video(folder / "talk.mp4", SECONDS, fps=FPS, size=(160, 120))
    tones = [make_tone(folder / f"t{f}.wav", 1.6, f) for f in TONES]
    result = folder / "parent.mp4"
    write_output(video, Fraction(FPS), SECONDS, [Placement(s, e, t) for (s, e), t in zip(SEGMENTS, tones)], result)
    if request.param == "1s-gop":
        result = with_gop(result, folder / "parent-gop.mp4", FPS)
    segments = [{"startTime": s, "endTime": e, "audioInput": {"refId": f"a{i}"}} for i, (s, e) in enumerate(SEGMENTS)]
    return {"folder": folder, "result": result, "segments": segments,
            "new": make_tone(folder / "new.wav", 1.6, 1200)}


def revise(parent, max_margin=plan.MAX_MARGIN):
    folder = parent["folder"]
    revised = [dict(s) for s in parent["segments"]]
    revised[2] = {**revised[2], "audioInput": {"refId": "fresh"}}
    ranges = plan.changed_ranges(parent["segments"], revised)
    keys, duration = keyframes(parent["result"])
    pieces = plan.clip_pieces(ranges, keys, duration, max_margin=max_margin)
    clip = folder / f"clip-{max_margin}.mp4"
    clip_seconds = cut_clip(parent["result"], pieces, clip)
    (segment,) = plan.clip_segments(revised, ranges, pieces)
    generation = folder / f"generation-{max_margin}.mp4"  # the emulator renders the clip with the new audio
    write_output(clip, Fraction(FPS), clip_seconds,
                 [Placement(segment["startTime"], segment["endTime"], parent["new"])], generation)
    out = folder / f"revised-{max_margin}.mp4"
    stats = splice(parent["result"], generation, pieces, ranges, out)
    return {"ranges": ranges, "pieces": pieces, "clip": clip, "clipSeconds": clip_seconds, "out": out,
            "stats": stats, "generation": generation}


@pytest.mark.parametrize("max_margin", [plan.MAX_MARGIN, 100.0])  # re-encoded clip / keyframe-aligned copy
def test_one_segment_revision(parent, max_margin):
    r = revise(parent, max_margin)
    assert r["ranges"] == [(4.0, 5.6)]
    (piece,) = r["pieces"]
    with av.open(str(r["clip"])) as c:
        measured = float(c.duration / av.time_base)
    keys, _ = keyframes(parent["result"])
    margin = max(k for k in keys if k <= 4.0)
    if max_margin == plan.MAX_MARGIN and 4.0 - margin > max_margin:  # long GOP: 0.5 s lead, re-encoded
        assert not piece.copy and measured <= 1.6 + 2 * plan.LEAD + 0.1
    else:
        assert piece.copy and piece.start == margin and measured <= (5.6 - margin) + plan.LEAD + 0.1
    assert plan.saving(r["pieces"], SECONDS)["revisionSeconds"] == pytest.approx(piece.length)

    before, after = frames_of(parent["result"]), frames_of(r["out"])
    assert len(after) == len(before)
    with av.open(str(parent["result"])) as a, av.open(str(r["out"])) as b:
        assert abs(a.duration - b.duration) / av.time_base < 0.05
    stats, gop = r["stats"], keys[1] - keys[0] if len(keys) > 1 else SECONDS
    copied = [i for i in range(len(before)) if not any(k <= i / FPS < k + gop and k < 5.6 and 4.0 < k + gop
                                                       for k in keys)]
    worst = min(psnr(x, y) for i, (x, y) in enumerate(zip(before, after)) if not 4.0 <= i / FPS < 5.6)
    assert worst >= 40, worst
    assert all(np.array_equal(before[i], after[i]) for i in copied)  # stream-copied GOPs: identical
    assert stats["framesReplaced"] == round(1.6 * FPS)
    assert stats["gopsCopied"] == (len(keys) - 2 if len(keys) > 1 else 0), stats
    print(stats, "copied frames", len(copied), "worst PSNR outside", round(worst, 1))

    old, new = decode_audio_pcm(parent["result"]), decode_audio_pcm(r["out"])
    rate = 8000
    for (s, e), f in zip(SEGMENTS, TONES):
        if s == 4.0:
            level, freq = tone_profile(new, rate, s + 0.2, e - 0.2)
            assert level > 3000 and abs(freq - 1200) < 40, (level, freq)
        else:
            assert tone_profile(new, rate, s + 0.1, e - 0.1) == pytest.approx(tone_profile(old, rate, s + 0.1, e - 0.1), rel=0.02)


def test_two_ranges_in_one_clip(parent):
    """Two segments revised: one clip holds both pieces end to end, one generation renders it."""
    folder = parent["folder"]
    revised = [dict(s) for s in parent["segments"]]
    for i in (1, 3):
        revised[i] = {**revised[i], "audioInput": {"refId": "fresh"}}
    ranges = plan.changed_ranges(parent["segments"], revised)
    assert ranges == [(2.0, 3.6), (6.0, 7.6)]
    keys, duration = keyframes(parent["result"])
    pieces = plan.clip_pieces(ranges, keys, duration)
    clip = folder / "clip-two.mp4"
    clip_seconds = cut_clip(parent["result"], pieces, clip)
    assert clip_seconds == pytest.approx(sum(p.length for p in pieces), abs=0.05)
    segments = plan.clip_segments(revised, ranges, pieces)
    generation = folder / "generation-two.mp4"
    write_output(clip, Fraction(FPS), clip_seconds,
                 [Placement(s["startTime"], s["endTime"], parent["new"]) for s in segments], generation)
    out = folder / "revised-two.mp4"
    stats = splice(parent["result"], generation, pieces, ranges, out)
    assert stats["framesReplaced"] == 2 * round(1.6 * FPS)
    before, after = frames_of(parent["result"]), frames_of(out)
    assert len(after) == len(before)
    inside = lambda t: any(a <= t < b for a, b in ranges)  # noqa: E731
    assert min(psnr(x, y) for i, (x, y) in enumerate(zip(before, after)) if not inside(i / FPS)) >= 40
    old, new = decode_audio_pcm(parent["result"]), decode_audio_pcm(out)
    for (s, e), f in zip(SEGMENTS, TONES):
        level, freq = tone_profile(new, 8000, s + 0.2, e - 0.2)
        if (s, e) in ranges:
            assert level > 3000 and abs(freq - 1200) < 40, (s, level, freq)
        else:
            assert (level, freq) == pytest.approx(tone_profile(old, 8000, s + 0.2, e - 0.2), rel=0.02)
