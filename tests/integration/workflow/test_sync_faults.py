"""Sync.so misbehaving: each run ends in the right terminal state with a clear error, nothing lost."""

import json

import pytest

from prosync.settings import SubmitSettings
from prosync.syncso import SyncClient
from prosync.workflow.jobstore import submit_request
from prosync.workflow.submit import build_request, submit

from .support import BUCKET


def test_rate_limited_submit_is_retried_then_succeeds(jobs, emulator):
    emulator.add_faults([{"kind": "rate_limit", "route": "create", "count": 1}])
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "SUCCEEDED", run.description
    assert run.failed_tasks() == ["SyncApiTransient"]  # one 429, retried by the state machine
    assert run.states.count("Submit to Sync.so") == 1  # a retry stays inside the state
    stats = emulator.stats_snapshot()
    assert stats["responses"]["create"] == {"429": 1, "201": 1}
    assert stats["generations"] == {"COMPLETED": 1}
    assert jobs.job(job_id).status.value == "completed"


def test_server_errors_until_retries_run_out_fail_the_job_with_syncs_code(jobs, emulator):
    emulator.add_faults([{"kind": "http_error", "route": "create", "count": "always", "status": 503,
                          "error_code": "service_unavailable", "message": "maintenance window"}])
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "FAILED"
    assert run.description["error"] == "SyncApiTransient"
    cause = json.loads(run.description["cause"])
    assert cause == {"code": "service_unavailable", "message": "maintenance window"}
    assert run.failed_tasks() == ["SyncApiTransient"] * 6  # the first try and MaxAttempts=5 retries
    assert run.states[-2:] == ["Mark job failed", "Job failed"]
    job = jobs.job(job_id)
    assert (job.status.value, job.error_code, job.error_message) == ("failed", "service_unavailable",
                                                                     "maintenance window")
    assert jobs.events(job_id)[-2:] == [("queued", "submitting"), ("submitting", "failed")]
    assert emulator.stats_snapshot()["responses"]["create"] == {"503": 6}


@pytest.mark.parametrize("outcome", ["FAILED", "REJECTED"])
def test_failed_or_rejected_generation_keeps_syncs_code_and_message(jobs, emulator, outcome):
    emulator.add_faults([{"kind": "generation_failure", "outcome": outcome,
                          "error_code": "generation_unhandled_error",  # not worth a new attempt
                          "message": f"model {outcome.lower()} the segment at 1.5 s"}])
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "FAILED"
    assert run.description["error"] == "GenerationFailed"
    assert "Generation failed" in run.states and "Download result to S3" not in run.states
    job = jobs.job(job_id)
    assert job.status.value == "failed"
    assert job.error_code == "generation_unhandled_error"
    assert job.error_message == f"model {outcome.lower()} the segment at 1.5 s"
    assert jobs.events(job_id)[-1] == ("processing", "failed")
    assert jobs.local.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="results/").get("KeyCount") == 0


def test_a_huge_sync_error_message_stays_far_below_the_256_kb_state_limit(jobs, emulator):
    # States.DataLimitExceeded is not caught by States.ALL: a 300 KB message from Sync.so in $.poll
    # would end the execution with the job left "processing" for ever
    emulator.add_faults([{"kind": "generation_failure", "error_code": "E" * 5000, "message": "x" * 300_000}])
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "FAILED"
    largest = max(len(json.dumps(event, default=str)) for event in run.events)
    assert largest < 32 * 1024, largest
    job = jobs.job(job_id)
    assert job.status.value == "failed" and job.error_message.startswith("xxx")


@pytest.mark.emulator(generation_seconds=30)
def test_deadline_fails_the_job_with_a_clear_timeout(jobs, emulator, monkeypatch):
    monkeypatch.setenv("WORKFLOW_DEADLINE_SECONDS", "0")
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "FAILED"
    assert run.description["error"] == "DeadlineExceeded"
    assert run.states[-4:] == ["Generation status?", "Deadline passed", "Mark job failed", "Job failed"]
    job = jobs.job(job_id)
    assert (job.status.value, job.error_code) == ("failed", "deadline_exceeded")
    assert "deadline" in job.error_message and job.sync_generation_id in job.error_message


def test_a_conflicting_body_under_the_attempts_key_ends_with_the_keys_generation(jobs, local, emulator):
    """Submit sends one stored body per attempt; should Sync.so still hold another body under the
    attempt's key `{jobId}-{attempt}`, its 409 names that generation (`generationId`) and the attempt
    ends with it instead of failing or making a second one."""
    job_id = jobs.create()
    event = {**submit_request(jobs.job(job_id)), "attempt": 1}
    settings, s3 = SubmitSettings(), local.client("s3")
    other = build_request({**event, "options": {"sync_mode": "loop"}}, settings, s3)
    with SyncClient(emulator.url, emulator.api_key) as sync:
        first = sync.create_generation(other, idempotency_key=f"{job_id}-1")
        answer = submit(event, settings, sync, s3)

    assert (answer["outcome"], answer["generationId"], answer["attempt"]) == ("created", first.id, 1)
    stats = emulator.stats_snapshot()
    assert stats["responses"]["create"] == {"201": 1, "409": 1}
    assert sum(stats["generations"].values()) == 1


def test_the_sync_api_key_can_come_from_secrets_manager(jobs, local, emulator, monkeypatch):
    arn = local.client("secretsmanager").create_secret(
        Name="prosync/sync-api-key", SecretString=json.dumps({"apiKey": emulator.api_key}))["ARN"]
    monkeypatch.delenv("SYNC_API_KEY")
    monkeypatch.setenv("SYNC_API_KEY_SECRET_ARN", arn)
    job_id = jobs.create()
    assert jobs.run(job_id).description["status"] == "SUCCEEDED"
