"""What the status answer shows of a failed job's error: Sync.so's code and message and our messages
written for users as they are; internals (exception names, connection strings, execution causes)
never: our code and a safe message instead, while the job row keeps the detail for operators."""

from uuid import UUID

import pytest

from prosync.api.public_errors import INTERNAL_MESSAGE, SYNC_UNREACHABLE_MESSAGE
from prosync.jobs.status import JobStatus
from tests.unit.api.apitest import call

DB_DOWN = ('OperationalError: connection to server at "prosync.proxy-abc.eu-west-1.rds.amazonaws.com" '
           "(10.0.3.7), port 5432 failed: Connection timed out")


def failed_job(api, code: str, message: str) -> UUID:
    job_id = UUID(api.create().body["jobId"])
    api.repo.transition(job_id, JobStatus.QUEUED)
    api.repo.transition(job_id, JobStatus.FAILED, detail={"step": "failed", "error": "DatabaseUnavailable",
                                                          "code": code}, error_code=code, error_message=message)
    return job_id


def shown(api, job_id: UUID) -> dict:
    answer = api.status(job_id)
    assert answer.status == 200, answer.body
    return answer.body


def test_a_jobstore_failure_shows_no_connection_details(api):
    job_id = failed_job(api, "database_unavailable", DB_DOWN)
    body = shown(api, job_id)
    assert body["error"] == {"code": "database_unavailable", "message": INTERNAL_MESSAGE}
    assert "5432" not in str(body) and "OperationalError" not in str(body) and "10.0.3.7" not in str(body)
    failed = body["history"][-1]
    assert failed["detail"] == {"step": "failed", "code": "database_unavailable"}  # no exception name
    assert api.repo.get_job(job_id).error_message == DB_DOWN  # the row keeps it for operators


@pytest.mark.parametrize("code, message", [
    ("generation_audio_length_exceeded", "audio is longer than 300 s"),  # Sync.so's generation error_code
    ("generation_failed", "model failed the segment at 1.5 s"),  # poll: a FAILED generation without code
    ("file_size_exceeds_plan_limit", "your plan allows 20 MB"),  # Sync.so's errorCode of a refused request
    ("http_402", "insufficient credits"),  # Sync.so refused without an errorCode
    ("deadline_exceeded", "Sync.so generation g-1 was still PROCESSING at the job's deadline"),
    ("job_expired", "the job was not started within 24 h of its last change; create it again"),
    ("workflow_not_started", "the job's workflow never started (its start was interrupted)"),
])
def test_user_relevant_errors_keep_their_message(api, code, message):
    assert shown(api, failed_job(api, code, message))["error"] == {"code": code, "message": message}


@pytest.mark.parametrize("code, message", [
    ("download_failed", "ReadTimeout: https://10.1.2.3:9000/out.mp4"),
    ("output_url_rejected", "Sync.so's output URL points to 10.255.255.1, a private address"),
    ("job_state_conflict", "job 1234 is processing; it may not become submitting"),
    ("workflow_failed", "the job's workflow ended FAILED without recording it on the job "
                        "(database_unavailable: OperationalError: connection to server at …)"),
    ("workflow_timed_out", "the job's workflow ended TIMED_OUT without recording it on the job"),
])
def test_our_internal_codes_keep_the_code_with_a_safe_message(api, code, message):
    assert shown(api, failed_job(api, code, message))["error"] == {"code": code, "message": INTERNAL_MESSAGE}


@pytest.mark.parametrize("code", ["timeout", "connection_failed", "invalid_response", "http_503"])
def test_sync_so_out_of_reach_says_so_without_the_transport_detail(api, code):
    job_id = failed_job(api, code, "ConnectError: [Errno 111] Connection refused (10.9.9.9:443)")
    assert shown(api, job_id)["error"] == {"code": code, "message": SYNC_UNREACHABLE_MESSAGE}


@pytest.mark.parametrize("code, message", [
    ("States.Timeout", "States.Timeout"),
    ("Lambda.Unknown", "Lambda.Unknown: The cause could not be determined because Lambda did not return"),
    ("KeyError", "KeyError: 'video'"),
    ("UnexpectedGenerationStatus", 'UnexpectedGenerationStatus: {"outputUrl": "https://cdn/x.mp4?sig=…"}'),
    (None, "something without a code"),
])
def test_exception_names_become_internal_error(api, code, message):
    job_id = failed_job(api, code or "error", message)
    if code is None:
        api.db.execute("UPDATE video_jobs SET error_code = NULL WHERE id = %s", (job_id,))
    body = shown(api, job_id)
    assert body["error"] == {"code": "internal_error", "message": INTERNAL_MESSAGE}
    if code is not None:
        assert body["history"][-1]["detail"]["code"] == "internal_error"


def test_the_job_list_shows_the_same_safe_error(api):
    failed_job(api, "database_unavailable", DB_DOWN)
    [job] = call("GET", "/sync/pro-jobs", user="pro").body["jobs"]
    assert job["error"] == {"code": "database_unavailable", "message": INTERNAL_MESSAGE}
