"""POST /sync/pro-sync-process through the handler: the job row, presigned POSTs, idempotency, and
every refused request (status + field path), which writes nothing (no row, no object)."""

from uuid import UUID

from prosync.jobs.status import JobStatus
from prosync.settings import TierSettings
from tests.unit.api.apitest import job_request, segments

PRO = TierSettings().pro


def test_create_writes_the_job_and_answers_presigned_posts(api):
    answer = api.create()
    assert answer.status == 201, answer.body
    job_id = UUID(answer.body["jobId"])
    assert answer.body["status"] == "awaiting_upload"
    uploads = answer.body["uploads"]
    assert uploads["video"]["key"] == f"uploads/pro/{job_id}/video.mp4"
    assert {ref: t["key"] for ref, t in uploads["audios"].items()} == {
        "intro": f"uploads/pro/{job_id}/audio-intro.wav", "outro": f"uploads/pro/{job_id}/audio-outro.mp3"}
    for target in [uploads["video"], *uploads["audios"].values()]:
        assert target["url"].endswith(api.aws.bucket) or api.aws.bucket in target["url"]
        assert {"key", "policy", "Content-Type", "x-amz-signature"} <= set(target["fields"])
        assert target["expiresAt"]
    job = api.repo.get_job(job_id, user_id="pro")
    assert job.status is JobStatus.AWAITING_UPLOAD and job.is_pro_job and job.model == "lipsync-2-pro"
    assert [s["startTime"] for s in job.segments_data] == [0.0, 2.0]  # sorted by start
    assert job.segments_data[1]["audioInput"] == {"refId": "outro", "startTime": 0.2, "endTime": 1.2}
    assert job.inputs["video"] == {"key": uploads["video"]["key"], "fileName": "talk.mp4",
                                   "contentType": "video/mp4", "size": 2_000_000, "declaredSize": 2_000_000}
    assert job.options == {"sync_mode": "cut_off", "temperature": 0.5}
    assert job.output_file_name == "talk_dubbed"
    assert [e.to_status for e in api.repo.events(job_id)] == [JobStatus.AWAITING_UPLOAD]
    assert api.objects() == []  # create never writes to S3


def test_generated_ref_ids_and_default_output_name(api):
    body = job_request(outputFileName=None)
    for audio in body["audios"]:
        del audio["refId"]
    body["segments"][0]["audioInput"]["refId"] = "audio-2"
    body["segments"][1]["audioInput"]["refId"] = "audio-1"
    body["video"]["fileName"] = "My talk (final).mp4"
    answer = api.create(body)
    assert answer.status == 201, answer.body
    assert set(answer.body["uploads"]["audios"]) == {"audio-1", "audio-2"}
    assert api.repo.get_job(UUID(answer.body["jobId"])).output_file_name == "My_talk_final_synced"


def test_idempotency_key_returns_the_same_job(api):
    first = api.create(key="retry-1")
    second = api.create(key="retry-1")
    assert first.status == second.status == 201
    assert first.body["jobId"] == second.body["jobId"] and api.job_rows() == 1
    assert second.body["uploads"]["video"]["key"] == first.body["uploads"]["video"]["key"]
    other_user = api.create(user="other", key="retry-1")
    assert other_user.status == 201 and other_user.body["jobId"] != first.body["jobId"]


def test_a_replay_after_start_returns_the_job_without_upload_posts(api):
    # fresh POSTs for a started job would let its validated inputs be replaced under the workflow
    body = api.declared()
    first = api.create(body, key="retry-2")
    api.upload(first)
    assert api.start(first.body["jobId"]).status == 202
    replay = api.create(body, key="retry-2")
    assert replay.status == 201, replay.body
    assert replay.body["jobId"] == first.body["jobId"] and replay.body["status"] == "queued"
    assert replay.body["uploads"] is None and api.job_rows() == 1


def test_idempotency_key_reused_for_another_request_is_refused(api):
    assert api.create(key="k1").status == 201
    answer = api.create(job_request(model="sync-3"), key="k1")
    assert answer.status == 422 and answer.code == "idempotency_key_reused"
    assert answer.locs == [["header", "Idempotency-Key"]] and api.job_rows() == 1


def test_enterprise_may_use_ten_segments(api):
    body = job_request(audios=[job_request()["audios"][0]], segments=segments(10))
    assert api.create(body, user="ent").status == 201


def test_too_many_active_jobs_is_429_and_writes_nothing(api):
    for _ in range(PRO.max_active_jobs):
        job_id = UUID(api.create().body["jobId"])
        api.repo.transition(job_id, JobStatus.QUEUED)
    answer = api.create()
    assert answer.status == 429 and answer.code == "too_many_active_jobs"
    assert answer.headers["Retry-After"] == "30"  # when to ask again, as every 429 says
    assert api.job_rows() == PRO.max_active_jobs
