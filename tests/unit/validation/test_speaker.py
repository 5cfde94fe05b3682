"""prosync.speaker: a point in seconds and fractions as Sync.so's frame number and pixels."""

import pytest

from prosync.speaker import frame_number, job_speaker, pixel, sync_segment, to_sync

GEOMETRY = {"width": 1920, "height": 1080, "frameRate": 29.97, "duration": 10.01}


@pytest.mark.parametrize("time, frame", [(0.0, 0), (1.0, 29), (2.0, 59), (10.0, 299), (10.009, 299)])
def test_frame_number_floors_and_stops_at_the_last_frame(time, frame):
    assert frame_number(time, GEOMETRY) == frame


def test_a_time_on_a_frame_boundary_is_that_frame():
    assert frame_number(2.0, {"frameRate": 25.0, "duration": 4.0}) == 50
    assert frame_number(0.12, {"frameRate": 25.0, "duration": 4.0}) == 3  # 0.12 * 25 = 2.9999999999999996


@pytest.mark.parametrize("fraction, px", [(0.0, 0), (0.5, 960), (0.99999, 1919), (1.0, 1919)])
def test_pixels_stay_inside_the_frame(fraction, px):
    assert pixel(fraction, 1920) == px


def test_the_wire_shapes():
    point = {"time": 1.0, "x": 0.25, "y": 0.5}
    assert to_sync(point, GEOMETRY) == {"auto_detect": False, "frame_number": 29, "coordinates": [480, 540]}
    assert job_speaker({"active_speaker_detection": True}, None) == {"auto_detect": True}
    assert job_speaker({"sync_mode": "loop"}, None) is None
    segment = {"startTime": 0, "endTime": 1, "audioInput": {"refId": "a"}, "speaker": point}
    assert sync_segment(segment, GEOMETRY) == {
        "startTime": 0, "endTime": 1, "audioInput": {"refId": "a"},
        "optionsOverride": {"active_speaker_detection": to_sync(point, GEOMETRY)}}
    with pytest.raises(ValueError):
        to_sync(point, {"width": 10, "height": 10})
