"""The text-removal steps of the workflow, on S3 (the textremoval Lambda runs them; no database).

Keys, for the job's result `results/<job>/<name>.mp4` (what download wrote):
    results/<job>/<name>.lipsync.mp4         the untouched lip-synced video, kept
    results/<job>/textremoval/plan.json      size, rate, regions, chunks (deleted at the end)
    results/<job>/textremoval/in|out/chunk-NNNN.mp4   the chunks before and after cleaning (same)
    results/<job>/<name>.mp4                 the cleaned video, written only by a join that checked it

Events (`action` picks):
    plan    {jobId, resultKey, textRemoval: {regions?, auto?}} -> {planKey, chunks: [{index}], chunkCount,
            maxConcurrency, regions, keptKey, auto}
    detect  {jobId, planKey, index}        -> {index, samples}   (auto: the text in one chunk)
    merge   {jobId, planKey}               -> {regions, detected} (auto: merged over time into the plan)
    chunk   {jobId, planKey, index}        -> {index, frames}
    join    {jobId, planKey}               -> {resultKey, size, duration, keptKey}
    cleanup {jobId, resultKey}             -> {deleted}: the work files and any cleaned output; the
            kept lip-synced file stays (a failed job publishes nothing half-done)
"""

from __future__ import annotations

import json
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

from pydantic import Field

from prosync.settings import StorageSettings
from prosync.textremoval import video
from prosync.textremoval.regions import Region, region_from_json
from prosync.workflow.errors import WorkflowError


class TextRemovalSettings(StorageSettings):
    text_removal_chunk_seconds: float = Field(10.0, gt=0)  # a chunk is cut at the first keyframe after
    text_removal_max_concurrency: int = Field(10, ge=1, le=40)  # the Map's MaxConcurrency (state input)
    text_removal_sample_seconds: float = Field(0.5, gt=0)  # detection: one frame every ... seconds
    text_removal_temporal: bool = True  # fill from neighbouring frames before spatial inpainting


class TextRemovalFailed(WorkflowError):
    """The video could not be cleaned (unreadable, a chunk that does not decode or encode, a join
    whose frame count differs): the job fails with this message."""

    code = "text_removal_failed"


# Every work file carries this tag: the bucket's lifecycle rule `expire-text-removal-work` deletes what
# a canceled or killed execution left behind (the cleanup state deletes it otherwise).
WORK_TAG = "prosync-work=textremoval"
WORK_ARGS = {"Tagging": WORK_TAG}


def kept_key(result_key: str) -> str:
    stem = result_key[: -len(".mp4")] if result_key.endswith(".mp4") else result_key
    return stem + ".lipsync.mp4"


def work_prefix(job_id: str) -> str:
    return f"results/{job_id}/textremoval/"


def _exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def plan(event: dict[str, Any], settings: TextRemovalSettings, s3) -> dict[str, Any]:
    job_id, bucket = str(event["jobId"]), settings.media_bucket
    result_key, config = str(event["resultKey"]), event.get("textRemoval") or {}
    kept = kept_key(result_key)
    if not _exists(s3, bucket, kept):  # a retry after the move finds it done
        s3.copy({"Bucket": bucket, "Key": result_key}, bucket, kept)
    s3.delete_object(Bucket=bucket, Key=result_key)  # from now on only a checked join writes it
    prefix = work_prefix(job_id)
    with tempfile.TemporaryDirectory(prefix="textremoval-") as tmp:
        source = Path(tmp) / "source.mp4"
        s3.download_file(bucket, kept, str(source))
        try:
            info = video.describe(source)
        except Exception as exc:
            raise TextRemovalFailed(f"the lip-synced video could not be read: {exc}"[:1000]) from exc
        regions = [Region.from_request(r) for r in config.get("regions") or []]
        chunks = video.cut(source, Path(tmp) / "in", settings.text_removal_chunk_seconds)
        for chunk in chunks:
            s3.upload_file(str(Path(tmp) / "in" / chunk["file"]), bucket, f"{prefix}in/{chunk['file']}",
                           ExtraArgs=WORK_ARGS)
    document = {**info, "jobId": job_id, "resultKey": result_key, "keptKey": kept, "auto": bool(config.get("auto")),
                "sampleSeconds": settings.text_removal_sample_seconds,
                "regions": [r.to_json() for r in regions], "chunks": chunks}
    plan_key = f"{prefix}plan.json"
    s3.put_object(Bucket=bucket, Key=plan_key, Body=json.dumps(document).encode(),
                  ContentType="application/json", Tagging=WORK_TAG)
    return {"planKey": plan_key, "chunks": [{"index": c["index"]} for c in chunks],
            "chunkCount": len(chunks), "maxConcurrency": settings.text_removal_max_concurrency,
            "regions": len(regions), "keptKey": kept, "auto": document["auto"]}


def _plan(s3, bucket: str, plan_key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=bucket, Key=plan_key)["Body"].read())


def chunk(event: dict[str, Any], settings: TextRemovalSettings, s3) -> dict[str, Any]:
    bucket = settings.media_bucket
    document = _plan(s3, bucket, str(event["planKey"]))
    index = int(event["index"])
    item = document["chunks"][index]
    prefix = work_prefix(document["jobId"])
    with tempfile.TemporaryDirectory(prefix="textremoval-") as tmp:
        src, out = Path(tmp) / "in.mp4", Path(tmp) / "out.mp4"
        s3.download_file(bucket, f"{prefix}in/{item['file']}", str(src))
        try:
            frames = video.clean_chunk(
                src, out, [region_from_json(r) for r in document["regions"]], first_pts=item["firstPts"],
                time_base=Fraction(*document["timeBase"]), rate=Fraction(*document["rate"]),
                temporal=settings.text_removal_temporal)
        except Exception as exc:
            raise TextRemovalFailed(f"chunk {index} could not be cleaned: {exc}"[:1000]) from exc
        if frames != item["frames"]:
            raise TextRemovalFailed(f"chunk {index}: {frames} frames cleaned, {item['frames']} expected")
        s3.upload_file(str(out), bucket, f"{prefix}out/{item['file']}", ExtraArgs=WORK_ARGS)
    return {"index": index, "frames": frames}


def detect(event: dict[str, Any], settings: TextRemovalSettings, s3) -> dict[str, Any]:
    """`auto`: the text in one chunk, sampled on the whole video's time grid, kept as JSON."""
    from prosync.textremoval.detect import sample_text

    bucket = settings.media_bucket
    document = _plan(s3, bucket, str(event["planKey"]))
    index = int(event["index"])
    item, prefix = document["chunks"][index], work_prefix(document["jobId"])
    with tempfile.TemporaryDirectory(prefix="textremoval-") as tmp:
        src = Path(tmp) / "in.mp4"
        s3.download_file(bucket, f"{prefix}in/{item['file']}", str(src))
        try:
            found = sample_text(src, sample_seconds=document["sampleSeconds"], start=item["start"])
        except Exception as exc:
            raise TextRemovalFailed(f"text could not be looked for in chunk {index}: {exc}"[:1000]) from exc
    s3.put_object(Bucket=bucket, Key=f"{prefix}detect/{index:04d}.json", Body=json.dumps(found["samples"]).encode(),
                  ContentType="application/json", Tagging=WORK_TAG)
    return {"index": index, "samples": len(found["samples"])}


def merge(event: dict[str, Any], settings: TextRemovalSettings, s3) -> dict[str, Any]:
    """`auto`: every chunk's samples, in time order, merged into steady regions added to the plan."""
    from prosync.textremoval.regions import merge_detections

    bucket, plan_key = settings.media_bucket, str(event["planKey"])
    document = _plan(s3, bucket, plan_key)
    prefix, samples = work_prefix(document["jobId"]), []
    for item in document["chunks"]:
        key = f"{prefix}detect/{item['index']:04d}.json"
        samples += json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    samples.sort(key=lambda sample: sample[0])
    found = merge_detections(samples, interval=document["sampleSeconds"], duration=document["duration"],
                             width=document["width"], height=document["height"])
    given = [r for r in document["regions"] if not r.get("detected")]
    document["regions"] = given + [{**r.to_json(), "detected": True} for r in found]
    s3.put_object(Bucket=bucket, Key=plan_key, Body=json.dumps(document).encode(),
                  ContentType="application/json", Tagging=WORK_TAG)
    return {"regions": len(document["regions"]), "detected": len(found)}


def join(event: dict[str, Any], settings: TextRemovalSettings, s3) -> dict[str, Any]:
    bucket = settings.media_bucket
    document = _plan(s3, bucket, str(event["planKey"]))
    prefix, chunks = work_prefix(document["jobId"]), document["chunks"]
    with tempfile.TemporaryDirectory(prefix="textremoval-") as tmp:
        source, out = Path(tmp) / "source.mp4", Path(tmp) / "clean.mp4"
        s3.download_file(bucket, document["keptKey"], str(source))
        paths = []
        for item in chunks:
            path = Path(tmp) / item["file"]
            s3.download_file(bucket, f"{prefix}out/{item['file']}", str(path))
            paths.append(path)
        try:
            video.join(chunks, paths, source, out)
            info = video.describe(out)
        except Exception as exc:
            raise TextRemovalFailed(f"the cleaned chunks could not be joined: {exc}"[:1000]) from exc
        if info["frames"] != document["frames"]:
            raise TextRemovalFailed(f"the cleaned video has {info['frames']} frames, the lip-synced one "
                                    f"{document['frames']}")
        s3.upload_file(str(out), bucket, document["resultKey"], ExtraArgs={"ContentType": "video/mp4"})
        size = out.stat().st_size
    _delete_prefix(s3, bucket, prefix)
    return {"resultKey": document["resultKey"], "size": size, "duration": info["duration"],
            "keptKey": document["keptKey"]}


def cleanup(event: dict[str, Any], settings: TextRemovalSettings, s3) -> dict[str, Any]:
    bucket, job_id = settings.media_bucket, str(event["jobId"])
    deleted = _delete_prefix(s3, bucket, work_prefix(job_id))
    result_key = event.get("resultKey")
    if result_key and _exists(s3, bucket, kept_key(result_key)) and _exists(s3, bucket, result_key):
        s3.delete_object(Bucket=bucket, Key=result_key)
        deleted += 1
    return {"deleted": deleted}


def _delete_prefix(s3, bucket: str, prefix: str) -> int:
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            count += len(keys)
    return count


ACTIONS = {"plan": plan, "detect": detect, "merge": merge, "chunk": chunk, "join": join, "cleanup": cleanup}


def handle(event: dict[str, Any], settings: TextRemovalSettings, s3) -> dict[str, Any]:
    action = ACTIONS.get(str(event.get("action")))
    if action is None:
        raise ValueError(f"unknown textremoval action {event.get('action')!r}; one of {sorted(ACTIONS)}")
    return action(event, settings, s3)
