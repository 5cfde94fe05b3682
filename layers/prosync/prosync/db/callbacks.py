"""The webhook callback's data: the waiting execution's task token and poll state on the job row, and
the inbox of verified webhooks that found no execution waiting.

Race-freedom: `await_generation` (jobstore, storing a token) and the webhook route (api, using one)
both run `locked(generation_id)`: one transaction holding the generation's advisory lock, then the
job's row lock. So either the webhook sees the stored token and wakes the execution, or it finds none
and files its generation in the inbox, where `await_generation` finds it and answers at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from prosync.db.records import JobRecord

WEBHOOK_LOCK_SPACE = 727_003  # pg_advisory_xact_lock(WEBHOOK_LOCK_SPACE, hashtext(generation id))
INBOX_KEEP_SECONDS = 24 * 3600  # an inbox entry no job claimed (another system's generation) is dropped after


class CallbackStore:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    @contextmanager
    def locked(self, generation_id: str) -> Iterator[None]:
        """One transaction holding the generation's lock (take row locks inside it, never before)."""
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (WEBHOOK_LOCK_SPACE, generation_id))
            yield

    def job(self, job_id: UUID) -> JobRecord | None:
        row = self.conn.execute("SELECT * FROM video_jobs WHERE id = %s FOR UPDATE", (job_id,)).fetchone()
        return JobRecord.model_validate(row) if row else None

    def job_of_generation(self, generation_id: str) -> JobRecord | None:
        """The job whose current generation this is (row-locked), if any."""
        row = self.conn.execute(
            "SELECT * FROM video_jobs WHERE sync_generation_id = %s FOR UPDATE", (generation_id,)).fetchone()
        return JobRecord.model_validate(row) if row else None

    def store_wait(self, job_id: UUID, token: str, state: dict[str, Any], progress: int | None) -> None:
        """The execution waits: its token and the poll state it resumes; progress never goes back."""
        self.conn.execute(
            "UPDATE video_jobs SET task_token = %s, poll_state = %s,"
            " progress_percent = GREATEST(progress_percent, %s) WHERE id = %s",
            (token, Jsonb(state), progress, job_id))

    def clear_wait(self, job_id: UUID, token: str) -> None:
        """Forget the token (used or stale): a duplicate or late webhook then changes nothing."""
        self.conn.execute("UPDATE video_jobs SET task_token = NULL WHERE id = %s AND task_token = %s",
                          (job_id, token))

    def set_progress(self, job_id: UUID, progress: int) -> None:
        self.conn.execute(
            "UPDATE video_jobs SET progress_percent = GREATEST(progress_percent, %s)"
            " WHERE id = %s AND status = 'processing'", (progress, job_id))

    # the inbox ---------------------------------------------------------------------------------
    def inbox_get(self, generation_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT payload FROM syncso_webhook_inbox WHERE generation_id = %s", (generation_id,)).fetchone()
        return row["payload"] if row else None

    def inbox_put(self, generation_id: str, status: str, payload: dict[str, Any], final: bool) -> None:
        """File a verified webhook; a final status replaces an earlier one, never the reverse."""
        self.conn.execute(
            "INSERT INTO syncso_webhook_inbox (generation_id, status, payload) VALUES (%s, %s, %s)"
            " ON CONFLICT (generation_id) DO UPDATE SET status = EXCLUDED.status, payload = EXCLUDED.payload,"
            " received_at = now() WHERE %s OR syncso_webhook_inbox.status IN ('PENDING', 'PROCESSING')",
            (generation_id, status, Jsonb(payload), final))
        self.conn.execute(
            "DELETE FROM syncso_webhook_inbox WHERE generation_id IN (SELECT generation_id FROM"
            " syncso_webhook_inbox WHERE received_at < now() - make_interval(secs => %s) LIMIT 100)",
            (INBOX_KEEP_SECONDS,))

    def inbox_delete(self, generation_id: str) -> None:
        self.conn.execute("DELETE FROM syncso_webhook_inbox WHERE generation_id = %s", (generation_id,))
