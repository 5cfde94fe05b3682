"""prosync.revisions.plan: which ranges a revision re-does, the clip's pieces, segments in clip time."""

import pytest

from prosync.revisions.plan import Piece, changed_ranges, clip_pieces, clip_segments, saving, to_clip_time


def seg(start, end, ref, **extra):
    return {"startTime": start, "endTime": end, "audioInput": {"refId": ref}, **extra}


PARENT = [seg(0, 2, "a"), seg(3, 5, "b"), seg(6, 8, "c")]


def test_nothing_changed_is_no_range():
    assert changed_ranges(PARENT, [dict(s) for s in reversed(PARENT)]) == []


@pytest.mark.parametrize("revised, ranges", [
    ([PARENT[0], seg(3, 5, "z"), PARENT[2]], [(3, 5)]),  # new audio
    ([PARENT[0], {**PARENT[1], "audioInput": {"refId": "b", "startTime": 0.5, "endTime": 1.5}}, PARENT[2]],
     [(3, 5)]),  # new crop
    ([PARENT[0], seg(3.5, 5.5, "b"), PARENT[2]], [(3, 5.5)]),  # new range: old and new merged
    ([PARENT[0], PARENT[2]], [(3, 5)]),  # removed
    ([*PARENT, seg(9, 10, "a")], [(9, 10)]),  # added
    ([PARENT[0], seg(3, 5, "b", speaker={"time": 3.5, "x": 0.5, "y": 0.5}), PARENT[2]], [(3, 5)]),
    ([seg(0, 2, "z"), seg(2, 5, "b"), PARENT[2]], [(0, 5)]),  # touching ranges merge
])
def test_changed_ranges(revised, ranges):
    assert changed_ranges(PARENT, revised) == ranges


def test_a_new_upload_under_an_old_ref_id_changes_its_segments():
    assert changed_ranges(PARENT, PARENT, new_refs={"c"}) == [(6, 8)]


def test_pieces_copy_from_a_near_keyframe_or_re_encode_with_a_lead():
    keys = [0.0, 2.8, 10.0]
    (near,) = clip_pieces([(3, 5)], keys, 12.0)
    assert near == Piece(2.8, 5.5, 0.0, True)
    (far,) = clip_pieces([(6, 8)], keys, 12.0)
    assert far == Piece(5.5, 8.5, 0.0, False)
    both = clip_pieces([(3, 5), (11, 12)], keys, 12.0)
    assert both == [Piece(2.8, 5.5, 0.0, True), Piece(10.0, 12.0, 2.7, True)]
    assert saving(both, 12.0) == {"revisionSeconds": 4.7, "fullSeconds": 12.0, "fraction": 0.3917}


def test_segments_move_into_clip_time():
    pieces = clip_pieces([(3, 5), (11, 12)], [0.0, 2.8, 10.0], 12.0)
    revised = [PARENT[0], seg(3, 5, "z", speaker={"time": 4.0, "x": 0.1, "y": 0.2}), seg(11, 12, "y", speaker={
        "time": 1.0, "x": 0.1, "y": 0.2})]
    moved = clip_segments(revised, [(3, 5), (11, 12)], pieces)
    assert [(s["startTime"], s["endTime"]) for s in moved] == [(0.2, 2.2), (3.7, 4.7)]
    assert moved[0]["speaker"]["time"] == pytest.approx(1.2) and "speaker" not in moved[1]  # outside the clip
    with pytest.raises(ValueError):
        to_clip_time(8.0, pieces)


def test_a_job_speaker_point_moves_into_the_clip_or_is_left_out():
    from prosync.revisions.steps import clip_options

    clip = {"pieces": [vars(p) for p in clip_pieces([(3, 5)], [0.0, 2.8], 12.0)]}
    inside = clip_options({"sync_mode": "loop", "speaker": {"time": 4.0, "x": 0.5, "y": 0.5}}, clip)
    assert inside == {"sync_mode": "loop", "speaker": {"time": pytest.approx(1.2), "x": 0.5, "y": 0.5}}
    assert clip_options({"speaker": {"time": 9.0, "x": 0.5, "y": 0.5}}, clip) == {}
    assert clip_options({"active_speaker_detection": True}, clip) == {"active_speaker_detection": True}
