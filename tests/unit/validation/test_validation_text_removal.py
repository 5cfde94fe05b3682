"""textRemoval in the create request (issue 16): strict types, regions inside the frame, time ranges,
counts per tier; at start, time ranges within the probed video; shown in the status answer."""

import pytest
from pydantic import ValidationError

from prosync import validation as v
from prosync.errors import UploadInvalid
from tests.unit.validation.vtools import ENTERPRISE, PRO, fails, locs, req

BOX = {"x": 0.1, "y": 0.8, "width": 0.8, "height": 0.15}


def _create(text_removal, limits=PRO):
    return v.validate_create(req(textRemoval=text_removal), limits, 300)


def test_regions_and_auto_are_accepted():
    _create({"regions": [BOX, {**BOX, "startTime": 0.5, "endTime": 2.0}]})
    _create({"auto": True})
    _create({"auto": True, "regions": [{"x": 0, "y": 0, "width": 1, "height": 1}]})
    assert req().text_removal is None


@pytest.mark.parametrize("body, loc", [
    ({"regions": [{**BOX, "x": "0.1"}]}, ["textRemoval", "regions", 0, "x"]),
    ({"auto": 1}, ["textRemoval", "auto"]),
    ({"regions": [{**BOX, "colour": "red"}]}, ["textRemoval", "regions", 0, "colour"]),
    ({"regions": BOX}, ["textRemoval", "regions"]),
])
def test_types_are_strict(body, loc):
    with pytest.raises(ValidationError) as caught:
        req(textRemoval=body)
    assert [list(e["loc"][1:]) if e["loc"][0] == "text_removal" else list(e["loc"]) for e in caught.value.errors()]
    assert any(loc[-1] in [str(p) for p in e["loc"]] for e in caught.value.errors())


def test_regions_must_be_inside_the_frame():
    error = fails(_create, {"regions": [{**BOX, "x": 0.5, "width": 0.6}, {**BOX, "y": -0.1},
                                        {**BOX, "height": 0}, {**BOX, "y": 0.9, "height": 0.2}]})
    assert locs(error) == [["body", "textRemoval", "regions", 0, "width"],
                           ["body", "textRemoval", "regions", 1, "y"],
                           ["body", "textRemoval", "regions", 2, "height"],
                           ["body", "textRemoval", "regions", 3, "height"]]
    assert "right edge" in error.details[0]["msg"]


def test_time_ranges_and_an_empty_config():
    error = fails(_create, {"regions": [{**BOX, "startTime": 2, "endTime": 1}, {**BOX, "startTime": -1}]})
    assert locs(error) == [["body", "textRemoval", "regions", 0, "endTime"],
                           ["body", "textRemoval", "regions", 1, "startTime"]]
    assert locs(fails(_create, {})) == [["body", "textRemoval"]]


def test_region_count_comes_from_the_tier():
    _create({"regions": [BOX] * 10})
    error = fails(_create, {"regions": [BOX] * 11})
    assert locs(error) == [["body", "textRemoval", "regions"]] and "at most 10" in error.message
    _create({"regions": [BOX] * 50}, ENTERPRISE)
    assert "at most 50" in fails(_create, {"regions": [BOX] * 51}, ENTERPRISE).message


def test_time_ranges_are_checked_against_the_video_at_start():
    segments = req().segments
    config = {"regions": [{**BOX, "startTime": 1.0, "endTime": 9.0}, {**BOX, "startTime": 12.0}]}
    with pytest.raises(UploadInvalid) as caught:
        v.validate_media(segments, 8.0, {"intro": 10.0, "outro": 10.0}, 300, text_removal=config)
    assert locs(caught.value) == [["textRemoval", "regions", 0, "endTime"], ["textRemoval", "regions", 1, "startTime"]]
    v.validate_media(segments, 9.02, {"intro": 10.0, "outro": 10.0}, 300,
                     text_removal={"regions": [{**BOX, "endTime": 9.0}]})


def test_the_status_answer_shows_it():
    from datetime import UTC, datetime
    from uuid import uuid4

    from prosync.api.common import text_removal_fields
    from prosync.db.records import JobRecord
    from prosync.jobs.status import JobStatus

    now = datetime.now(UTC)
    job = JobRecord(id=uuid4(), user_id="u", status=JobStatus.REMOVING_TEXT, stage="removing_text",
                    is_pro_job=True, segments_data=[], options={}, model="lipsync-2", output_file_name=None,
                    sync_generation_id=None, execution_arn=None, result_key=None, result_size=None,
                    output_duration=None, error_code=None, error_message=None, idempotency_key=None,
                    created_at=now, updated_at=now, started_at=now, completed_at=None,
                    inputs={"textRemoval": {"auto": True},
                            "textRemovalChunks": {"total": 4, "done": {"0": True, "2": True}}})
    fields = text_removal_fields(job)
    assert fields == {"text_removal": {"auto": True}, "text_removal_chunks": {"done": 2, "total": 4},
                      "progress": 96}
