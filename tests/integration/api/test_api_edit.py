"""POST /sync/pro-job/{id}/edit: a job awaiting its uploads gets new segments and options, validated
as create validates them; a refused start is fixed and started again with the same uploads."""

from uuid import UUID

from prosync.jobs.status import JobStatus
from tests.unit.api.apitest import call


def edit(job_id, body, user="pro"):
    return call("POST", f"/sync/pro-job/{job_id}/edit", user=user, body=body)


def seg(start, end, ref, crop=None):
    audio = {"refId": ref}
    if crop:
        audio.update(startTime=crop[0], endTime=crop[1])
    return {"startTime": start, "endTime": end, "audioInput": audio}


def test_a_refused_start_is_fixed_by_an_edit_and_starts_with_the_same_uploads(api):
    body = api.declared()
    body["segments"] = [seg(0, 2, "intro"), seg(2.5, 9, "outro")]  # the video is 4 s long
    created = api.create(body)
    assert created.status == 201, created.body
    job_id = created.body["jobId"]
    api.upload(created)
    refused = api.start(job_id)
    assert refused.status == 422 and ["segments", 1, "endTime"] in refused.locs, refused.body
    objects = api.objects()

    fixed = edit(job_id, {"segments": [seg(2.5, 3.9, "outro"), seg(0, 2, "intro")],
                          "options": {"sync_mode": "loop"}, "outputFileName": "fixed"})
    assert fixed.status == 200, fixed.body
    assert fixed.body["status"] == "awaiting_upload"
    assert [s["startTime"] for s in fixed.body["segments"]] == [0, 2.5]  # stored in time order
    job = api.repo.get_job(UUID(job_id))
    assert job.options == {"sync_mode": "loop"} and job.output_file_name == "fixed"
    assert job.model == "lipsync-2-pro"  # not given: kept

    started = api.start(job_id)
    assert started.status == 202, started.body
    assert api.objects() == objects  # nothing uploaded again
    assert api.repo.get_job(UUID(job_id)).status is JobStatus.QUEUED


def test_an_edit_is_validated_like_create(api):
    created = api.create(api.declared())
    job_id = created.body["jobId"]
    before = api.repo.get_job(UUID(job_id)).segments_data
    overlap = edit(job_id, {"segments": [seg(0, 3, "intro"), seg(2, 4, "outro")]})
    assert overlap.status == 422 and ["body", "segments", 1] in overlap.locs, overlap.body
    unknown = edit(job_id, {"segments": [seg(0, 1, "intro"), seg(1, 2, "nobody")]})
    assert unknown.status == 422 and ["body", "segments", 1, "audioInput", "refId"] in unknown.locs
    unused = edit(job_id, {"segments": [seg(0, 1, "intro")]})
    assert unused.status == 422 and "not used" in unused.body["error"]["message"]
    bad_model = edit(job_id, {"segments": [seg(0, 1, "intro"), seg(1, 2, "outro")], "model": "nope"})
    assert bad_model.status == 422 and ["body", "model"] in bad_model.locs
    extra = edit(job_id, {"segments": [seg(0, 1, "intro"), seg(1, 2, "outro")], "audios": []})
    assert extra.status == 422  # the files cannot change here
    assert api.repo.get_job(UUID(job_id)).segments_data == before  # nothing written


def test_another_users_job_is_404_and_a_started_job_is_409(api):
    created = api.create(api.declared())
    job_id = created.body["jobId"]
    body = {"segments": [seg(0, 1, "intro"), seg(1, 2, "outro")]}
    assert edit(job_id, body, user="other").status == 404
    api.upload(created)
    assert api.start(job_id).status == 202
    late = edit(job_id, body)
    assert late.status == 409, late.body
    assert "only a job still waiting for its uploads" in late.body["error"]["message"]


def test_a_canceled_job_is_409(api):
    created = api.create(api.declared())
    job_id = created.body["jobId"]
    assert api.cancel(job_id).status == 202
    assert edit(job_id, {"segments": [seg(0, 1, "intro"), seg(1, 2, "outro")]}).status == 409
