"""Data access for users, jobs and job events: the only module that writes SQL for them.

Every status change goes through `transition`, a guarded UPDATE (`WHERE status = ANY(allowed_from)`)
that writes its `job_events` row in the same transaction, so retries and races never move a job
backwards, skip a step or lose its history.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from prosync.db.records import JobEvent, JobRecord, NewJob, UserRecord
from prosync.jobs.status import ACTIVE, STAGE, TERMINAL, JobStatus, allowed_from
from prosync.settings import Tier

# Columns a transition may set besides status/stage (an allow-list: names never come from callers' data).
UPDATABLE = frozenset({
    "sync_generation_id", "execution_arn", "result_key", "result_size", "output_duration",
    "error_code", "error_message", "inputs", "estimated_cost", "task_token", "poll_state",
})


def _jsonable(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, (dict, list)) else value


class JobRepository:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    # users -------------------------------------------------------------------------------------
    def ensure_user(self, user_id: str, email: str | None = None) -> UserRecord:
        """The caller's row, created on first sight with the free tier."""
        row = self.conn.execute(
            "INSERT INTO users (id, email) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE"
            " SET email = COALESCE(users.email, EXCLUDED.email) RETURNING *",
            (user_id, email),
        ).fetchone()
        return UserRecord.model_validate(row)

    def set_tier(self, user_id: str, tier: Tier, email: str | None = None) -> UserRecord:
        row = self.conn.execute(
            "INSERT INTO users (id, email, tier) VALUES (%s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET tier = EXCLUDED.tier RETURNING *",
            (user_id, email, tier.value),
        ).fetchone()
        return UserRecord.model_validate(row)

    # jobs --------------------------------------------------------------------------------------
    def create_job(self, new: NewJob) -> tuple[JobRecord, bool]:
        """Insert the job (awaiting_upload). With an idempotency key already used by this user,
        return that job instead: (job, created)."""
        status = JobStatus.AWAITING_UPLOAD
        with self.conn.transaction():
            row = self.conn.execute(
                "INSERT INTO video_jobs (id, user_id, status, stage, is_pro_job, segments_data, inputs,"
                " options, model, output_file_name, idempotency_key)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
                " RETURNING *",
                (new.id, new.user_id, status.value, STAGE[status][0], new.is_pro_job,
                 Jsonb(new.segments_data), Jsonb(new.inputs), Jsonb(new.options), new.model,
                 new.output_file_name, new.idempotency_key),
            ).fetchone()
            if row is None:
                existing = self.conn.execute(
                    "SELECT * FROM video_jobs WHERE user_id = %s AND idempotency_key = %s",
                    (new.user_id, new.idempotency_key),
                ).fetchone()
                return JobRecord.model_validate(existing), False
            self._event(new.id, None, status, {"created": True})
        return JobRecord.model_validate(row), True

    def get_job(self, job_id: UUID, user_id: str | None = None) -> JobRecord | None:
        """A job by id; with user_id, only that user's job (another user's job is None, not 403)."""
        query = "SELECT * FROM video_jobs WHERE id = %s"
        params: tuple = (job_id,)
        if user_id is not None:
            query += " AND user_id = %s"
            params = (job_id, user_id)
        row = self.conn.execute(query, params).fetchone()
        return JobRecord.model_validate(row) if row else None

    def find_by_idempotency_key(self, user_id: str, idempotency_key: str) -> JobRecord | None:
        """The user's job created with this Idempotency-Key, if any."""
        row = self.conn.execute(
            "SELECT * FROM video_jobs WHERE user_id = %s AND idempotency_key = %s", (user_id, idempotency_key)
        ).fetchone()
        return JobRecord.model_validate(row) if row else None

    def edit_awaiting_upload(self, job_id: UUID, user_id: str, *, segments_data: list[dict[str, Any]],
                             options: dict[str, Any], model: str,
                             output_file_name: str | None) -> JobRecord | None:
        """Replace the segments and options of the user's job while it awaits its uploads (the edit
        route); None when it is not (or no longer) awaiting them. No status change, so no event."""
        row = self.conn.execute(
            "UPDATE video_jobs SET segments_data = %s, options = %s, model = %s, output_file_name = %s,"
            " updated_at = now() WHERE id = %s AND user_id = %s AND status = %s RETURNING *",
            (Jsonb(segments_data), Jsonb(options), model, output_file_name, job_id, user_id,
             JobStatus.AWAITING_UPLOAD.value),
        ).fetchone()
        return JobRecord.model_validate(row) if row else None

    def list_jobs(
        self, user_id: str, *, status: JobStatus | None = None, limit: int = 20,
        after: tuple[datetime, UUID] | None = None,
    ) -> list[JobRecord]:
        """The user's jobs newest first; `after` is the (created_at, id) of the last row already seen."""
        clauses = [sql.SQL("user_id = %s")]
        params: list[Any] = [user_id]
        if status is not None:
            clauses.append(sql.SQL("status = %s"))
            params.append(status.value)
        if after is not None:
            clauses.append(sql.SQL("(created_at, id) < (%s, %s)"))
            params.extend(after)
        query = sql.SQL("SELECT * FROM video_jobs WHERE {} ORDER BY created_at DESC, id DESC LIMIT %s").format(
            sql.SQL(" AND ").join(clauses))
        rows = self.conn.execute(query, [*params, limit]).fetchall()
        return [JobRecord.model_validate(r) for r in rows]

    def count_active(self, user_id: str, *, excluding: UUID | None = None) -> int:
        row = self.conn.execute(
            "SELECT count(*) AS n FROM video_jobs WHERE user_id = %s AND status = ANY(%s)"
            " AND id IS DISTINCT FROM %s",
            (user_id, [s.value for s in ACTIVE], excluding),
        ).fetchone()
        return row["n"]

    def awaiting_upload(self, user_id: str, expire_after_seconds: float) -> tuple[int, float]:
        """(how many of the user's jobs await their uploads, seconds until the oldest of them is
        `expire_after_seconds` unchanged: when the sweeper may expire it; 0 when there is none)."""
        row = self.conn.execute(
            "SELECT count(*) AS n, COALESCE(EXTRACT(EPOCH FROM min(updated_at)"
            " + make_interval(secs => %s) - now()), 0)::float8 AS seconds"
            " FROM video_jobs WHERE user_id = %s AND status = %s",
            (expire_after_seconds, user_id, JobStatus.AWAITING_UPLOAD.value),
        ).fetchone()
        return row["n"], max(0.0, row["seconds"])

    def unchanged_for(self, statuses: Iterable[JobStatus], seconds: float, limit: int) -> list[JobRecord]:
        """Jobs in one of `statuses` whose row has not changed for `seconds` (the database's clock),
        oldest first, at most `limit`: the sweeper's access path, on the partial index of unfinished
        jobs' (status, updated_at)."""
        rows = self.conn.execute(
            "SELECT * FROM video_jobs WHERE status = ANY(%s)"
            " AND updated_at < now() - make_interval(secs => %s) ORDER BY updated_at, id LIMIT %s",
            ([s.value for s in statuses], seconds, limit),
        ).fetchall()
        return [JobRecord.model_validate(r) for r in rows]

    @contextmanager
    def user_locked(self, user_id: str) -> Iterator[None]:
        """One transaction holding the user's row lock: a check and a write made inside it (count the
        active jobs, then queue one) cannot interleave with another request of the same user."""
        with self.conn.transaction():
            self.conn.execute("SELECT id FROM users WHERE id = %s FOR UPDATE", (user_id,))
            yield

    def transition(self, job_id: UUID, to: JobStatus, *, detail: dict[str, Any] | None = None,
                   **fields: Any) -> JobRecord | None:
        """Move the job to `to` when its current status allows it, setting `fields` too.

        Returns the updated job, or None when the move is not allowed (unknown job, or a status
        that may not go to `to`: a canceled job gets no later writes). Re-entering the same status
        (a retried step) updates the fields without a new event.
        """
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        assignments = [sql.SQL("status = %s"), sql.SQL("stage = %s"), sql.SQL("updated_at = now()")]
        params: list[Any] = [to.value, STAGE[to][0]]
        for name, value in fields.items():
            assignments.append(sql.SQL("{} = %s").format(sql.Identifier(name)))
            params.append(_jsonable(value))
        if to is JobStatus.QUEUED:  # its place in Sync.so's queue: kept by a second start
            assignments.append(sql.SQL("started_at = COALESCE(v.started_at, now())"))
            assignments.append(sql.SQL("queued_at = COALESCE(v.queued_at, now())"))
            assignments.append(sql.SQL("queue_seen_at = now()"))
        if to in TERMINAL:
            assignments.append(sql.SQL("completed_at = now()"))
        query = sql.SQL(
            "WITH prev AS (SELECT id, status FROM video_jobs WHERE id = %s FOR UPDATE)"
            " UPDATE video_jobs v SET {} FROM prev WHERE v.id = prev.id AND prev.status = ANY(%s)"
            " RETURNING v.*, prev.status AS from_status"
        ).format(sql.SQL(", ").join(assignments))
        with self.conn.transaction():
            row = self.conn.execute(
                query, [job_id, *params, [s.value for s in allowed_from(to)]]
            ).fetchone()
            if row is None:
                return None
            from_status = JobStatus(row.pop("from_status"))
            if from_status is not to:
                self._event(job_id, from_status, to, detail or {})
        return JobRecord.model_validate(row)

    def events(self, job_id: UUID) -> list[JobEvent]:
        rows = self.conn.execute(
            "SELECT * FROM job_events WHERE job_id = %s ORDER BY id", (job_id,)
        ).fetchall()
        return [JobEvent.model_validate(r) for r in rows]

    def _event(self, job_id: UUID, from_status: JobStatus | None, to: JobStatus, detail: dict) -> None:
        self.conn.execute(
            "INSERT INTO job_events (job_id, from_status, to_status, detail) VALUES (%s, %s, %s, %s)",
            (job_id, from_status.value if from_status else None, to.value, Jsonb(detail)),
        )
