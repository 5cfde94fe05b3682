"""The sweeper against real Postgres and moto running real executions (`devstack.localaws`): each kind
of stuck job is ended, and healthy or finished jobs are left exactly as they were."""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber

from devstack.localaws import local_aws
from functions.sweeper.handler import lambda_handler
from prosync.jobs import sweep
from prosync.jobs.status import JobStatus
from tests.integration.sweeper.sweepkit import BUCKET, Jobs
from tests.unit.api.apitest import LambdaContext

@pytest.fixture
def jobs(db, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with local_aws(no_sleep=False) as aws:
        made = Jobs(db, aws)
        yield made
        for arn in made.executions:  # end the waiting ones (their threads would sleep for an hour)
            if made.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                made.sfn.stop_execution(executionArn=arn)


def test_an_abandoned_upload_job_expires_and_its_uploads_go(jobs):
    old = jobs.make(JobStatus.AWAITING_UPLOAD, age_minutes=25 * 60, upload=True)
    young = jobs.make(JobStatus.AWAITING_UPLOAD, age_minutes=23 * 60, upload=True)
    counts = jobs.sweep()
    assert counts == {"expired": 1, "not_started": 0, "ended": 0, "running": 0, "skipped": 0, "errors": 0}
    row = jobs.row(old)
    assert (row["status"], row["stage"], row["error_code"]) == ("expired", "expired", "job_expired")
    assert row["completed_at"] is not None
    event = jobs.last_event(old)
    assert (event.from_status, event.to_status, event.detail["by"]) == (
        JobStatus.AWAITING_UPLOAD, JobStatus.EXPIRED, "sweeper")
    assert jobs.keys() == [f"uploads/user-1/{young}/audio-a.wav", f"uploads/user-1/{young}/video.mp4"]
    assert jobs.row(young)["status"] == "awaiting_upload"
    # the bucket is versioned: every version went (no delete marker left hiding noncurrent bytes)
    listed = jobs.s3.list_object_versions(Bucket=BUCKET, Prefix=f"uploads/user-1/{old}/")
    assert listed.get("Versions", []) == [] and listed.get("DeleteMarkers", []) == []
    with pytest.raises(jobs.s3.exceptions.NoSuchKey):
        jobs.s3.get_object(Bucket=BUCKET, Key=f"uploads/user-1/{old}/video.mp4")


def test_an_expired_job_without_uploads_expires_too(jobs):
    job = jobs.make(JobStatus.AWAITING_UPLOAD, age_minutes=25 * 60)
    assert jobs.sweep()["expired"] == 1 and jobs.row(job)["status"] == "expired"


def test_a_queued_job_whose_execution_never_started_fails(jobs):
    missing = jobs.make(JobStatus.QUEUED, age_minutes=20, execution="missing")
    no_arn = jobs.make(JobStatus.QUEUED, age_minutes=20)
    recent = jobs.make(JobStatus.QUEUED, age_minutes=5, execution="missing")
    counts = jobs.sweep()
    assert (counts["not_started"], counts["errors"]) == (2, 0)
    for job in (missing, no_arn):
        row = jobs.row(job)
        assert (row["status"], row["error_code"]) == ("failed", "workflow_not_started")
        assert "never started" in row["error_message"]
        event = jobs.last_event(job)
        assert (event.from_status, event.to_status) == (JobStatus.QUEUED, JobStatus.FAILED)
        assert event.detail == {"by": "sweeper", "step": "failed", "code": "workflow_not_started"}
    assert jobs.row(recent)["status"] == "queued"


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.SUBMITTING, JobStatus.PROCESSING,
                                    JobStatus.DOWNLOADING])
def test_a_job_whose_execution_failed_without_recording_it_fails(jobs, status):
    job = jobs.make(status, age_minutes=20, execution="failed")
    assert jobs.sweep()["ended"] == 1
    row = jobs.row(job)
    assert (row["status"], row["error_code"]) == ("failed", "workflow_failed")
    assert row["error_message"] == ("the job's workflow ended FAILED without recording it on the job "
                                    "(DatabaseUnavailable: db down)")
    assert jobs.last_event(job).from_status is status


def test_a_timed_out_execution_fails_its_job(jobs):
    job = jobs.make(JobStatus.PROCESSING, age_minutes=200, execution="timed_out")
    assert jobs.sweep()["ended"] == 1
    row = jobs.row(job)
    assert (row["status"], row["error_code"]) == ("failed", "workflow_timed_out")
    assert "TIMED_OUT" in row["error_message"]


def test_an_aborted_execution_fails_its_job(jobs):
    job = jobs.make(JobStatus.DOWNLOADING, age_minutes=20, execution="running")
    jobs.sfn.stop_execution(executionArn=jobs.row(job)["execution_arn"], error="Operator", cause="by hand")
    assert jobs.sweep()["ended"] == 1
    assert (jobs.row(job)["status"], jobs.row(job)["error_code"]) == ("failed", "workflow_aborted")


def test_a_job_left_running_by_a_succeeded_execution_fails(jobs):
    # never made by our state machine (its Succeed states follow a terminal write), but such a job
    # would never move again
    job = jobs.make(JobStatus.PROCESSING, age_minutes=20, execution="succeeded")
    assert jobs.sweep()["ended"] == 1 and jobs.row(job)["error_code"] == "workflow_succeeded"


def test_a_running_job_whose_execution_is_gone_fails_as_missing(jobs):
    job = jobs.make(JobStatus.PROCESSING, age_minutes=20, execution="missing")
    assert jobs.sweep()["not_started"] == 1
    assert jobs.row(job)["error_code"] == "workflow_missing"


def test_healthy_and_finished_jobs_are_untouched(jobs):
    healthy = [jobs.make(s, age_minutes=90, execution="running")
               for s in (JobStatus.QUEUED, JobStatus.SUBMITTING, JobStatus.PROCESSING, JobStatus.DOWNLOADING)]
    finished = [jobs.make(s, age_minutes=48 * 60, execution="failed", upload=True)
                for s in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED)]
    finished.append(jobs.make(JobStatus.EXPIRED, age_minutes=48 * 60, upload=True))
    before = {job: (jobs.row(job), len(jobs.repo.events(job))) for job in healthy + finished}
    keys = jobs.keys()
    counts = jobs.sweep()
    assert counts == {"expired": 0, "not_started": 0, "ended": 0, "running": 4, "skipped": 0, "errors": 0}
    assert {job: (jobs.row(job), len(jobs.repo.events(job))) for job in before} == before
    assert jobs.keys() == keys


def test_each_kind_is_bounded_per_run_oldest_first(jobs):
    ages = [30, 40, 50]
    expiring = [jobs.make(JobStatus.AWAITING_UPLOAD, age_minutes=24 * 60 + a) for a in ages]
    stalled = [jobs.make(JobStatus.QUEUED, age_minutes=a) for a in ages]
    first = jobs.sweep(sweep_batch_size=2)
    assert (first["expired"], first["not_started"]) == (2, 2)
    assert [jobs.row(j)["status"] for j in expiring] == ["awaiting_upload", "expired", "expired"]
    assert [jobs.row(j)["status"] for j in stalled] == ["queued", "failed", "failed"]
    second = jobs.sweep(sweep_batch_size=2)
    assert (second["expired"], second["not_started"]) == (1, 1)


def test_a_describe_failure_skips_the_job_finishes_the_run_then_raises(jobs):
    stalled = jobs.make(JobStatus.PROCESSING, age_minutes=20, execution="missing")
    abandoned = jobs.make(JobStatus.AWAITING_UPLOAD, age_minutes=25 * 60)
    with Stubber(jobs.sfn) as stub:
        stub.add_client_error("describe_execution", service_error_code="ThrottlingException",
                              http_status_code=400)
        with pytest.raises(sweep.SweepIncomplete) as raised:
            sweep.run(jobs.repo, jobs.settings, jobs.sfn, jobs.s3)
    assert json.loads(str(raised.value)) == {"expired": 1, "not_started": 0, "ended": 0, "running": 0,
                                             "skipped": 0, "errors": 1}
    assert jobs.row(abandoned)["status"] == "expired" and jobs.row(stalled)["status"] == "processing"
    assert jobs.sweep()["not_started"] == 1  # the next run gets it


def test_the_handler_sweeps_with_the_functions_settings(jobs, database_url, monkeypatch):
    monkeypatch.setenv("MEDIA_BUCKET", BUCKET)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    job = jobs.make(JobStatus.AWAITING_UPLOAD, age_minutes=25 * 60, upload=True)
    from prosync.workflow import runtime

    runtime.reset()
    counts = lambda_handler({"source": "aws.events"}, LambdaContext())
    assert counts["expired"] == 1 and jobs.row(job)["status"] == "expired" and jobs.keys() == []


def test_the_sweeper_queries_use_the_partial_index(db):
    db.execute("SET enable_seqscan = off")
    for statuses in (["awaiting_upload"], ["submitting", "processing", "downloading"]):
        plan = db.execute(
            "EXPLAIN SELECT * FROM video_jobs WHERE status = ANY(%s) AND updated_at < now() - "
            "make_interval(secs => %s) ORDER BY updated_at, id LIMIT %s", (statuses, 900, 100)).fetchall()
        text = "\n".join(r["QUERY PLAN"] for r in plan)
        assert "idx_video_jobs_unfinished_status_updated" in text, text
