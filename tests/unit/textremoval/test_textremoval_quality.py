"""Text removal on synthetic video with a known clean background (tests/support/textremoval_video.py):
PSNR in the text regions against the clean background beats a Gaussian blur of the same regions by
>= 3 dB; outside them frames are the input's within codec noise (>= 40 dB); audio bit-identical;
frame count and duration unchanged; `auto` finds the caption (IoU >= 0.5)."""

from fractions import Fraction

import numpy as np
import pytest

from prosync.textremoval import video
from prosync.textremoval.regions import MaskMaker, Region, iou
from tests.support.textremoval_video import H, W, decode_bgr, make_sample, psnr


def _clean(tmp_path, sample, regions, chunk_seconds=0.9, temporal=True):
    info = video.describe(sample.path)
    chunks = video.cut(sample.path, tmp_path / "in", chunk_seconds)
    outs = []
    for chunk in chunks:
        out = tmp_path / f"out-{chunk['index']}.mp4"
        frames = video.clean_chunk(tmp_path / "in" / chunk["file"], out, regions, first_pts=chunk["firstPts"],
                                   time_base=Fraction(*info["timeBase"]), rate=Fraction(*info["rate"]),
                                   temporal=temporal)
        assert frames == chunk["frames"]
        outs.append(out)
    result = tmp_path / "clean.mp4"
    video.join(chunks, outs, sample.path, result)
    return info, chunks, result


def _region(box, start=None, end=None):
    x0, y0, x1, y1 = box
    return Region(x0 / W, y0 / H, (x1 - x0) / W, (y1 - y0) / H, start, end)


def _audio_packets(path):
    import av

    with av.open(str(path)) as c:
        return [(p.pts, bytes(p)) for p in c.demux(c.streams.audio[0]) if p.size]


def _scores(sample, result, regions, frames):
    source, cleaned = decode_bgr(sample.path), decode_bgr(result)
    import cv2

    masks = MaskMaker(regions, W, H)
    inside, blurred, outside = [], [], []
    for i in frames:
        mask = masks.at(i / 25)
        sigma = max(2.0, (mask.any(axis=1).sum()) / 4)
        blur = cv2.GaussianBlur(source[i], (0, 0), sigma)
        inside.append(psnr(cleaned[i][mask], sample.clean[i][mask]))
        blurred.append(psnr(blur[mask], sample.clean[i][mask]))
        outside.append(psnr(cleaned[i][~mask], source[i][~mask]))
    return float(np.mean(inside)), float(np.mean(blurred)), min(outside), len(source), len(cleaned)


@pytest.fixture(scope="module")
def caption_all_along(tmp_path_factory):
    return make_sample(tmp_path_factory.mktemp("tr") / "in.mp4")


def test_a_caption_all_along_is_inpainted_and_the_rest_kept(tmp_path, caption_all_along, record_property):
    sample = caption_all_along
    regions = [_region(sample.caption_box)]
    info, chunks, result = _clean(tmp_path, sample, regions)
    assert len(chunks) == 3
    inside, blurred, outside, n_in, n_out = _scores(sample, result, regions, sample.caption_frames)
    record_property("psnr_inpainted", inside)
    record_property("psnr_blur", blurred)
    record_property("psnr_outside", outside)
    print(f"caption all along: inpainted {inside:.1f} dB, blur {blurred:.1f} dB, outside {outside:.1f} dB")
    assert inside >= blurred + 3
    assert outside >= 40
    out = video.describe(result)
    assert (n_in, n_out) == (info["frames"], out["frames"]) and n_out == 60
    assert out["duration"] == pytest.approx(info["duration"], abs=0.02)
    assert _audio_packets(result) == _audio_packets(sample.path)


def test_a_caption_for_a_while_is_filled_from_neighbouring_frames(tmp_path, record_property):
    sample = make_sample(tmp_path / "in.mp4", caption_from=0.8, caption_to=1.6)
    regions = [_region(sample.caption_box, 0.8, 1.56)]
    _, _, result = _clean(tmp_path / "t", sample, regions, chunk_seconds=5)
    temporal = _scores(sample, result, regions, sample.caption_frames)
    _, _, spatial_result = _clean(tmp_path / "s", sample, regions, chunk_seconds=5, temporal=False)
    spatial = _scores(sample, spatial_result, regions, sample.caption_frames)
    record_property("psnr_temporal", temporal[0])
    record_property("psnr_spatial_only", spatial[0])
    print(f"caption 0.8-1.6 s: temporal {temporal[0]:.1f} dB, spatial only {spatial[0]:.1f} dB, "
          f"blur {temporal[1]:.1f} dB")
    assert temporal[0] >= temporal[1] + 3
    assert temporal[0] >= spatial[0]
    assert temporal[2] >= 40
    # frames without the caption are only re-encoded
    untouched = [i for i in range(60) if i not in sample.caption_frames]
    source, cleaned = decode_bgr(sample.path), decode_bgr(result)
    assert min(psnr(cleaned[i], source[i]) for i in untouched) >= 40


def test_auto_finds_the_burnt_in_caption(caption_all_along, record_property):
    from prosync.textremoval.detect import detect_regions

    sample = caption_all_along
    regions = detect_regions(sample.path, sample_seconds=0.4)
    assert regions, "no text found"
    best = max(regions, key=lambda r: iou(r.pixels(W, H), sample.caption_box))
    score = iou(best.pixels(W, H), sample.caption_box)
    record_property("auto_iou", score)
    print(f"auto: {len(regions)} region(s), best IoU {score:.2f}, {best}")
    assert score >= 0.5
    assert best.start == 0 and best.end >= 2.0
