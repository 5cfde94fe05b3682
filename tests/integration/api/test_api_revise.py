"""POST /sync/pro-job/{id}/revise through the api handler (issue 17): a new job linked to its completed
parent, only the changed ranges planned, new audios by presigned POST, started like any job."""

from uuid import UUID

from tests.unit.api.apitest import call

NEW_AUDIO = {"refId": "fresh", "fileName": "fresh.wav", "contentType": "audio/wav", "size": 500_000}


def completed_parent(api) -> dict:
    created = api.create(api.declared())
    api.upload(created)
    assert api.start(created.body["jobId"]).status == 202
    api.db.execute("UPDATE video_jobs SET status = 'completed', result_key = %s WHERE id = %s",
                   (f"results/{created.body['jobId']}/talk_dubbed.mp4", created.body["jobId"]))
    return api.status(created.body["jobId"]).body


def revise(job_id, body, user="pro"):
    return call("POST", f"/sync/pro-job/{job_id}/revise", user=user, body=body)


def test_a_revision_of_one_segment(api):
    parent = completed_parent(api)
    segments = [dict(s) for s in parent["segments"]]
    segments[1] = {**segments[1], "audioInput": {"refId": "fresh"}}
    answer = revise(parent["jobId"], {"segments": segments, "audios": [NEW_AUDIO]})
    assert answer.status == 201, answer.body
    body = answer.body
    assert body["parentJobId"] == parent["jobId"] and body["status"] == "awaiting_upload"
    assert set(body["uploads"]) == {"fresh"}
    assert body["revision"]["changedRanges"] == [[segments[1]["startTime"], segments[1]["endTime"]]]
    assert body["revision"]["revisionSeconds"] < body["revision"]["fullSeconds"]
    job = api.repo.get_job(UUID(body["jobId"]), user_id="pro")
    revision = job.inputs["revision"]
    assert revision["parentResultKey"] == f"results/{parent['jobId']}/talk_dubbed.mp4"
    assert set(job.inputs["audios"]) == {"intro", "fresh"}  # the parent's audio still used, and the new one
    parent_row = api.repo.get_job(UUID(parent["jobId"]), user_id="pro")
    assert job.inputs["audios"]["intro"] == parent_row.inputs["audios"]["intro"]
    status = api.status(body["jobId"]).body
    assert status["parentJobId"] == parent["jobId"] and status["revision"]["exact"] is False
    listed = call("GET", "/sync/pro-jobs", user="pro").body["jobs"]
    assert {(j["jobId"], j.get("parentJobId")) for j in listed} == {(parent["jobId"], None),
                                                                   (body["jobId"], parent["jobId"])}
    # its new audio goes up by its presigned POST; start checks every file, the parent's included
    api.aws.s3.put_object(Bucket=api.aws.bucket, Key=job.inputs["audios"]["fresh"]["key"],
                          Body=api.media["intro"].read_bytes(), ContentType="audio/wav")
    started = api.start(body["jobId"])
    assert started.status == 202, started.body
    assert api.repo.get_job(UUID(body["jobId"]), user_id="pro").inputs["revision"] == revision


def test_nothing_changed_is_422_and_writes_nothing(api):
    parent = completed_parent(api)
    answer = revise(parent["jobId"], {"segments": parent["segments"]})
    assert answer.status == 422 and answer.locs == [["body", "segments"]]
    assert api.job_rows() == 1


def test_only_a_completed_job_of_ones_own(api):
    created = api.create(api.declared())
    segments = api.status(created.body["jobId"]).body["segments"]
    assert revise(created.body["jobId"], {"segments": segments}).status == 409
    parent = completed_parent(api)
    assert revise(parent["jobId"], {"segments": segments}, user="other").status == 404


def test_revised_segments_are_validated_as_at_create(api):
    parent = completed_parent(api)
    segments = [dict(s) for s in parent["segments"]]
    segments[0] = {**segments[0], "audioInput": {"refId": "nobody"}}
    answer = revise(parent["jobId"], {"segments": segments})
    assert answer.status == 422 and ["body", "segments", 0, "audioInput", "refId"] in answer.locs
    answer = revise(parent["jobId"], {"segments": parent["segments"], "audios": [{**NEW_AUDIO, "size": "1"}]})
    assert answer.status == 422 and ["body", "audios", 0, "size"] in answer.locs


def test_canceling_a_revision_keeps_the_parents_uploads(api):
    parent = completed_parent(api)
    segments = [dict(s) for s in parent["segments"]]
    segments[1] = {**segments[1], "audioInput": {"refId": "fresh"}}
    answer = revise(parent["jobId"], {"segments": segments, "audios": [NEW_AUDIO]})
    job = api.repo.get_job(UUID(answer.body["jobId"]), user_id="pro")
    api.aws.s3.put_object(Bucket=api.aws.bucket, Key=job.inputs["audios"]["fresh"]["key"], Body=b"x",
                          ContentType="audio/wav")
    before = set(api.objects())
    assert api.cancel(answer.body["jobId"]).status == 202
    gone = before - set(api.objects())
    assert gone == {job.inputs["audios"]["fresh"]["key"]}  # its own upload only: the parent's stay


def test_idempotency_key_returns_the_same_revision(api):
    parent = completed_parent(api)
    segments = [dict(s) for s in parent["segments"]]
    segments[1] = {**segments[1], "audioInput": {"refId": "fresh"}}
    body = {"segments": segments, "audios": [NEW_AUDIO]}
    key = {"Idempotency-Key": "revise-1"}
    first = call("POST", f"/sync/pro-job/{parent['jobId']}/revise", user="pro", body=body, headers=key)
    second = call("POST", f"/sync/pro-job/{parent['jobId']}/revise", user="pro", body=body, headers=key)
    assert first.status == second.status == 201, second.body
    assert second.body["jobId"] == first.body["jobId"] and api.job_rows() == 2  # the parent and one revision
    assert set(second.body["uploads"]) == {"fresh"}
    assert second.body["uploads"]["fresh"]["key"] == first.body["uploads"]["fresh"]["key"]
    assert second.body["parentJobId"] == parent["jobId"] and second.body["revision"] == first.body["revision"]
    # another user's same key is their own
    assert call("POST", f"/sync/pro-job/{parent['jobId']}/revise", user="other", body=body,
                headers=key).status == 404
    # started: the same job, without upload POSTs
    job = api.repo.get_job(UUID(first.body["jobId"]), user_id="pro")
    api.aws.s3.put_object(Bucket=api.aws.bucket, Key=job.inputs["audios"]["fresh"]["key"],
                          Body=api.media["intro"].read_bytes(), ContentType="audio/wav")
    assert api.start(first.body["jobId"]).status == 202
    replay = call("POST", f"/sync/pro-job/{parent['jobId']}/revise", user="pro", body=body, headers=key)
    assert replay.status == 201, replay.body
    assert replay.body["jobId"] == first.body["jobId"] and replay.body["status"] == "queued"
    assert replay.body["uploads"] is None and api.job_rows() == 2


def test_idempotency_key_reused_for_another_revision_is_refused(api):
    parent = completed_parent(api)
    segments = [dict(s) for s in parent["segments"]]
    changed = [segments[0], {**segments[1], "audioInput": {"refId": "fresh"}}]
    key = {"Idempotency-Key": "revise-2"}
    url = f"/sync/pro-job/{parent['jobId']}/revise"
    assert call("POST", url, user="pro", body={"segments": changed, "audios": [NEW_AUDIO]},
                headers=key).status == 201
    other = call("POST", url, user="pro", body={"segments": segments[1:]}, headers=key)
    assert other.status == 422 and other.code == "idempotency_key_reused"
    assert other.locs == [["header", "Idempotency-Key"]] and api.job_rows() == 2
    # a key used at create is not a revision's
    assert api.create(key="created-1").status == 201
    used = call("POST", url, user="pro", body={"segments": changed, "audios": [NEW_AUDIO]},
                headers={"Idempotency-Key": "created-1"})
    assert used.status == 422 and used.code == "idempotency_key_reused" and api.job_rows() == 3
    bad = call("POST", url, user="pro", body={"segments": changed, "audios": [NEW_AUDIO]},
               headers={"Idempotency-Key": "has space"})
    assert bad.status == 422 and bad.locs == [["header", "Idempotency-Key"]]
