"""The fair queue under Sync.so's organisation concurrency limit, and the workflow's moves back.

A *slot* is not a row: a job holds one exactly while it is `submitting` or `processing`
(`SLOT_HOLDING`), so every end of a job (completed, failed, canceled by the api, failed by the
deadline or the sweeper) releases its slot by construction. Only `claim` takes one, in a transaction
under one advisory lock: count the slots in use, then let the job move queued -> submitting when a
slot is free AND it is among the first (free slots) jobs in line. The line is the queued jobs ordered
by `(queued_at, id)` (first come, first served; `queued_at` is set when start queues the job and kept
when the job is put back), counting only jobs whose execution asked for a slot in the last
`stale_seconds` (`queue_seen_at`): a queued job whose execution never started, or died, cannot hold
up everyone behind it; it keeps its place and gets it back when it asks again.

Both counts read partial indexes only (migration 0004): the slots in use are a handful of rows, the
line a range scan of `idx_video_jobs_queue` up to the job's own place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from prosync.db.records import JobRecord
from prosync.db.repository import JobRepository
from prosync.jobs.status import NEW_ATTEMPT, REQUEUE, SLOT_HOLDING, STAGE, JobStatus

QUEUE_LOCK = (727_002, 1)  # pg_advisory_xact_lock(int, int): one claim at a time, for the whole org
_HOLDING = [s.value for s in SLOT_HOLDING]
# The live jobs ahead of one in line, at most LIMIT of them: an ordered range scan of the line's own
# index (index-only), so the claim reads at most (free slots) entries however long the line is.
_AHEAD = ("SELECT count(*) AS n FROM (SELECT 1 FROM video_jobs WHERE status = 'queued' AND (queued_at, id) < (%s, %s)"
          " AND queue_seen_at > now() - make_interval(secs => %s) ORDER BY queued_at, id LIMIT %s) ahead")
POSITION_CAP = 10_000  # a place in line further back is shown as this


@dataclass(frozen=True)
class Claim:
    """`acquired` (moved to submitting now, or already by this execution: `again`), or waiting at
    `position` (1-based) behind `in_flight` generations, or `refused` (not queued, or another
    execution's job); `job` is None when there is no such job."""

    job: JobRecord | None
    acquired: bool
    position: int | None = None
    in_flight: int = 0
    again: bool = False
    refused: bool = False


class SlotQueue:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    # reads -------------------------------------------------------------------------------------
    def in_flight(self) -> int:
        """Slots in use: jobs submitting or processing."""
        return self.conn.execute(
            "SELECT count(*) AS n FROM video_jobs WHERE status = ANY(%s)", (_HOLDING,)).fetchone()["n"]

    def queued(self) -> int:
        return self.conn.execute("SELECT count(*) AS n FROM video_jobs WHERE status = 'queued'").fetchone()["n"]

    def position(self, job: JobRecord, stale_seconds: float) -> int | None:
        """The queued job's place in line (1 = next), counting the live jobs ahead; None otherwise."""
        if job.status is not JobStatus.QUEUED or job.queued_at is None:
            return None
        return 1 + self._ahead(job, stale_seconds, POSITION_CAP)

    # the claim ---------------------------------------------------------------------------------
    def claim(self, job_id: UUID, *, limit: int, stale_seconds: float, execution_arn: str | None) -> Claim:
        """Take a slot for the job if it is its turn (see the module's docstring)."""
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", QUEUE_LOCK)
            row = self.conn.execute("SELECT * FROM video_jobs WHERE id = %s FOR UPDATE", (job_id,)).fetchone()
            if row is None:
                return Claim(None, False, refused=True)
            job = JobRecord.model_validate(row)
            if job.status is JobStatus.SUBMITTING:  # a retried claim whose answer was lost, or a stranger
                mine = not execution_arn or job.execution_arn in (None, execution_arn)
                return Claim(job, True, again=True) if mine else Claim(job, False, refused=True)
            if job.status is not JobStatus.QUEUED:
                return Claim(job, False, refused=True)
            if job.queued_at is None:  # queued by code older than the queue: line up now
                job = self._set(job_id, "queued_at = COALESCE(started_at, now())")
            in_flight = self.in_flight()
            free = limit - in_flight
            if free <= 0 or self._ahead(job, stale_seconds, free) >= free:
                self._set(job_id, "queue_seen_at = now()")
                return Claim(job, False, position=self.position(job, stale_seconds), in_flight=in_flight)
            moved = self._move(job_id, JobStatus.QUEUED, JobStatus.SUBMITTING,
                               "attempt = attempt + 1, queue_seen_at = now(),"
                               " execution_arn = COALESCE(%(arn)s, execution_arn)",
                               {"arn": execution_arn},
                               lambda j: {"step": "submit", "attempt": j.attempt, "executionArn": execution_arn,
                                          "inFlight": in_flight + 1, "limit": limit})
            return Claim(moved, True, in_flight=in_flight + 1)

    # the moves back ----------------------------------------------------------------------------
    def requeue(self, job_id: UUID, *, attempt: int, retry_after: float) -> JobRecord | None:
        """submitting -> queued for this attempt (Sync.so's org limit was reached), keeping the job's
        place in line; None when the job is not submitting this attempt (the caller reads why)."""
        before, after = REQUEUE
        with self.conn.transaction():
            return self._move(job_id, before, after,
                              "queued_at = COALESCE(queued_at, now()), queue_seen_at = now()", {},
                              lambda j: {"step": "requeue", "attempt": attempt, "retryAfter": retry_after},
                              where="attempt = %(attempt)s", attempt=attempt)

    def new_attempt(self, job_id: UUID, *, attempt: int, max_retries: int, generation_id: str | None,
                    code: str | None) -> JobRecord | None:
        """processing -> submitting with attempt + 1 after generation `generation_id` failed with a
        retryable `code`, while fewer than `max_retries` retries were used; None otherwise."""
        before, after = NEW_ATTEMPT
        with self.conn.transaction():
            return self._move(
                job_id, before, after,
                "attempt = attempt + 1, generation_retries = generation_retries + 1,"
                " sync_generation_id = NULL, progress_percent = NULL, task_token = NULL, poll_state = NULL", {},
                lambda j: {"step": "retry", "attempt": j.attempt, "generationId": generation_id, "code": code},
                where="attempt = %(attempt)s AND generation_retries < %(max)s", attempt=attempt, max=max_retries)

    # helpers -----------------------------------------------------------------------------------
    def _ahead(self, job: JobRecord, stale_seconds: float, at_most: int) -> int:
        return self.conn.execute(_AHEAD, (job.queued_at, job.id, stale_seconds, at_most)).fetchone()["n"]

    def _set(self, job_id: UUID, assignment: str) -> JobRecord:
        row = self.conn.execute(f"UPDATE video_jobs SET {assignment} WHERE id = %s RETURNING *", (job_id,))
        return JobRecord.model_validate(row.fetchone())

    def _move(self, job_id: UUID, before: JobStatus, after: JobStatus, assignments: str, params: dict[str, Any],
              detail, *, where: str = "TRUE", **guard: Any) -> JobRecord | None:
        """One guarded move `before` -> `after` with its job_events row (inside the caller's transaction).
        The SQL fragments are this module's constants; values go as parameters."""
        row = self.conn.execute(
            f"UPDATE video_jobs SET status = %(to)s, stage = %(stage)s, updated_at = now(), {assignments}"
            f" WHERE id = %(id)s AND status = %(from)s AND {where} RETURNING *",
            {**params, **guard, "to": after.value, "stage": STAGE[after][0], "id": job_id, "from": before.value},
        ).fetchone()
        if row is None:
            return None
        job = JobRecord.model_validate(row)
        JobRepository(self.conn)._event(job_id, before, after, detail(job))
        return job
