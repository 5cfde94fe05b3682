"""Handler crashes: the job row missing, and a bug-like exception inside a step."""

import json
import uuid

from devstack.localaws import local_aws, state_names


def test_a_missing_job_row_fails_the_execution_without_writing(database_url, db, monkeypatch):
    """Also runs the in-process harness (mock_aws, no HTTP): nothing here needs S3 or Sync.so."""
    monkeypatch.setenv("PROSYNC_WAIT_SCALE", "0")
    job_id = str(uuid.uuid4())
    with local_aws() as aws:
        arn = aws.deploy()
        execution = aws.start_execution(arn, job_id)
        description = aws.wait_execution(execution, timeout=30)
        states = state_names(aws.history(execution))

    assert description["status"] == "FAILED"
    assert description["error"] == "JobNotFound"
    assert json.loads(json.loads(description["cause"])["errorMessage"]) == {
        "code": "job_not_found", "message": f"job {job_id} does not exist"}
    assert states == ["Take a Sync.so slot", "Job not runnable"]
    assert db.execute("SELECT count(*) AS n FROM job_events").fetchone()["n"] == 0


def test_a_bug_like_exception_fails_the_job_with_the_exception_name(jobs):
    job_id = jobs.create(inputs={"audios": {}})  # a row without its video: building the request breaks
    run = jobs.run(job_id)

    assert run.description["status"] == "FAILED"
    assert run.description["error"] == "KeyError"
    assert run.states == ["Take a Sync.so slot", "Mark job failed", "Job failed"]
    job = jobs.job(job_id)
    assert (job.status.value, job.error_code) == ("failed", "KeyError")
    assert job.error_message == "KeyError: 'video'"
    assert jobs.events(job_id)[-2:] == [("queued", "submitting"), ("submitting", "failed")]
