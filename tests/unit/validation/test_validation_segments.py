"""Segment rules of DESIGN §3: count, times, overlap, refIds, crops, every audio used, speech length."""

from hypothesis import given
from hypothesis import strategies as st

from prosync import validation as v
from tests.unit.validation.vtools import ENTERPRISE, PRO, fails, locs, req, seg


def test_at_least_one_segment():
    error = fails(v.check_segment_count, [], PRO.max_segments)
    assert locs(error) == [["body", "segments"]]


def test_max_segments_comes_from_the_tier():
    assert fails(v.check_segment_count, [seg(i, i + 1) for i in range(6)], PRO.max_segments).details
    v.check_segment_count([seg(i, i + 1) for i in range(5)], PRO.max_segments)
    v.check_segment_count([seg(i, i + 1) for i in range(10)], ENTERPRISE.max_segments)
    error = fails(v.check_segment_count, [seg(i, i + 1) for i in range(11)], ENTERPRISE.max_segments)
    assert locs(error) == [["body", "segments"]] and "at most 10" in error.message


def test_start_must_not_be_negative():
    error = fails(v.check_segment_times, [seg(0, 1), seg(-0.5, 0)])
    assert locs(error) == [["body", "segments", 1, "startTime"]]


def test_end_must_be_after_start():
    error = fails(v.check_segment_times, [seg(2, 2), seg(3, 1)])
    assert locs(error) == [["body", "segments", 0, "endTime"], ["body", "segments", 1, "endTime"]]


def test_times_must_be_finite():
    segment = seg(0, 1).model_copy(update={"end_time": float("inf")})
    assert locs(fails(v.check_segment_times, [segment])) == [["body", "segments", 0]]


def test_overlapping_segments_are_refused_whatever_the_order():
    error = fails(v.check_no_overlap, [seg(5, 6), seg(0, 2), seg(1.5, 3)])
    assert locs(error) == [["body", "segments", 2]]
    assert error.details[0]["msg"] == "1.5-3 s overlaps segments[1] (0-2 s)"


def test_touching_segments_are_fine_in_any_order():
    v.check_no_overlap([seg(2, 4), seg(0, 2), seg(4, 4.5)])


def test_a_segment_inside_a_long_one_is_an_overlap():
    error = fails(v.check_no_overlap, [seg(0, 10), seg(2, 3), seg(5, 6)])
    assert locs(error) == [["body", "segments", 1], ["body", "segments", 2]]


ranges = st.lists(
    st.tuples(st.integers(0, 40), st.integers(1, 10)).map(lambda t: (t[0] / 4, (t[0] + t[1]) / 4)),
    max_size=8,
)


@given(ranges)
def test_overlap_detection_matches_brute_force(spans):
    brute = {(i, j) for i, a in enumerate(spans) for j, b in enumerate(spans)
             if i != j and a[0] < b[1] and b[0] < a[1]}
    found = v.find_overlaps(spans)
    assert bool(found) == bool(brute)
    assert all((i, j) in brute for i, j in found)  # every pair reported is a real overlap
    # every range that overlaps one starting earlier (in sorted order) is reported as the later one
    order = sorted(range(len(spans)), key=lambda i: spans[i])
    rank = {i: r for r, i in enumerate(order)}
    later = {j for i, j in brute if rank[i] < rank[j]}
    assert {j for _, j in found} == later


def test_every_ref_id_names_an_audio():
    request = req()
    segments = [*request.segments, seg(5, 6, ref="nobody")]
    error = fails(v.check_segment_refs, segments, request.audios)
    assert locs(error) == [["body", "segments", 2, "audioInput", "refId"]]


def test_crop_is_both_or_none():
    error = fails(v.check_crops, [seg(0, 1, startTime=0.5), seg(1, 2, endTime=1.0)])
    assert locs(error) == [["body", "segments", 0, "audioInput", "endTime"],
                           ["body", "segments", 1, "audioInput", "startTime"]]


def test_crop_start_before_end_and_not_negative():
    error = fails(v.check_crops, [seg(0, 1, crop=(1.0, 1.0)), seg(1, 2, crop=(-1, 1))])
    assert locs(error) == [["body", "segments", 0, "audioInput", "endTime"],
                           ["body", "segments", 1, "audioInput", "startTime"]]
    v.check_crops([seg(0, 1, crop=(0, 0.5)), seg(1, 2)])


def test_every_audio_is_used():
    request = req()
    error = fails(v.check_all_audios_used, [s for s in request.segments if s.audio_input.ref_id == "intro"],
                  request.audios)
    assert locs(error) == [["body", "audios", 1, "refId"]] and "outro" in error.message


def test_a_crop_longer_than_300_seconds_is_refused_at_create():
    error = fails(v.check_speech_length, [seg(0, 1, crop=(0, 300)), seg(1, 2, crop=(10, 310.5))], 300.0)
    assert locs(error) == [["body", "segments", 1, "audioInput"]]


def test_speech_length_uses_the_whole_audio_when_not_cropped():
    segments = [seg(0, 1, ref="long"), seg(1, 2, ref="long", crop=(0, 5))]
    v.check_speech_length(segments, 300.0)  # durations unknown at create: only crops count
    error = fails(v.check_speech_length, segments, 300.0, {"long": 301.0}, root=())
    assert locs(error) == [["segments", 0, "audioInput"]]


def test_segments_must_end_within_the_video():
    error = fails(v.check_segments_within_video, [seg(0, 2), seg(2, 4.2)], 4.0)
    assert locs(error) == [["segments", 1, "endTime"]] and error.code == "upload_invalid"
    v.check_segments_within_video([seg(0, 4.04)], 4.0)  # within a rounding tolerance


def test_crops_must_end_within_their_audio():
    segments = [seg(0, 1, ref="a", crop=(0, 2)), seg(1, 2, ref="b", crop=(1, 3))]
    error = fails(v.check_crops_within_audio, segments, {"a": 2.0, "b": 2.5})
    assert locs(error) == [["segments", 1, "audioInput", "endTime"]]


def test_validate_media_reports_every_problem_at_once():
    segments = [seg(0, 5, ref="a", crop=(0, 3)), seg(5, 6, ref="b")]
    error = fails(v.validate_media, segments, 4.0, {"a": 2.0, "b": 400.0}, 300.0)
    assert locs(error) == [["segments", 0, "endTime"], ["segments", 1, "endTime"],
                           ["segments", 0, "audioInput", "endTime"], ["segments", 1, "audioInput"]]
    assert error.status == 422 and error.code == "upload_invalid"
