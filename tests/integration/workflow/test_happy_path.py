"""A 3-segment job through the real state machine, handlers, Postgres and the Sync.so emulator."""

import json

import av

from .support import BUCKET, VIDEO_SECONDS

EXPECTED_STATES = [
    "Take a Sync.so slot", "Slot taken?", "Submit to Sync.so", "Submitted?", "Record generation",
    "Wait for generation", "Generation status?", "Mark job downloading", "Download result to S3",
    "Remove text?", "Mark job completed", "Job completed",
]


def test_three_segments_end_in_a_playable_result(jobs, emulator, tmp_path):
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "SUCCEEDED", run.description
    output = json.loads(run.description["output"])
    key = f"results/{job_id}/talk_dubbed.mp4"
    assert output["resultKey"] == key and output["status"] == "completed"

    # the states, in order: Sync.so's webhook ended the wait, no status call was made
    assert run.states == EXPECTED_STATES

    # the job row and its history
    job = jobs.job(job_id)
    assert job.status.value == "completed" and job.stage == "done"
    assert job.result_key == key and job.execution_arn == run.execution_arn
    assert job.sync_generation_id and job.error_code is None
    moves = [(a, b) for a, b in jobs.events(job_id) if a != b]  # same-status rows: progress (0006's trigger)
    assert moves == [
        (None, "awaiting_upload"), ("awaiting_upload", "queued"), ("queued", "submitting"),
        ("submitting", "processing"), ("processing", "downloading"), ("downloading", "completed")]
    assert (job.attempt, job.progress_percent, job.task_token) == (1, 100, None)

    # the result: a real MP4 with video and audio, as long as the input video
    local_file = tmp_path / "result.mp4"
    jobs.local.client("s3").download_file(BUCKET, key, str(local_file))
    assert job.result_size == local_file.stat().st_size
    with av.open(str(local_file)) as container:
        assert container.streams.video and container.streams.audio
        duration = container.duration / av.time_base
        frames = sum(1 for _ in container.decode(video=0))
    assert abs(duration - VIDEO_SECONDS) < 0.25
    assert abs(job.output_duration - VIDEO_SECONDS) < 0.25
    assert frames > 0
    assert jobs.multipart_uploads() == []

    # one generation at Sync.so, with the segments and presigned inputs it was given
    stats = emulator.stats_snapshot()
    assert stats["requests"]["create"] == 1 and "get" not in stats["requests"]
    assert stats["generations"] == {"COMPLETED": 1}
    assert stats["billing"]["byIdempotencyKey"] == {f"{job_id}-1": 1}
    assert stats["webhooks"]["delivered"] == 1


def test_every_option_the_api_accepts_reaches_sync_in_its_shape(jobs, emulator):
    # the API takes active_speaker_detection as a boolean; Sync.so takes {"auto_detect": bool}: the
    # boolean made submit fail every such job with a pydantic ValidationError
    from prosync.models import ProSyncProcessRequest
    from tests.unit.api.apitest import job_request

    options = {"sync_mode": "loop", "temperature": 0.2, "active_speaker_detection": True,
               "occlusion_detection_enabled": True}
    ProSyncProcessRequest.model_validate(job_request(options=options))  # what create stores
    job_id = jobs.create(options=options)
    run = jobs.run(job_id)

    assert run.description["status"] == "SUCCEEDED", run.description
    [generation] = emulator.store.list()
    assert generation.options == {"sync_mode": "loop", "temperature": 0.2,
                                  "active_speaker_detection": {"auto_detect": True},
                                  "occlusion_detection_enabled": True}
