"""`job_events` as messages: what a WebSocket client and a webhook receiver are sent.

Every row is one message with the row's id (a bigserial: increasing, so a client resumes "after the
last id seen"); a job's rows are written under its row lock, so a job's ids follow its changes.

    {"id": 42, "type": "job.processing", "jobId": "...", "status": "processing", "stage": "lipsync",
     "progress": 40, "previousStatus": "submitting", "at": "2026-...Z", "detail": {...}}

`type`: `job.<status>` for a status change (job.queued, job.submitting, job.processing, ...), and
`job.progress` for a progress change within a status. Reads are always scoped to one user (a join on
video_jobs.user_id): no query here can return another user's events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from prosync.jobs.status import STAGE, JobStatus

WEBHOOK_EVENT_TYPES = ("job.queued", "job.processing", "job.progress", "job.completed", "job.failed",
                       "job.canceled")
_PUBLIC_DETAIL = ("progressPercent", "created", "reason", "code", "attempt")
_COLUMNS = ("e.id, e.job_id, e.at, e.from_status, e.to_status, e.detail, j.user_id")


def event_type(from_status: str | None, to_status: str) -> str:
    return "job.progress" if from_status == to_status else f"job.{to_status}"


def progress_of(to_status: str, detail: dict[str, Any]) -> int:
    """The job's coarse progress at this event, as the status route computes it (processing maps
    Sync.so's percent onto 40 -> 85)."""
    status = JobStatus(to_status)
    low = STAGE[status][1]
    percent = detail.get("progressPercent")
    if status is JobStatus.PROCESSING and isinstance(percent, (int, float)):
        high = STAGE[JobStatus.DOWNLOADING][1] - 5
        return low + round((high - low) * min(100, max(0, percent)) / 100)
    return low


def message(row: dict[str, Any]) -> dict[str, Any]:
    """One job_events row (with its job's user) as the message sent to clients."""
    detail = row.get("detail") or {}
    to_status = row["to_status"]
    at: datetime = row["at"]
    return {
        "id": int(row["id"]),
        "type": event_type(row.get("from_status"), to_status),
        "jobId": str(row["job_id"]),
        "status": to_status,
        "stage": STAGE[JobStatus(to_status)][0],
        "progress": progress_of(to_status, detail),
        "previousStatus": row.get("from_status"),
        "at": at.isoformat().replace("+00:00", "Z"),
        "detail": {k: v for k, v in detail.items() if k in _PUBLIC_DETAIL},
    }


def for_user(conn: psycopg.Connection, user_id: str, *, after: int, up_to: int | None = None,
             job_id: UUID | str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """The user's events (of one job, or all) with after < id <= up_to, in id order, as messages."""
    query = (f"SELECT {_COLUMNS} FROM job_events e JOIN video_jobs j ON j.id = e.job_id"
             " WHERE j.user_id = %s AND e.id > %s")
    params: list[Any] = [user_id, after]
    if up_to is not None:
        query += " AND e.id <= %s"
        params.append(up_to)
    if job_id is not None:
        query += " AND e.job_id = %s"
        params.append(job_id)
    rows = conn.execute(query + " ORDER BY e.id LIMIT %s", [*params, limit]).fetchall()
    return [message(_as_dict(r)) for r in rows]


def batch(conn: psycopg.Connection, *, after: int, up_to: int, limit: int = 1000) -> list[dict[str, Any]]:
    """All users' events with after < id <= up_to, in id order: messages with their `userId` (the
    notifier's read; the user id is stripped before anything is sent)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM job_events e JOIN video_jobs j ON j.id = e.job_id"
        " WHERE e.id > %s AND e.id <= %s ORDER BY e.id LIMIT %s", (after, up_to, limit)).fetchall()
    return [{**message(_as_dict(r)), "userId": _as_dict(r)["user_id"]} for r in rows]


def owns_job(conn: psycopg.Connection, user_id: str, job_id: UUID | str) -> bool:
    row = conn.execute("SELECT 1 FROM video_jobs WHERE id = %s AND user_id = %s", (job_id, user_id)).fetchone()
    return row is not None


def _as_dict(row: Any) -> dict[str, Any]:
    if isinstance(row, dict):
        return row
    return dict(zip(("id", "job_id", "at", "from_status", "to_status", "detail", "user_id"), row, strict=True))
