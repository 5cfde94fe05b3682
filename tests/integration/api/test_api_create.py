"""POST /sync/pro-sync-process through the handler: the job row, presigned POSTs, idempotency, and
every refused request (status + field path), which writes nothing (no row, no object)."""

import copy
from uuid import UUID

import pytest

from prosync.jobs.status import JobStatus
from prosync.settings import TierSettings
from tests.unit.api.apitest import job_request, segments

PRO, ENT = TierSettings().pro, TierSettings().enterprise


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
    body["segments"][0]["audioInput"]["refId"], body["segments"][1]["audioInput"]["refId"] = "audio-2", "audio-1"
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


def test_idempotency_key_reused_for_another_request_is_refused(api):
    assert api.create(key="k1").status == 201
    answer = api.create(job_request(model="sync-3"), key="k1")
    assert answer.status == 422 and answer.code == "idempotency_key_reused"
    assert answer.locs == [["header", "Idempotency-Key"]] and api.job_rows() == 1


def test_enterprise_may_use_ten_segments(api):
    body = job_request(audios=[job_request()["audios"][0]], segments=segments(10))
    assert api.create(body, user="ent").status == 201


def refused(api, body, user="pro"):
    answer = api.create(body, user=user)
    assert api.job_rows() == 0 and api.objects() == [], "a refused request wrote something"
    return answer


def mutated(change):
    body = job_request()
    change(body)
    return body


ONE_AUDIO = job_request()["audios"][:1]
CASES = {
    "unknown top-level field": (mutated(lambda b: b.update(priority="high")), 422, ["body", "priority"]),
    "unknown nested field": (mutated(lambda b: b["video"].update(url="http://x")), 422, ["body", "video", "url"]),
    "no segments": (job_request(segments=[]), 422, ["body", "segments"]),
    "6 segments on pro": (job_request(audios=ONE_AUDIO, segments=segments(6)), 422, ["body", "segments"]),
    "negative start": (mutated(lambda b: b["segments"][1].update(startTime=-1)), 422,
                       ["body", "segments", 1, "startTime"]),
    "end before start": (mutated(lambda b: b["segments"][1].update(endTime=0.0)), 422,
                         ["body", "segments", 1, "endTime"]),
    "overlap": (mutated(lambda b: b["segments"][0].update(startTime=1.5)), 422, ["body", "segments", 0]),
    "unknown refId": (mutated(lambda b: b["segments"][1]["audioInput"].update(refId="nope")), 422,
                      ["body", "segments", 1, "audioInput", "refId"]),
    "one-sided crop": (mutated(lambda b: b["segments"][0]["audioInput"].pop("endTime")), 422,
                       ["body", "segments", 0, "audioInput", "endTime"]),
    "crop end before start": (mutated(lambda b: b["segments"][0]["audioInput"].update(endTime=0.1)), 422,
                              ["body", "segments", 0, "audioInput", "endTime"]),
    "crop over 300 s": (mutated(lambda b: b["segments"][0]["audioInput"].update(endTime=301)), 422,
                        ["body", "segments", 0, "audioInput"]),
    "unused audio": (mutated(lambda b: b["audios"].append(
        {"refId": "spare", "fileName": "s.wav", "contentType": "audio/wav", "size": 9})), 422,
        ["body", "audios", 2, "refId"]),
    "video type": (mutated(lambda b: b["video"].update(contentType="video/x-matroska")), 422,
                   ["body", "video", "contentType"]),
    "video extension": (mutated(lambda b: b["video"].update(fileName="talk.exe")), 422,
                        ["body", "video", "fileName"]),
    "audio type": (mutated(lambda b: b["audios"][0].update(contentType="text/plain")), 422,
                   ["body", "audios", 0, "contentType"]),
    "size zero": (mutated(lambda b: b["audios"][0].update(size=0)), 422, ["body", "audios", 0, "size"]),
    "refId pattern": (mutated(lambda b: b["audios"][0].update(refId="in tro")), 422,
                      ["body", "audios", 0, "refId"]),
    "duplicate refId": (mutated(lambda b: b["audios"][1].update(refId="intro")), 422,
                        ["body", "audios", 1, "refId"]),
    "model": (job_request(model="lipsync-3"), 422, ["body", "model"]),
    "sync_mode": (job_request(options={"sync_mode": "stretch"}), 422, ["body", "options", "sync_mode"]),
    "temperature": (job_request(options={"temperature": 1.5}), 422, ["body", "options", "temperature"]),
    "outputFileName": (job_request(outputFileName="out.mp4"), 422, ["body", "outputFileName"]),
    "video one byte over": (mutated(lambda b: b["video"].update(size=PRO.max_video_bytes + 1)), 413,
                            ["body", "video", "size"]),
    "audio one byte over": (mutated(lambda b: b["audios"][1].update(size=PRO.max_audio_bytes + 1)), 413,
                            ["body", "audios", 1, "size"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_refused_requests_write_nothing(api, name):
    body, status, loc = copy.deepcopy(CASES[name])
    answer = refused(api, body)
    assert answer.status == status, answer.body
    assert loc in answer.locs, answer.body


def test_eleven_segments_on_enterprise(api):
    answer = refused(api, job_request(audios=ONE_AUDIO, segments=segments(11)), user="ent")
    assert answer.status == 422 and answer.locs == [["body", "segments"]]


def test_enterprise_sizes_one_byte_over(api):
    body = job_request()
    body["video"]["size"], body["audios"][0]["size"] = ENT.max_video_bytes + 1, ENT.max_audio_bytes + 1
    answer = refused(api, body, user="ent")
    assert answer.status == 413 and answer.locs == [["body", "video", "size"], ["body", "audios", 0, "size"]]


def test_free_tier_is_403_saying_what_is_needed(api):
    answer = refused(api, job_request(), user="free")
    assert answer.status == 403 and answer.code == "tier_forbidden" and "Pro or Enterprise" in answer.body[
        "error"]["message"]


def test_a_new_user_is_created_on_the_free_tier_and_refused(api):
    answer = refused(api, job_request(), user="newcomer")
    assert answer.status == 403 and api.repo.ensure_user("newcomer").email == "newcomer@example.com"


def test_too_many_active_jobs_is_429_and_writes_nothing(api):
    for _ in range(PRO.max_active_jobs):
        job_id = UUID(api.create().body["jobId"])
        api.repo.transition(job_id, JobStatus.QUEUED)
    answer = api.create()
    assert answer.status == 429 and answer.code == "too_many_active_jobs"
    assert api.job_rows() == PRO.max_active_jobs


def test_bad_idempotency_key_is_422(api):
    answer = api.create(key="has space")
    assert answer.status == 422 and answer.locs == [["header", "Idempotency-Key"]] and api.job_rows() == 0
