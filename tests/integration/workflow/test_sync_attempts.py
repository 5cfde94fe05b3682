"""Attempts against a misbehaving Sync.so, on the real state machine, handlers, Postgres and emulator.
Each job ends in the right state with exactly one billed generation per attempt that made one, as the
emulator counts them (`billing.byIdempotencyKey`, key `{jobId}-{attempt}`)."""

import pytest

from .support import BUCKET


def billed(emulator) -> dict[str, int]:
    return emulator.stats_snapshot()["billing"]["byIdempotencyKey"]


def event_details(jobs, job_id: str, step: str) -> list[dict]:
    import uuid

    return [e.detail for e in jobs.repo.events(uuid.UUID(job_id)) if e.detail.get("step") == step]


def test_a_lost_create_answer_is_retried_under_the_same_key_and_billed_once(jobs, emulator):
    emulator.add_faults([{"kind": "lost_create_answer", "mode": "disconnect"}])
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "SUCCEEDED", run.description
    assert run.failed_tasks() == ["SyncApiTransient"]  # retried inside the state: it finds the generation
    assert run.states.count("Submit to Sync.so") == 1
    assert billed(emulator) == {f"{job_id}-1": 1}
    assert emulator.stats_snapshot()["billing"]["billedGenerations"] == 1
    job = jobs.job(job_id)
    assert (job.status.value, job.attempt) == ("completed", 1)
    # the stored request of the attempt, replayed byte for byte
    keys = jobs.local.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=f"requests/{job_id}/")["Contents"]
    assert [k["Key"] for k in keys] == [f"requests/{job_id}/attempt-1.json"]


def test_a_429_storm_requeues_the_job_at_the_head_of_the_line_until_a_slot_is_free(jobs, emulator):
    # request-rate 429s are retried within the attempt; concurrency 429s give the slot back, each time
    # starting a new attempt after Sync.so's Retry-After, the job keeping its place in line
    emulator.add_faults([{"kind": "rate_limit", "route": "create", "count": 2, "retry_after": 1},
                         {"kind": "concurrency_limit", "route": "create", "count": 3, "retry_after": 7}])
    job_id = jobs.create()
    queued_at = jobs.job(job_id).queued_at
    run = jobs.run(job_id)

    assert run.description["status"] == "SUCCEEDED", run.description
    assert run.states.count("Give the slot back") == 3 and run.states.count("Wait out the limit") == 3
    assert run.states.count("Take a Sync.so slot") == 4
    job = jobs.job(job_id)
    assert (job.status.value, job.attempt, job.queued_at) == ("completed", 4, queued_at)
    assert [d["retryAfter"] for d in event_details(jobs, job_id, "requeue")] == [7, 7, 7]
    assert [d["attempt"] for d in event_details(jobs, job_id, "submit")] == [1, 2, 3, 4]
    assert billed(emulator) == {f"{job_id}-4": 1}  # the refused attempts made no generation
    responses = emulator.stats_snapshot()["responses"]["create"]
    assert responses["429"] == 5


def test_a_retryable_failure_gets_a_new_attempt_that_completes(jobs, emulator):
    emulator.add_faults([{"kind": "generation_failure", "outcome": "FAILED", "error_code": "generation_timeout",
                          "message": "the GPU worker timed out"}])
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "SUCCEEDED", run.description
    assert run.states.count("Start a new attempt") == 1 and run.states.count("Submit to Sync.so") == 2
    job = jobs.job(job_id)
    assert (job.status.value, job.attempt, job.generation_retries, job.error_code) == ("completed", 2, 1, None)
    [retry] = event_details(jobs, job_id, "retry")
    assert retry["code"] == "generation_timeout" and retry["attempt"] == 2
    generations = [d["generationId"] for d in event_details(jobs, job_id, "generation")]
    assert len(set(generations)) == 2 and job.sync_generation_id == generations[-1]
    assert retry["generationId"] == generations[0]
    assert billed(emulator) == {f"{job_id}-1": 1, f"{job_id}-2": 1}
    assert emulator.stats_snapshot()["generations"] == {"FAILED": 1, "COMPLETED": 1}


def test_retryable_failures_beyond_the_retries_fail_the_job_with_syncs_code(jobs, emulator, monkeypatch):
    monkeypatch.setenv("SYNC_GENERATION_RETRIES", "1")
    emulator.add_faults([{"kind": "generation_failure", "count": 2, "outcome": "FAILED",
                          "error_code": "generation_pipeline_failed", "message": "pipeline broke"}])
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "FAILED" and run.description["error"] == "GenerationFailed"
    assert run.states.count("Start a new attempt") == 2  # the second finds no retry left
    assert run.states[-4:] == ["Retry left?", "Generation failed", "Mark job failed", "Job failed"]
    job = jobs.job(job_id)
    assert (job.status.value, job.error_code, job.error_message) == ("failed", "generation_pipeline_failed",
                                                                     "pipeline broke")
    assert (job.attempt, job.generation_retries) == (2, 1)
    assert billed(emulator) == {f"{job_id}-1": 1, f"{job_id}-2": 1}


@pytest.mark.parametrize("outcome, code", [("FAILED", "generation_audio_missing"),
                                           ("REJECTED", "generation_pipeline_failed")])
def test_a_failure_not_worth_retrying_fails_the_job_at_once_with_syncs_code(jobs, emulator, outcome, code):
    emulator.add_faults([{"kind": "generation_failure", "outcome": outcome, "error_code": code,
                          "message": "no audio in the second input"}])
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "FAILED" and run.description["error"] == "GenerationFailed"
    assert "Start a new attempt" not in run.states
    job = jobs.job(job_id)
    assert (job.status.value, job.error_code, job.attempt) == ("failed", code, 1)
    assert job.error_message == "no audio in the second input"
    assert billed(emulator) == {f"{job_id}-1": 1}
