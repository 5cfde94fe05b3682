"""The text-removal steps on (moto) S3: plan -> chunks -> join publishes the cleaned video and keeps
the lip-synced one beside it, leaving no work files; a failure's cleanup leaves only the kept file."""

import json

import boto3
import pytest
from moto import mock_aws

from prosync.textremoval import steps
from prosync.textremoval.regions import MaskMaker, Region, merge_detections
from tests.support.textremoval_video import make_sample

BUCKET = "media"
JOB = "5b2f3c1e-0000-4000-8000-000000000016"
RESULT = f"results/{JOB}/talk.mp4"


@pytest.fixture
def s3(tmp_path):
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        sample = make_sample(tmp_path / "in.mp4", seconds=1.6)
        client.upload_file(str(sample.path), BUCKET, RESULT)
        yield client


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.setenv("MEDIA_BUCKET", BUCKET)
    return steps.TextRemovalSettings(text_removal_chunk_seconds=0.4, text_removal_max_concurrency=3)


def _keys(s3):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_plan_chunks_join(s3, settings):
    config = {"regions": [{"x": 0.2, "y": 0.75, "width": 0.6, "height": 0.14}]}
    planned = steps.handle({"action": "plan", "jobId": JOB, "resultKey": RESULT, "textRemoval": config}, settings, s3)
    assert planned["chunkCount"] == 4 and planned["maxConcurrency"] == 3 and planned["regions"] == 1
    assert planned["chunks"] == [{"index": i} for i in range(4)]
    assert RESULT not in _keys(s3)  # nothing published before a checked join
    work = [k for k in _keys(s3) if "/textremoval/" in k]
    assert work and all(s3.get_object_tagging(Bucket=BUCKET, Key=k)["TagSet"]
                        == [{"Key": "prosync-work", "Value": "textremoval"}] for k in work)
    for item in planned["chunks"]:
        done = steps.handle({"action": "chunk", "jobId": JOB, "planKey": planned["planKey"], **item}, settings, s3)
        assert done["index"] == item["index"] and done["frames"] > 0
    joined = steps.handle({"action": "join", "jobId": JOB, "planKey": planned["planKey"]}, settings, s3)
    assert joined["resultKey"] == RESULT and joined["keptKey"] == f"results/{JOB}/talk.lipsync.mp4"
    assert joined["duration"] == pytest.approx(1.6, abs=0.05)
    assert _keys(s3) == [f"results/{JOB}/talk.lipsync.mp4", RESULT]


def test_a_retried_plan_and_a_failure_cleanup(s3, settings):
    event = {"action": "plan", "jobId": JOB, "resultKey": RESULT, "textRemoval": {"regions": []}}
    planned = steps.handle(event, settings, s3)
    again = steps.handle(event, settings, s3)  # a Step Functions retry after a lost answer
    assert again["chunkCount"] == planned["chunkCount"]
    steps.handle({"action": "chunk", "jobId": JOB, "planKey": planned["planKey"], "index": 0}, settings, s3)
    s3.put_object(Bucket=BUCKET, Key=RESULT, Body=b"half")  # as if a join had been cut short
    steps.handle({"action": "cleanup", "jobId": JOB, "resultKey": RESULT}, settings, s3)
    assert _keys(s3) == [f"results/{JOB}/talk.lipsync.mp4"]


def test_a_chunk_that_cannot_be_cleaned_is_a_clear_error(s3, settings):
    planned = steps.handle({"action": "plan", "jobId": JOB, "resultKey": RESULT, "textRemoval": {}}, settings, s3)
    s3.put_object(Bucket=BUCKET, Key=f"{steps.work_prefix(JOB)}in/chunk-0001.mp4", Body=b"not a video")
    with pytest.raises(steps.TextRemovalFailed) as caught:
        steps.handle({"action": "chunk", "jobId": JOB, "planKey": planned["planKey"], "index": 1}, settings, s3)
    assert json.loads(str(caught.value))["code"] == "text_removal_failed"
    assert "chunk 1" in caught.value.message


def test_auto_finds_the_caption_chunk_by_chunk_and_merges_it(s3, settings, tmp_path):
    from prosync.textremoval.detect import sample_text

    planned = steps.handle({"action": "plan", "jobId": JOB, "resultKey": RESULT, "textRemoval": {"auto": True}},
                           settings, s3)
    assert planned["auto"] is True and planned["regions"] == 0 and planned["chunkCount"] == 4
    base = {"jobId": JOB, "planKey": planned["planKey"]}
    found = [steps.handle({"action": "detect", **base, "index": i}, settings, s3) for i in range(4)]
    assert [f["index"] for f in found] == [0, 1, 2, 3]
    merged = steps.handle({"action": "merge", **base}, settings, s3)
    assert merged == {"regions": 1, "detected": 1}
    plan = json.loads(s3.get_object(Bucket=BUCKET, Key=planned["planKey"])["Body"].read())
    (region,) = plan["regions"]
    assert 0.15 < region["x"] < 0.3 and 0.7 < region["y"] < 0.8 and region["start"] == 0 and region["detected"]
    # chunk by chunk samples the frames a whole pass samples
    s3.download_file(BUCKET, plan["keptKey"], str(tmp_path / "kept.mp4"))
    whole = sample_text(tmp_path / "kept.mp4", sample_seconds=settings.text_removal_sample_seconds)
    assert sum(f["samples"] for f in found) == len(whole["samples"])
    assert steps.handle({"action": "merge", **base}, settings, s3) == merged  # a retried merge


def test_masks_follow_time_ranges():
    masks = MaskMaker([Region(0.5, 0.5, 0.25, 0.25, 1.0, 2.0)], 100, 100, margin=0)
    assert masks.at(0.5) is None
    mask = masks.at(1.5)
    assert mask.sum() == 25 * 25 and mask[50, 50] and not mask[49, 50]


def test_detections_merge_into_one_steady_region():
    caption = (40.0, 180.0, 280.0, 210.0)
    samples = [(t / 5, [caption] if 2 <= t <= 8 else []) for t in range(12)]
    samples[5] = (1.0, [(60.0, 182.0, 250.0, 208.0)])  # the caption's words changed
    samples[6] = (1.2, [caption, (5.0, 5.0, 20.0, 20.0)])  # a one-off false positive
    regions = merge_detections(samples, interval=0.2, duration=2.4, width=320, height=240)
    assert len(regions) == 1
    region = regions[0]
    assert region.pixels(320, 240) == (40, 180, 280, 210)
    assert (region.start, region.end) == (0.2, 1.8)
