"""Status, list, cancel and limits through the handler; another user's job is a 404 on every route."""

from urllib.parse import urlparse
from uuid import UUID, uuid4

import pytest

from prosync.jobs.status import JobStatus
from tests.unit.api.apitest import call


def new_job(api, user="pro") -> UUID:
    answer = api.create(user=user)
    assert answer.status == 201, answer.body
    return UUID(answer.body["jobId"])


def started(api) -> UUID:
    answer = api.create(api.declared())
    api.upload(answer)
    assert api.start(answer.body["jobId"]).status == 202
    return UUID(answer.body["jobId"])


def test_status_of_a_new_job(api):
    job_id = new_job(api)
    answer = api.status(job_id)
    assert answer.status == 200
    body = answer.body
    assert (body["jobId"], body["status"]) == (str(job_id), "awaiting_upload")
    assert (body["stage"], body["progress"]) == ("upload", 0)
    assert [s["startTime"] for s in body["segments"]] == [0.0, 2.0]
    assert body["resultUrl"] is None and body["error"] is None and body["syncGenerationId"] is None
    assert body["createdAt"] and body["updatedAt"]
    assert [h["toStatus"] for h in body["history"]] == ["awaiting_upload"]


def test_status_of_a_completed_job_has_a_presigned_result_url(api):
    job_id = started(api)
    api.repo.transition(job_id, JobStatus.SUBMITTING)
    api.repo.transition(job_id, JobStatus.PROCESSING, sync_generation_id="gen-123")
    api.repo.transition(job_id, JobStatus.DOWNLOADING)
    api.repo.transition(job_id, JobStatus.COMPLETED, result_key=f"results/{job_id}/talk_dubbed.mp4",
                        output_duration=4.0)
    body = api.status(job_id).body
    assert (body["status"], body["progress"], body["syncGenerationId"]) == ("completed", 100, "gen-123")
    url = urlparse(body["resultUrl"])
    assert url.path.endswith(f"results/{job_id}/talk_dubbed.mp4") and "X-Amz-Signature" in url.query
    assert [h["toStatus"] for h in body["history"]][-1] == "completed"


def test_history_shows_no_aws_internals(api):
    # the workflow's events carry the execution ARN (account id, state machine name) and the S3 key
    from prosync.settings import JobStoreSettings
    from prosync.workflow import jobstore

    job_id = started(api)
    [execution] = api.executions()
    settings = JobStoreSettings()
    jobstore.handle({"action": "mark_submitting", "jobId": str(job_id),
                     "executionArn": execution["executionArn"]}, settings)
    jobstore.handle({"action": "record_generation", "jobId": str(job_id), "generationId": "gen-1",
                     "poll": {"interval": 5, "waitSeconds": 0, "deadline": "2999-01-01T00:00:00+00:00"}},
                    settings)
    jobstore.handle({"action": "mark_downloading", "jobId": str(job_id), "generationId": "gen-1"}, settings)
    jobstore.handle({"action": "mark_completed", "jobId": str(job_id),
                     "result": {"resultKey": f"results/{job_id}/talk_dubbed.mp4", "size": 10, "duration": 4.0}},
                    settings)
    body = api.status(job_id).body
    assert [h["toStatus"] for h in body["history"]][-1] == "completed"
    history = str(body["history"])
    assert "arn:aws" not in history and "results/" not in history, history
    assert {"step": "generation", "generationId": "gen-1"} in [h["detail"] for h in body["history"]]


def test_a_connection_the_database_dropped_while_idle_is_replaced(api, monkeypatch):
    # RDS Proxy closes client connections idle for 30 min: the warm container's first request after
    # that failed with 503 although DESIGN §4 promises a reconnect
    from prosync.settings import api_settings

    job_id = new_job(api)
    assert api.status(job_id).status == 200
    others = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    idle = {row["pid"] for row in api.db.execute(others)}
    assert idle, "the api's connection is kept warm between invocations"
    for pid in idle:  # what the proxy's idle timeout does
        api.db.execute("SELECT pg_terminate_backend(%s)", (pid,))

    monkeypatch.setenv("DB_IDLE_CHECK_SECONDS", "0")  # "idle for longer than the check interval"
    api_settings.cache_clear()
    answer = api.status(job_id)
    assert answer.status == 200, answer.body
    assert not idle & {row["pid"] for row in api.db.execute(others)}


def test_status_of_a_failed_job_has_its_error(api):
    job_id = started(api)
    api.repo.transition(job_id, JobStatus.FAILED, error_code="generation_audio_length_exceeded",
                        error_message="audio is longer than 300 s")
    body = api.status(job_id).body
    assert body["error"] == {"code": "generation_audio_length_exceeded",
                             "message": "audio is longer than 300 s"}


def test_list_is_newest_first_with_cursor_pages(api):
    ids = [new_job(api) for _ in range(5)]
    new_job(api, user="other")
    first = call("GET", "/sync/pro-jobs", user="pro", query={"limit": "2"})
    assert first.status == 200 and [j["jobId"] for j in first.body["jobs"]] == [str(i) for i in ids[::-1][:2]]
    assert first.body["jobs"][0]["history"] is None
    seen = [j["jobId"] for j in first.body["jobs"]]
    cursor = first.body["nextCursor"]
    while cursor:
        page = call("GET", "/sync/pro-jobs", user="pro", query={"limit": "2", "cursor": cursor})
        seen += [j["jobId"] for j in page.body["jobs"]]
        cursor = page.body["nextCursor"]
    assert seen == [str(i) for i in ids[::-1]]


def test_list_filters_by_status(api):
    waiting, canceled = new_job(api), new_job(api)
    api.cancel(canceled)
    answer = call("GET", "/sync/pro-jobs", user="pro", query={"status": "canceled"})
    assert [j["jobId"] for j in answer.body["jobs"]] == [str(canceled)]
    answer = call("GET", "/sync/pro-jobs", user="pro", query={"status": "awaiting_upload"})
    assert [j["jobId"] for j in answer.body["jobs"]] == [str(waiting)] and answer.body["nextCursor"] is None


@pytest.mark.parametrize("cursor", ["garbage!", "eyJhIjoxfQ"])
def test_a_bad_cursor_is_422(api, cursor):
    answer = call("GET", "/sync/pro-jobs", user="pro", query={"cursor": cursor})
    assert answer.status == 422 and answer.locs == [["query", "cursor"]]


def test_cancel_a_job_awaiting_uploads(api):
    job_id = new_job(api)
    answer = api.cancel(job_id)
    assert answer.status == 202 and answer.body["status"] == "canceled"
    assert api.repo.get_job(job_id).completed_at is not None


def test_cancel_stops_the_execution(api):
    job_id = started(api)
    answer = api.cancel(job_id)
    assert answer.status == 202 and answer.body["status"] == "canceled"
    [execution] = api.executions()
    assert execution["status"] == "ABORTED"
    assert api.start(job_id).body["status"] == "canceled" and len(api.executions()) == 1


def test_cancel_of_an_ended_job_is_409(api):
    job_id = new_job(api)
    assert api.cancel(job_id).status == 202
    answer = api.cancel(job_id)
    assert answer.status == 409 and answer.code == "illegal_state"


def test_limits_per_tier(api):
    pro = call("GET", "/sync/limits", user="pro").body
    assert (pro["tier"], pro["canCreateJobs"], pro["activeJobs"]) == ("pro", True, 0)
    assert pro["limits"]["maxSegments"] == 5
    assert call("GET", "/sync/limits", user="ent").body["limits"]["maxSegments"] == 10
    free = call("GET", "/sync/limits", user="free").body
    assert (free["tier"], free["canCreateJobs"], free["limits"]) == ("free", False, None)
    assert "audio/wav" in free["audioContentTypes"] and "video/mp4" in free["videoContentTypes"]


def test_another_users_job_is_404_on_every_route(api):
    job_id = started(api)
    for method, route in (("GET", "status"), ("POST", "start"), ("POST", "cancel")):
        for path in (f"/sync/pro-job/{job_id}/{route}", f"/sync/pro-job/{uuid4()}/{route}"):
            answer = call(method, path, user="other")
            assert answer.status == 404 and answer.code == "job_not_found", (route, answer.body)
    assert call("GET", "/sync/pro-jobs", user="other").body["jobs"] == []
    assert api.repo.get_job(job_id).status is JobStatus.QUEUED and len(api.executions()) == 1
