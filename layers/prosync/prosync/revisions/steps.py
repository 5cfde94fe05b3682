"""The revision's workflow steps (issue 17; statemachine "Cut revision clip", "Record revision clip",
"Splice revision"). The revise Lambda (outside the VPC, S3 only) cuts and splices; the jobstore records
the clip, so that every submit of the job (retries, new attempts) sends the clip and its segments.

    cut     {jobId, revision: {parentResultKey, ranges, clipKey, segments}}
            -> {clipKey, seconds, pieces, segments (clip time), geometry}
    splice  {jobId, revision, generationKey, outputFileName} -> {resultKey, size, duration}
    record_revision_clip (jobstore) {clip, poll} -> the claim's answer again {acquired, submit, poll, ...}

The parent's row and result are only ever read: a failed revision leaves the parent as it was.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from prosync.revisions import plan
from prosync.revisions.media import cut_clip, keyframes, splice

RESULTS_PREFIX = "results"


def _get(s3, bucket: str, key: str, path: Path) -> Path:
    s3.download_file(bucket, key, str(path))
    return path


def _geometry(path: Path) -> dict[str, Any]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        return {"width": stream.codec_context.width, "height": stream.codec_context.height,
                "frameRate": float(rate) if rate else None,
                "duration": container.duration / av.time_base if container.duration else None}


def cut(event: dict[str, Any], s3, bucket: str) -> dict[str, Any]:
    revision = event["revision"]
    ranges = [tuple(r) for r in revision["ranges"]]
    with tempfile.TemporaryDirectory() as tmp:
        parent = _get(s3, bucket, revision["parentResultKey"], Path(tmp) / "parent.mp4")
        keys, duration = keyframes(parent)
        pieces = plan.clip_pieces(ranges, keys, duration)
        clip = Path(tmp) / "clip.mp4"
        seconds = cut_clip(parent, pieces, clip)
        s3.upload_file(str(clip), bucket, revision["clipKey"], ExtraArgs={"ContentType": "video/mp4"})
        geometry = _geometry(clip)
    return {"clipKey": revision["clipKey"], "seconds": round(seconds, 3), "parentSeconds": round(duration, 3),
            "pieces": [vars(p) for p in pieces], "geometry": geometry,
            "segments": plan.clip_segments(revision["segments"], ranges, pieces)}


def result_key(job_id: str, output_file_name: str | None) -> str:
    return f"{RESULTS_PREFIX}/{job_id}/revised/{output_file_name or 'result'}.mp4"


def splice_result(event: dict[str, Any], s3, bucket: str) -> dict[str, Any]:
    revision = event["revision"]
    clip = revision["clip"]
    pieces = [plan.Piece(**p) for p in clip["pieces"]]
    key = result_key(event["jobId"], event.get("outputFileName"))
    with tempfile.TemporaryDirectory() as tmp:
        parent = _get(s3, bucket, revision["parentResultKey"], Path(tmp) / "parent.mp4")
        generation = _get(s3, bucket, event["generationKey"], Path(tmp) / "generation.mp4")
        out = Path(tmp) / "revised.mp4"
        stats = splice(parent, generation, pieces, [tuple(r) for r in revision["ranges"]], out)
        s3.upload_file(str(out), bucket, key, ExtraArgs={"ContentType": "video/mp4"})
        size, duration = out.stat().st_size, _geometry(out)["duration"]
    return {"resultKey": key, "size": size, "duration": duration, "splice": stats}


ACTIONS = {"cut": cut, "splice": splice_result}


def handle(event: dict[str, Any], s3, bucket: str) -> dict[str, Any]:
    action = ACTIONS.get(event.get("action", ""))
    if action is None:
        raise ValueError(f"unknown revision action {event.get('action')!r}; one of {sorted(ACTIONS)}")
    return action(event, s3, bucket)


# -- jobstore side -----------------------------------------------------------------------------------

def record_revision_clip(repo, job_id, event, settings, now) -> dict[str, Any]:
    """The clip the cut step made, kept in the job's `inputs.revision.clip` (written once: a retry
    keeps the first); returns the job's submit request, which now names the clip."""
    from psycopg.types.json import Jsonb

    from prosync.workflow.steps import refused, submit_request

    repo.conn.execute(
        "UPDATE video_jobs SET inputs = jsonb_set(inputs, '{revision,clip}', %s::jsonb), updated_at = now()"
        " WHERE id = %s AND status = 'submitting' AND inputs ? 'revision'"
        " AND NOT (inputs -> 'revision') ? 'clip'", (Jsonb(event["clip"]), job_id))
    job = repo.get_job(job_id)
    if job is None or not (job.inputs.get("revision") or {}).get("clip"):
        raise refused(repo, job_id, "record the revision's clip")
    return {"acquired": True, "waitSeconds": 0, "position": None, "submit": submit_request(job),
            "poll": event.get("poll")}


def submit_fields(job) -> dict[str, Any]:
    """What a revision changes in the job's submit request (`steps.submit_request`): `revision` (null
    for other jobs) and `revisionClipNeeded` for the state machine's Choices (always present: a Choice
    on a missing path is an error), and once cut, the clip as the video with the segments in clip time."""
    revision = job.inputs.get("revision")
    if not revision:
        return {"revision": None, "revisionClipNeeded": False}
    clip = revision.get("clip")
    fields: dict[str, Any] = {"revision": {**revision, "clip": clip}, "revisionClipNeeded": clip is None}
    if clip:
        fields.update(videoKey=clip["clipKey"], segments=clip["segments"], videoGeometry=clip["geometry"],
                      options=clip_options(job.options, clip))
    return fields


def clip_options(options: dict[str, Any] | None, clip: dict[str, Any]) -> dict[str, Any]:
    """The job's options for the clip: a job-level speaker point moves into clip time when its frame is
    in the clip; otherwise it is left out (Sync.so's default then picks the face)."""
    options = dict(options or {})
    point = options.get("speaker")
    if point:
        try:
            options["speaker"] = {**point, "time": plan.to_clip_time(point["time"],
                                                                       [plan.Piece(**p) for p in clip["pieces"]])}
        except ValueError:
            options.pop("speaker")
    return options
