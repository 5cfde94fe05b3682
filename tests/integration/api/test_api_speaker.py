"""Speaker selection through the api handler (issue 17): a point (time, x, y in fractions) for the job
(`options.speaker`) and per segment (`segments[i].speaker`), or auto-detection; strict types and
ranges are 422 at the field, a time past the video's end is refused at start, and start records the
video's frame rate and size (what submit turns the point into a frame number and pixels with)."""

from uuid import UUID

from prosync.workflow.steps import submit_request
from tests.unit.api.apitest import job_request

POINT = {"time": 1.0, "x": 0.5, "y": 0.25}


def _with_segment_speaker(index: int, **fields) -> list[dict]:
    segments = job_request()["segments"]
    segments[index] = {**segments[index], **fields}
    return segments


def test_speakers_are_stored_and_shown(api):
    body = job_request(options={"sync_mode": "cut_off", "speaker": POINT},
                       segments=_with_segment_speaker(0, speaker={"time": 2.5, "x": 0.1, "y": 0.9}))
    body["segments"][1]["activeSpeakerDetection"] = True
    answer = api.create(body)
    assert answer.status == 201, answer.body
    job = api.repo.get_job(UUID(answer.body["jobId"]), user_id="pro")
    assert job.options == {"sync_mode": "cut_off", "speaker": POINT}
    by_start = {s["startTime"]: s for s in job.segments_data}
    assert by_start[2.0]["speaker"] == {"time": 2.5, "x": 0.1, "y": 0.9}
    assert by_start[0.0]["activeSpeakerDetection"] is True
    status = api.status(answer.body["jobId"]).body
    assert {s["startTime"]: s["speaker"] for s in status["segments"]}[2.0] == {"time": 2.5, "x": 0.1, "y": 0.9}


def test_out_of_range_points_are_422_at_their_fields(api):
    body = job_request(options={"speaker": {"time": -1.0, "x": 1.5, "y": 0.5}},
                       segments=_with_segment_speaker(1, speaker={"time": 0.5, "x": 0.2, "y": -0.1}))
    answer = api.create(body)
    assert answer.status == 422, answer.body
    assert sorted(answer.locs) == sorted([["body", "options", "speaker", "time"], ["body", "options", "speaker", "x"],
                                          ["body", "segments", 1, "speaker", "y"]])
    assert api.job_rows() == 0


def test_strict_types_and_missing_fields(api):
    answer = api.create(job_request(options={"speaker": {"time": "1", "x": 0.5, "y": 0.5}}))
    assert answer.status == 422 and ["body", "options", "speaker", "time"] in answer.locs
    answer = api.create(job_request(segments=_with_segment_speaker(0, speaker={"time": 1.0, "x": True, "y": 0.5})))
    assert answer.status == 422 and ["body", "segments", 0, "speaker", "x"] in answer.locs
    answer = api.create(job_request(options={"speaker": {"time": 1.0, "x": 0.5}}))
    assert answer.status == 422 and ["body", "options", "speaker", "y"] in answer.locs
    answer = api.create(job_request(options={"speaker": {**POINT, "frame_number": 3}}))
    assert answer.status == 422 and ["body", "options", "speaker", "frame_number"] in answer.locs
    answer = api.create(job_request(segments=_with_segment_speaker(0, activeSpeakerDetection="yes")))
    assert answer.status == 422 and ["body", "segments", 0, "activeSpeakerDetection"] in answer.locs


def test_a_point_and_auto_detection_together_are_refused(api):
    answer = api.create(job_request(options={"active_speaker_detection": True, "speaker": POINT}))
    assert answer.status == 422 and answer.locs == [["body", "options", "speaker"]]
    answer = api.create(job_request(segments=_with_segment_speaker(0, speaker=POINT, activeSpeakerDetection=True)))
    assert answer.status == 422 and answer.locs == [["body", "segments", 0, "speaker"]]


def test_a_time_past_the_video_is_refused_at_start(api):
    body = api.declared()
    body["options"] = {"speaker": {"time": 4.2, "x": 0.5, "y": 0.5}}
    body["segments"][0]["speaker"] = {"time": 9.0, "x": 0.5, "y": 0.5}
    created = api.create(body)
    assert created.status == 201, created.body
    api.upload(created)
    answer = api.start(created.body["jobId"])
    assert answer.status == 422 and answer.code == "upload_invalid", answer.body
    segment = [i for i, s in enumerate(api.status(created.body["jobId"]).body["segments"]) if "speaker" in s
               and s["speaker"]][0]
    assert sorted(answer.locs) == sorted([["options", "speaker", "time"], ["segments", segment, "speaker", "time"]])
    assert "4.00 s long" in str(answer.body) and api.executions() == []


def test_start_records_frame_rate_and_size_for_submit(api):
    body = api.declared()
    body["options"] = {"speaker": {"time": 1.0, "x": 0.5, "y": 0.25}}
    created = api.create(body)
    api.upload(created)
    assert api.start(created.body["jobId"]).status == 202
    job = api.repo.get_job(UUID(created.body["jobId"]), user_id="pro")
    video = job.inputs["video"]
    assert (video["width"], video["height"], video["frameRate"]) == (160, 120, 25.0)
    assert submit_request(job)["videoGeometry"] == {"width": 160, "height": 120, "frameRate": 25.0,
                                                     "duration": video["duration"]}


def test_edit_changes_the_speakers(api):
    created = api.create(job_request())
    from tests.unit.api.apitest import call
    segments = _with_segment_speaker(0, speaker=POINT)
    answer = call("POST", f"/sync/pro-job/{created.body['jobId']}/edit", user="pro",
                  body={"segments": segments, "options": {"speaker": {"time": 0.2, "x": 0.3, "y": 0.4}}})
    assert answer.status == 200, answer.body
    job = api.repo.get_job(UUID(created.body["jobId"]), user_id="pro")
    assert job.options == {"speaker": {"time": 0.2, "x": 0.3, "y": 0.4}}
    bad = call("POST", f"/sync/pro-job/{created.body['jobId']}/edit", user="pro",
               body={"segments": segments, "options": {"speaker": {"time": 0.2, "x": 3.0, "y": 0.4}}})
    assert bad.status == 422 and bad.locs == [["body", "options", "speaker", "x"]]
