"""Text removal on the real state machine (issue 16): download -> plan -> Map over chunks -> join ->
completed, the lip-synced file kept beside the cleaned one; a chunk that keeps failing is retried,
then fails the job with a clear error and nothing but the kept file left under results/."""

import json

import av
import pytest
from prosync.aws import media_s3_client
from prosync.textremoval import steps

from .support import BUCKET

TEXT_STATES = ["Remove text?", "Plan text removal", "Mark job removing text", "Find text?", "Remove text in chunks",
               "Clean a chunk", "Count the chunk"]


def _with_text_removal(jobs, config):
    job_id = jobs.create()
    job = jobs.job(job_id)
    jobs.repo.conn.execute("UPDATE video_jobs SET inputs = inputs || jsonb_build_object('textRemoval', %s::jsonb)"
                           " WHERE id = %s", (json.dumps(config), job.id))
    return job_id


def _results(jobs, job_id):
    listed = jobs.local.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=f"results/{job_id}/")
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_text_removal_runs_after_download(jobs, monkeypatch, tmp_path):
    job_id = _with_text_removal(jobs, {"regions": [{"x": 0.1, "y": 0.7, "width": 0.8, "height": 0.2}]})
    run = jobs.run(job_id, timeout=120)
    assert run.description["status"] == "SUCCEEDED", run.description
    states = run.states
    assert states[states.index("Download result to S3") + 1:][:5] == TEXT_STATES[:5]
    assert states[-3:] == ["Join the chunks", "Mark job completed", "Job completed"]
    assert _results(jobs, job_id) == [f"results/{job_id}/talk_dubbed.lipsync.mp4", f"results/{job_id}/talk_dubbed.mp4"]
    job = jobs.job(job_id)
    assert job.status.value == "completed" and job.result_key == f"results/{job_id}/talk_dubbed.mp4"
    assert jobs.events(job_id)[-2:] == [("downloading", "removing_text"), ("removing_text", "completed")]
    chunks = job.inputs["textRemovalChunks"]
    assert chunks["total"] >= 1 and len(chunks["done"]) == chunks["total"]
    s3 = media_s3_client()  # whole-object GETs of multipart results: checksums only when required
    counts = []
    for name in ("talk_dubbed.lipsync.mp4", "talk_dubbed.mp4"):
        s3.download_file(BUCKET, f"results/{job_id}/{name}", str(tmp_path / name))
        with av.open(str(tmp_path / name)) as c:
            counts.append((sum(1 for _ in c.demux(c.streams.video[0])), len(c.streams.audio)))
    assert counts[0] == counts[1]


def test_auto_looks_for_text_in_every_chunk_then_merges(jobs):
    job_id = _with_text_removal(jobs, {"auto": True})
    run = jobs.run(job_id, timeout=120)
    assert run.description["status"] == "SUCCEEDED", run.description
    states = run.states
    start = states.index("Mark job removing text")
    assert states[start + 1:start + 4] == ["Find text?", "Find text in chunks", "Find text in a chunk"]
    assert states.index("Merge the text found") < states.index("Remove text in chunks")
    assert _results(jobs, job_id) == [f"results/{job_id}/talk_dubbed.lipsync.mp4",
                                      f"results/{job_id}/talk_dubbed.mp4"]


def test_a_chunk_that_keeps_failing_fails_the_job_and_leaves_only_the_kept_file(jobs, monkeypatch):
    calls = []

    def failing(event, settings, s3):
        calls.append(event["index"])
        raise steps.TextRemovalFailed(f"chunk {event['index']} could not be cleaned: encoder crashed")

    monkeypatch.setitem(steps.ACTIONS, "chunk", failing)
    job_id = _with_text_removal(jobs, {"auto": False, "regions": [{"x": 0, "y": 0, "width": 0.5, "height": 0.5}]})
    run = jobs.run(job_id, timeout=120)
    assert run.description["status"] == "FAILED"
    assert calls.count(0) == 2  # retried once
    assert "Clean up text removal" in run.states and "Join the chunks" not in run.states
    job = jobs.job(job_id)
    assert job.status.value == "failed" and job.error_code == "text_removal_failed"
    assert "could not be cleaned" in job.error_message and job.result_key is None
    assert _results(jobs, job_id) == [f"results/{job_id}/talk_dubbed.lipsync.mp4"]


@pytest.fixture(autouse=True)
def _fast_chunks(monkeypatch):
    monkeypatch.setenv("TEXT_REMOVAL_CHUNK_SECONDS", "1")


def test_chunks_done_count_once_each_and_show_in_the_status(jobs):
    from uuid import UUID

    from prosync.api.common import text_removal_fields
    from prosync.jobs.status import JobStatus
    from prosync.settings import JobStoreSettings
    from prosync.workflow import jobstore

    job_id = _with_text_removal(jobs, {"auto": True})
    for status in (JobStatus.SUBMITTING, JobStatus.PROCESSING, JobStatus.DOWNLOADING):
        assert jobs.repo.transition(UUID(job_id), status)
    settings = JobStoreSettings()
    answer = jobstore.handle({"action": "mark_removing_text", "jobId": job_id, "chunkCount": 3}, settings)
    assert answer == {"status": "removing_text"}
    for index in (1, 1, 2):  # a retried step counts its chunk once
        done = jobstore.handle({"action": "text_chunk_done", "jobId": job_id, "index": index}, settings)
    assert done == {"done": 2, "total": 3}
    job = jobs.job(job_id)
    assert job.stage == "removing_text"
    assert text_removal_fields(job)["progress"] == 92 + round(7 * 2 / 3)
    # a retried mark keeps the count
    jobstore.handle({"action": "mark_removing_text", "jobId": job_id, "chunkCount": 3}, settings)
    assert len(jobs.job(job_id).inputs["textRemovalChunks"]["done"]) == 2
