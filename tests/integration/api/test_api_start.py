"""POST /sync/pro-job/{id}/start: uploads checked (HeadObject), real media probed, segments checked
against it, one execution named by the job id; refused starts leave the job awaiting its uploads."""

import json
import os
from uuid import UUID

import pytest

from prosync.jobs.status import JobStatus
from tests.unit.api.apitest import job_request


def created(api, body=None):
    answer = api.create(body or api.declared())
    assert answer.status == 201, answer.body
    return answer


def refused_start(api, answer, status, loc):
    job_id = answer.body["jobId"]
    result = api.start(job_id)
    assert result.status == status, result.body
    assert loc in result.locs, result.body
    assert api.repo.get_job(UUID(job_id)).status is JobStatus.AWAITING_UPLOAD
    assert api.executions() == []
    return result


def test_start_queues_the_job_and_starts_one_execution(api):
    answer = created(api)
    api.upload(answer)
    job_id = answer.body["jobId"]
    result = api.start(job_id)
    assert result.status == 202, result.body
    assert result.body["status"] == "queued" and result.body["jobId"] == job_id
    [execution] = api.executions()
    assert execution["name"] == job_id
    described = api.aws.sfn.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {"jobId": job_id}
    job = api.repo.get_job(UUID(job_id))
    assert job.status is JobStatus.QUEUED and job.execution_arn == execution["executionArn"]
    assert job.started_at is not None
    video, intro = job.inputs["video"], job.inputs["audios"]["intro"]
    assert video["size"] == api.media["video"].stat().st_size
    assert video["duration"] == pytest.approx(4.0, abs=0.05)
    assert intro["duration"] == pytest.approx(2.0, abs=0.05) and "wav" in intro["format"]
    assert [e.to_status for e in api.repo.events(job.id)] == [JobStatus.AWAITING_UPLOAD, JobStatus.QUEUED]
    for entry in [video, *job.inputs["audios"].values()]:  # the versions checked: what Sync.so gets
        head = api.aws.s3.head_object(Bucket=api.aws.bucket, Key=entry["key"])
        assert entry["versionId"] == head["VersionId"]


@pytest.mark.unversioned_bucket
def test_without_versioning_start_records_no_version(api):
    answer = created(api)
    api.upload(answer)
    assert api.start(answer.body["jobId"]).status == 202
    job = api.repo.get_job(UUID(answer.body["jobId"]))
    assert not any("versionId" in entry for entry in [job.inputs["video"], *job.inputs["audios"].values()])


def test_a_second_start_is_a_no_op(api):
    answer = created(api)
    api.upload(answer)
    first = api.start(answer.body["jobId"])
    second = api.start(answer.body["jobId"])
    assert first.status == second.status == 202 and second.body["status"] == "queued"
    assert len(api.executions()) == 1
    assert len(api.repo.events(UUID(answer.body["jobId"]))) == 2


def test_a_start_past_queued_does_nothing(api):
    answer = created(api)
    api.upload(answer)
    job_id = UUID(answer.body["jobId"])
    api.start(job_id)
    api.repo.transition(job_id, JobStatus.SUBMITTING)
    result = api.start(job_id)
    assert result.status == 202 and result.body["status"] == "submitting" and len(api.executions()) == 1


def test_start_finishes_a_start_that_stopped_before_its_execution(api):
    answer = created(api)
    job_id = UUID(answer.body["jobId"])
    api.repo.transition(job_id, JobStatus.QUEUED)  # as if the last start died after its update
    result = api.start(job_id)
    assert result.status == 202 and [e["name"] for e in api.executions()] == [str(job_id)]


def test_missing_uploads_are_named(api):
    answer = created(api)
    api.upload(answer, files={"video": None, "outro": None})
    result = refused_start(api, answer, 422, ["video"])
    assert result.code == "upload_missing" and ["audios", "outro"] in result.locs
    assert "talk.mp4" in json.dumps(result.body) and "outro.mp3" in json.dumps(result.body)


def test_wrong_content_type_is_refused(api):
    answer = created(api)
    api.upload(answer, content_types={"intro": "application/octet-stream"})
    assert refused_start(api, answer, 422, ["audios", "intro"]).code == "upload_invalid"


def test_a_file_bigger_than_declared_is_413(api):
    body = api.declared(outro=api.media["outro"].stat().st_size - 1)
    answer = created(api, body)
    api.upload(answer)
    refused_start(api, answer, 413, ["audios", "outro"])


def test_corrupt_media_is_refused_naming_the_file(api):
    answer = created(api)
    api.upload(answer, files={"video": os.urandom(20_000)})
    result = refused_start(api, answer, 422, ["video"])
    assert result.code == "upload_invalid" and "talk.mp4" in result.body["error"]["message"]


def test_an_audio_file_as_video_is_refused(api):
    body = api.declared(video=api.media["intro"].stat().st_size)
    answer = created(api, body)
    api.upload(answer, files={"video": api.media["intro"]})
    assert "no video stream" in refused_start(api, answer, 422, ["video"]).body["error"]["message"]


def test_a_segment_past_the_end_of_the_video_is_refused(api):
    body = api.declared()
    body["segments"][0]["endTime"] = 4.5
    answer = created(api, body)
    api.upload(answer)
    # locs at start index the job's segments, which are sorted by startTime (as the status shows them)
    refused_start(api, answer, 422, ["segments", 1, "endTime"])


def test_a_crop_past_the_end_of_its_audio_is_refused(api):
    body = api.declared()
    body["segments"][0]["audioInput"]["endTime"] = 2.5  # outro is 2 s long
    answer = created(api, body)
    api.upload(answer)
    refused_start(api, answer, 422, ["segments", 1, "audioInput", "endTime"])


def test_more_than_300_seconds_of_speech_in_a_segment_is_refused(api):
    body = api.declared(intro=api.media["long"].stat().st_size)
    body["audios"][0]["fileName"] = "long.wav"
    answer = created(api, body)
    api.upload(answer, files={"intro": api.media["long"]})
    result = refused_start(api, answer, 422, ["segments", 0, "audioInput"])
    assert "300" in result.body["error"]["message"]


def test_a_refused_start_can_be_retried_after_a_good_upload(api):
    answer = created(api)
    api.upload(answer, files={"video": os.urandom(1000)})
    assert api.start(answer.body["jobId"]).status == 422
    api.upload(answer)
    assert api.start(answer.body["jobId"]).status == 202 and len(api.executions()) == 1


def test_start_refuses_when_too_many_jobs_run(api):
    answer = created(api)
    api.upload(answer)
    for _ in range(3):
        other = UUID(created(api, job_request()).body["jobId"])
        api.repo.transition(other, JobStatus.QUEUED)
    result = api.start(answer.body["jobId"])
    assert result.status == 429 and api.executions() == []


def test_a_user_downgraded_to_free_cannot_start(api):
    answer = created(api)
    api.upload(answer)
    from prosync.settings import Tier

    api.repo.set_tier("pro", Tier.FREE)
    result = api.start(answer.body["jobId"])
    assert result.status == 403 and result.code == "tier_forbidden" and api.executions() == []
    assert api.repo.get_job(UUID(answer.body["jobId"])).status is JobStatus.AWAITING_UPLOAD


def test_concurrent_starts_never_exceed_the_active_job_limit(api, module_database):
    # two containers starting two jobs at once: each counted the others' active jobs before either
    # had queued its own, so both started and the user ran one job more than the plan allows
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from prosync import api as use_cases
    from prosync.db.connection import connect
    from prosync.db.repository import JobRepository
    from prosync.errors import TooManyActiveJobs
    from prosync.settings import DatabaseSettings, api_settings

    limit = api_settings().tiers.pro.max_active_jobs
    for _ in range(limit - 1):
        api.repo.transition(UUID(created(api, job_request()).body["jobId"]), JobStatus.QUEUED)
    pending = [created(api) for _ in range(2)]
    for answer in pending:
        api.upload(answer)
    barrier = threading.Barrier(2)

    def start(answer):
        with connect(DatabaseSettings(database_url=module_database)) as conn:
            barrier.wait()
            try:
                return use_cases.start_job(use_cases.Caller("pro"), UUID(answer.body["jobId"]),
                                           repo=JobRepository(conn), settings=api_settings()).status
            except TooManyActiveJobs:
                return 429

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(str(o) for o in pool.map(start, pending))
    assert outcomes == ["429", "queued"]
    assert api.repo.count_active("pro") == limit and len(api.executions()) == 1


def _segments(n: int) -> list[dict]:
    """n touching 0.5 s segments over the 4 s video, alternating the two audios (all used)."""
    return [{"startTime": i * 0.5, "endTime": (i + 1) * 0.5,
             "audioInput": {"refId": "intro" if i % 2 == 0 else "outro"}} for i in range(n)]


def test_too_many_segments_for_the_current_tier_is_422(api):
    # created on enterprise (10 segments), then downgraded to pro (5): start checks the plan of now
    from prosync.settings import Tier

    body = api.declared()
    body["segments"] = _segments(6)
    answer = api.create(body, user="ent")
    assert answer.status == 201, answer.body
    api.upload(answer)
    api.repo.set_tier("ent", Tier.PRO)
    result = api.start(answer.body["jobId"], user="ent")
    assert result.status == 422 and result.locs == [["segments"]], result.body
    assert "at most 5" in result.body["error"]["message"]
    assert api.repo.get_job(UUID(answer.body["jobId"])).status is JobStatus.AWAITING_UPLOAD
    assert api.executions() == []
    api.repo.set_tier("ent", Tier.ENTERPRISE)
    assert api.start(answer.body["jobId"], user="ent").status == 202
