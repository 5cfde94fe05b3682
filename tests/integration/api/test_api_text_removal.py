"""textRemoval through the api handler (issue 16): stored with the job, shown in the status and
in the limits, refused with a field path (nothing written), part of the Idempotency-Key's request."""

from uuid import UUID

from tests.unit.api.apitest import call, job_request

REGION = {"x": 0.1, "y": 0.8, "width": 0.8, "height": 0.15, "startTime": 0.5}


def test_text_removal_is_stored_and_shown(api):
    answer = api.create(job_request(textRemoval={"regions": [REGION], "auto": True}))
    assert answer.status == 201, answer.body
    job = api.repo.get_job(UUID(answer.body["jobId"]), user_id="pro")
    assert job.inputs["textRemoval"] == {"regions": [REGION], "auto": True}
    status = api.status(answer.body["jobId"])
    assert status.status == 200 and status.body["textRemoval"] == {"regions": [{**REGION, "endTime": None}],
                                                                    "auto": True}
    assert status.body["textRemovalChunks"] is None
    limits = call("GET", "/sync/limits", user="pro")
    assert limits.body["limits"]["maxTextRegions"] == 10


def test_a_region_outside_the_frame_is_422_at_its_field(api):
    answer = api.create(job_request(textRemoval={"regions": [REGION, {**REGION, "x": 0.5}]}))
    assert answer.status == 422 and answer.locs == [["body", "textRemoval", "regions", 1, "width"]]
    assert api.job_rows() == 0


def test_a_string_where_a_number_goes_is_422(api):
    answer = api.create(job_request(textRemoval={"regions": [{**REGION, "height": "0.1"}]}))
    assert answer.status == 422 and ["body", "textRemoval", "regions", 0, "height"] in answer.locs


def test_the_idempotency_key_covers_text_removal(api):
    assert api.create(job_request(textRemoval={"auto": True}), key="tr").status == 201
    again = api.create(job_request(textRemoval={"regions": [REGION]}), key="tr")
    assert again.status == 422 and again.code == "idempotency_key_reused"


def test_a_time_range_past_the_video_is_refused_at_start(api):
    created = api.create(job_request(textRemoval={"regions": [REGION, {**REGION, "endTime": 9.0}]}))
    api.upload(created)
    answer = api.start(created.body["jobId"])
    assert answer.status == 422 and answer.code == "upload_invalid"
    assert answer.locs == [["textRemoval", "regions", 1, "endTime"]] and "4.00 s long" in answer.body["error"]["message"]
    assert api.executions() == []
