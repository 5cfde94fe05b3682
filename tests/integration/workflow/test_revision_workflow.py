"""A revision through the real state machine (issue 17): the parent runs to completion, then one of its
segments gets a new audio through the API (revise, presigned upload, start). Only the clip goes to
Sync.so (its duration measured), the result has the parent's frame count and duration, the parent's
frames (PSNR >= 40 dB) and audio outside the range, the new tone inside. A failed revision leaves the
parent as it was."""

from __future__ import annotations

import math
import uuid

import av
import numpy as np

from devstack.media_samples import decode_audio_pcm, make_tone, tone_profile
from prosync.api.common import Caller
from prosync.api.start import execution_arn, start_job
from prosync.revisions.api import ProJobReviseRequest, revise_job
from prosync.settings import api_settings

from .support import BUCKET, SEGMENTS

NEW_TONE = 1200.0
CUT_STATES = ["Take a Sync.so slot", "Slot taken?", "Cut revision clip", "Record revision clip", "Submit to Sync.so"]


def revise(jobs, parent_id: str, tmp_path) -> str:
    parent = jobs.job(parent_id)
    segments = [dict(s) for s in parent.segments_data]
    segments[1] = {**segments[1], "audioInput": {"refId": "fresh"}}
    tone = make_tone(tmp_path / "fresh.wav", 1.2, NEW_TONE, sample_rate=16000)
    request = ProJobReviseRequest.model_validate({"segments": segments, "audios": [
        {"refId": "fresh", "fileName": "fresh.wav", "contentType": "audio/wav", "size": tone.stat().st_size}]})
    s3 = jobs.local.client("s3")
    for entry in parent.inputs["audios"].values():  # as the page uploads them (the factory gives no type)
        s3.copy_object(Bucket=BUCKET, Key=entry["key"], CopySource={"Bucket": BUCKET, "Key": entry["key"]},
                       ContentType="audio/wav", MetadataDirective="REPLACE")
    caller, settings = Caller("user-1"), api_settings()
    answer = revise_job(caller, uuid.UUID(parent_id), request, repo=jobs.repo, settings=settings)
    target = answer.uploads["fresh"]
    jobs.local.client("s3").upload_file(str(tone), BUCKET, target.key, ExtraArgs={"ContentType": "audio/wav"})
    start_job(caller, answer.job_id, repo=jobs.repo, settings=settings)
    return str(answer.job_id)


def frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray") for f in c.decode(video=0)]


def psnr(a, b) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def test_one_segment_revision_sends_only_its_clip(jobs, emulator, tmp_path):
    parent_id = jobs.create()
    assert jobs.run(parent_id).description["status"] == "SUCCEEDED"
    parent = jobs.job(parent_id)
    revision_id = revise(jobs, parent_id, tmp_path)
    run = jobs.finish(revision_id, execution_arn(jobs.local.state_machine_arn, revision_id))
    assert run.description["status"] == "SUCCEEDED", run.description
    assert run.states[:5] == CUT_STATES and "Splice revision" in run.states

    job = jobs.job(revision_id)
    assert job.status.value == "completed" and job.result_key == f"results/{revision_id}/revised/talk_dubbed.mp4"
    clip = job.inputs["revision"]["clip"]
    _, start, end = SEGMENTS[1][0], SEGMENTS[1][2], SEGMENTS[1][3]
    generations = emulator.store.list()
    assert len(generations) == 2  # the parent's and the revision's
    billed = generations[0].output_duration  # newest first
    assert billed == clip["seconds"] or abs(billed - clip["seconds"]) < 0.1
    assert billed <= (end - start) + 1.0 + 0.5 + 0.1, billed  # the segment + its margins, not the video
    assert generations[0].segments[0]["audioInput"]["refId"] == "fresh"

    s3 = jobs.local.client("s3")
    s3.download_file(BUCKET, parent.result_key, str(tmp_path / "parent.mp4"))
    s3.download_file(BUCKET, job.result_key, str(tmp_path / "revised.mp4"))
    before, after = frames(tmp_path / "parent.mp4"), frames(tmp_path / "revised.mp4")
    assert len(after) == len(before)
    assert abs(job.output_duration - parent.output_duration) < 0.05
    fps = 12
    outside = [psnr(x, y) for i, (x, y) in enumerate(zip(before, after)) if not start <= i / fps < end]
    assert min(outside) >= 40, min(outside)
    old, new = decode_audio_pcm(tmp_path / "parent.mp4"), decode_audio_pcm(tmp_path / "revised.mp4")
    for ref_id, _, s, e in SEGMENTS:
        if ref_id == "middle":
            level, freq = tone_profile(new, 8000, s + 0.2, e - 0.2)
            assert level > 3000 and abs(freq - NEW_TONE) < 40, (level, freq)
        else:
            assert tone_profile(new, 8000, s + 0.1, e - 0.1) == tone_profile(old, 8000, s + 0.1, e - 0.1) or \
                abs(tone_profile(new, 8000, s + 0.1, e - 0.1)[1] - tone_profile(old, 8000, s + 0.1, e - 0.1)[1]) < 5

    from prosync.api.common import job_status

    shown = job_status(job, api_settings())
    assert str(shown.parent_job_id) == parent_id and shown.revision.exact
    assert shown.revision.revision_seconds == clip["seconds"] < shown.revision.full_seconds
    assert shown.estimated_cost.media_seconds == clip["seconds"]  # Sync.so's estimate is the clip's


def test_a_failed_revision_leaves_the_parent_untouched(jobs, emulator, tmp_path):
    parent_id = jobs.create()
    assert jobs.run(parent_id).description["status"] == "SUCCEEDED"
    parent = jobs.job(parent_id)
    s3 = jobs.local.client("s3")
    head = s3.head_object(Bucket=BUCKET, Key=parent.result_key)
    emulator.add_faults([{"kind": "generation_failure", "outcome": "REJECTED", "count": 1}])
    revision_id = revise(jobs, parent_id, tmp_path)
    run = jobs.finish(revision_id, execution_arn(jobs.local.state_machine_arn, revision_id))
    assert jobs.job(revision_id).status.value == "failed", run.description
    after = jobs.job(parent_id)
    assert (after.status, after.result_key, after.output_duration, after.updated_at) == (
        parent.status, parent.result_key, parent.output_duration, parent.updated_at)
    again = s3.head_object(Bucket=BUCKET, Key=parent.result_key)
    assert (again["ETag"], again.get("VersionId")) == (head["ETag"], head.get("VersionId"))
