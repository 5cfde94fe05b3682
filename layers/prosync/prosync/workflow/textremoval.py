"""The jobstore actions of text removal (issue 16): the job's `removing_text` stage and its
progress by chunks done, kept in the job's `inputs` (`textRemovalChunks: {total, done: {index: true}}`).

    mark_removing_text {chunkCount}  -> {status}      downloading -> removing_text
    text_chunk_done    {index}       -> {done, total} one chunk cleaned (a retry counts it once)
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from prosync.jobs.status import JobStatus
from prosync.workflow.steps import refused


def mark_removing_text(repo, job_id, event, settings, now) -> dict[str, Any]:
    total = int(event.get("chunkCount") or 0)
    job = repo.transition(job_id, JobStatus.REMOVING_TEXT, detail={"step": "removing_text", "chunks": total})
    if job is None:
        raise refused(repo, job_id, JobStatus.REMOVING_TEXT)
    repo.conn.execute(
        "UPDATE video_jobs SET inputs = inputs || jsonb_build_object('textRemovalChunks', %s::jsonb)"
        " WHERE id = %s AND status = 'removing_text'"
        " AND COALESCE((inputs #>> '{textRemovalChunks,total}')::int, -1) <> %s",
        (Jsonb({"total": total, "done": {}}), job_id, total))
    return {"status": job.status.value}


def text_chunk_done(repo, job_id, event, settings, now) -> dict[str, Any]:
    index = str(int(event["index"]))
    row = repo.conn.execute(
        "UPDATE video_jobs SET inputs = jsonb_set(inputs, ARRAY['textRemovalChunks', 'done', %s], 'true'),"
        " updated_at = now() WHERE id = %s AND status = 'removing_text' AND inputs ? 'textRemovalChunks'"
        " RETURNING inputs -> 'textRemovalChunks' AS chunks", (index, job_id)).fetchone()
    if row is None:
        raise refused(repo, job_id, "count a cleaned chunk")
    chunks = row["chunks"] if isinstance(row, dict) else row[0]
    return {"done": len(chunks.get("done") or {}), "total": chunks.get("total")}
