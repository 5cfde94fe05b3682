"""A job started twice makes one execution and one generation; a canceled job gets no later writes."""

import time
import uuid

import pytest
from botocore.exceptions import ClientError

from prosync.jobs.status import JobStatus

from .support import BUCKET


def _wait_for_status(jobs, job_id, status: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while jobs.job(job_id).status.value != status:
        assert time.monotonic() < deadline, f"job never reached {status}"
        time.sleep(0.02)


def test_a_duplicate_start_is_one_execution_and_one_generation(jobs, emulator):
    job_id = jobs.create()
    first = jobs.start(job_id)
    try:  # while it runs, the same name and input answer with the same execution (as on AWS)
        assert jobs.start(job_id) == first
    except ClientError as exc:  # already finished: the name is taken
        assert exc.response["Error"]["Code"] == "ExecutionAlreadyExists"
    assert jobs.finish(job_id, first).description["status"] == "SUCCEEDED"
    with pytest.raises(ClientError, match="ExecutionAlreadyExists"):
        jobs.start(job_id)
    events = jobs.events(job_id)

    # an execution under another name does not get the job: it ends without writing
    local = jobs.local
    again = local.start_execution(local.state_machine_arn, job_id, name=f"{job_id}-again")
    other = jobs.finish(job_id, again)
    assert other.description["status"] == "FAILED" and other.description["error"] == "JobStateConflict"
    assert other.states == ["Take a Sync.so slot", "Job not runnable"]

    sfn = local.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=local.state_machine_arn)["executions"]
    assert sorted(e["name"] for e in executions) == sorted([job_id, f"{job_id}-again"])
    assert jobs.events(job_id) == events and jobs.job(job_id).status.value == "completed"
    stats = emulator.stats_snapshot()
    assert stats["requests"]["create"] == 1 and stats["generations"] == {"COMPLETED": 1}


@pytest.mark.emulator(generation_seconds=20)
def test_cancel_stops_the_execution_and_nothing_is_written_after(jobs):
    job_id = jobs.create()
    execution = jobs.start(job_id)
    _wait_for_status(jobs, job_id, "processing")
    deadline = time.monotonic() + 20  # and waiting for Sync.so (its task token stored), as a user sees it
    while not jobs.job(job_id).task_token:
        assert time.monotonic() < deadline, "the execution never waited for the generation"
        time.sleep(0.02)

    # what the API's cancel does: mark the job canceled, then stop the execution
    canceled = jobs.repo.transition(uuid.UUID(job_id), JobStatus.CANCELED, detail={"step": "cancel"})
    jobs.local.client("stepfunctions").stop_execution(executionArn=execution, error="JobCanceled",
                                                      cause="canceled by the user")
    run = jobs.finish(job_id, execution)
    time.sleep(0.5)  # a task in flight when the stop came must not write either

    assert run.description["status"] == "ABORTED"
    job = jobs.job(job_id)
    assert job.status.value == "canceled" and job.updated_at == canceled.updated_at
    assert jobs.events(job_id)[-1] == ("processing", "canceled")
    assert "Mark job failed" not in run.states


@pytest.mark.emulator(generation_seconds=1.5)
def test_a_job_canceled_without_stopping_the_execution_ends_it_without_writes(jobs, emulator):
    """The race: the API marked the job canceled but StopExecution has not landed yet."""
    job_id = jobs.create()
    execution = jobs.start(job_id)
    _wait_for_status(jobs, job_id, "processing")
    canceled = jobs.repo.transition(uuid.UUID(job_id), JobStatus.CANCELED, detail={"step": "cancel"})
    run = jobs.finish(job_id, execution)

    assert run.description["status"] == "SUCCEEDED"
    # refused where it stood: waiting for the generation, or marking the download after the fallback poll
    assert run.states[-1] == "Job canceled"
    assert run.states[-2] in ("Wait for generation", "Mark job downloading")
    job = jobs.job(job_id)
    assert job.status.value == "canceled" and job.updated_at == canceled.updated_at
    assert jobs.events(job_id)[-1] == ("processing", "canceled")
    assert jobs.local.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="results/").get("KeyCount") == 0
