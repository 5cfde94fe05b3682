"""SQL of the client webhooks: endpoints (per user), deliveries (one per endpoint and event) and the
delivery log (one row per attempt). Every read or write of an endpoint names its user."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

_ENDPOINT = ("id, user_id, url, description, event_types, enabled, created_at, updated_at,"
             " previous_secret_expires_at")


class WebhookStore:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    # endpoints ---------------------------------------------------------------------------------
    def count(self, user_id: str) -> int:
        return self.conn.execute("SELECT count(*) AS n FROM webhook_endpoints WHERE user_id = %s",
                                 (user_id,)).fetchone()["n"]

    def create(self, user_id: str, url: str, event_types: list[str], description: str | None,
               secret: str) -> dict[str, Any]:
        return self.conn.execute(
            f"INSERT INTO webhook_endpoints (id, user_id, url, description, event_types, secret)"
            f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_ENDPOINT}",
            (uuid.uuid4(), user_id, url, description, event_types, secret)).fetchone()

    def list(self, user_id: str) -> list[dict[str, Any]]:
        return self.conn.execute(f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE user_id = %s"
                                 " ORDER BY created_at, id", (user_id,)).fetchall()

    def get(self, user_id: str, endpoint_id: UUID) -> dict[str, Any] | None:
        return self.conn.execute(f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE id = %s AND user_id = %s",
                                 (endpoint_id, user_id)).fetchone()

    def update(self, user_id: str, endpoint_id: UUID, changes: dict[str, Any]) -> dict[str, Any] | None:
        allowed = {"url", "description", "event_types", "enabled"}
        sets = [f"{name} = %({name})s" for name in changes if name in allowed]
        if not sets:
            return self.get(user_id, endpoint_id)
        return self.conn.execute(
            f"UPDATE webhook_endpoints SET {', '.join(sets)}, updated_at = now()"
            f" WHERE id = %(id)s AND user_id = %(user)s RETURNING {_ENDPOINT}",
            {**{k: v for k, v in changes.items() if k in allowed}, "id": endpoint_id, "user": user_id},
        ).fetchone()

    def rotate(self, user_id: str, endpoint_id: UUID, secret: str, overlap: timedelta) -> dict[str, Any] | None:
        return self.conn.execute(
            "UPDATE webhook_endpoints SET previous_secret = secret, secret = %s,"
            " previous_secret_expires_at = now() + %s, updated_at = now()"
            f" WHERE id = %s AND user_id = %s RETURNING {_ENDPOINT}",
            (secret, overlap, endpoint_id, user_id)).fetchone()

    def delete(self, user_id: str, endpoint_id: UUID) -> bool:
        row = self.conn.execute("DELETE FROM webhook_endpoints WHERE id = %s AND user_id = %s RETURNING id",
                                (endpoint_id, user_id)).fetchone()
        return row is not None

    # deliveries --------------------------------------------------------------------------------
    def subscribed(self, user_ids: list[str]) -> list[dict[str, Any]]:
        """Enabled endpoints of these users (the fan-out's read)."""
        return self.conn.execute("SELECT id, user_id, event_types FROM webhook_endpoints"
                                 " WHERE user_id = ANY(%s) AND enabled", (user_ids,)).fetchall()

    def add_delivery(self, endpoint_id: UUID, event: dict[str, Any], payload: dict[str, Any]) -> UUID | None:
        """The delivery of `event` to the endpoint (None: it exists already, e.g. a notifier restart)."""
        row = self.conn.execute(
            "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, payload, next_attempt_at)"
            " VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id",
            (uuid.uuid4(), endpoint_id, event["id"], event["type"], Jsonb(payload))).fetchone()
        return row["id"] if row else None

    def claim(self, delivery_id: UUID, lease_seconds: float) -> dict[str, Any] | float | None:
        """Take a due pending delivery for one attempt: its next time moves `lease_seconds` ahead (so a
        second worker, a restart's pick-up or an SQS duplicate does not attempt it at the same time)
        and it comes back with its endpoint's URL and signing secrets. A pending delivery not due yet:
        the seconds until it is; delivered, dead or gone: None."""
        row = self.conn.execute(
            "WITH c AS (UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => %s)"
            " WHERE id = %s AND state = 'pending' AND next_attempt_at <= now() RETURNING *)"
            " SELECT c.id, c.endpoint_id, c.event_id, c.event_type, c.payload, c.attempts, c.created_at,"
            " e.url, e.enabled, e.secret, CASE WHEN e.previous_secret_expires_at > now()"
            " THEN e.previous_secret END AS previous_secret"
            " FROM c JOIN webhook_endpoints e ON e.id = c.endpoint_id", (lease_seconds, delivery_id)).fetchone()
        if row is not None:
            return row
        later = self.conn.execute(
            "SELECT EXTRACT(EPOCH FROM next_attempt_at - now())::float8 AS wait FROM webhook_deliveries"
            " WHERE id = %s AND state = 'pending'", (delivery_id,)).fetchone()
        return max(0.0, later["wait"] or 0.0) if later else None

    def record(self, delivery_id: UUID, attempt: int, outcome: str, *, status_code: int | None,
               latency_ms: int | None, error: str | None, next_in: float | None) -> None:
        """One attempt in the log, and the delivery's new state (pending with its next time,
        delivered or dead)."""
        state = {"delivered": "delivered", "dead": "dead"}.get(outcome, "pending")
        next_at = datetime.now(UTC) + timedelta(seconds=next_in) if next_in is not None else None
        with self.conn.transaction():
            self.conn.execute(
                "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, latency_ms, error, outcome)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (delivery_id, attempt, status_code, latency_ms, error and error[:500], outcome))
            self.conn.execute(
                "UPDATE webhook_deliveries SET attempts = %s, state = %s, next_attempt_at = %s,"
                " updated_at = now() WHERE id = %s", (attempt, state, next_at, delivery_id))

    def redeliver(self, user_id: str, endpoint_id: UUID, delivery_id: UUID) -> bool:
        """Make the user's delivery pending again with a fresh budget of attempts (same webhook-id); due
        an hour ago, so that AWS's notifier round (which re-sends deliveries overdue by a minute) sends it."""
        row = self.conn.execute(
            "UPDATE webhook_deliveries d SET state = 'pending', attempts = 0,"
            " next_attempt_at = now() - interval '1 hour',"
            " updated_at = now() FROM webhook_endpoints e WHERE d.id = %s AND d.endpoint_id = %s"
            " AND e.id = d.endpoint_id AND e.user_id = %s RETURNING d.id",
            (delivery_id, endpoint_id, user_id)).fetchone()
        return row is not None

    def due(self, limit: int = 100, late_seconds: float = 0.0) -> list[UUID]:
        """Pending deliveries due for `late_seconds` or more (a restart's or a redelivery's pick-up;
        on AWS a message SQS lost)."""
        rows = self.conn.execute("SELECT id FROM webhook_deliveries WHERE state = 'pending'"
                                 " AND next_attempt_at <= now() - make_interval(secs => %s)"
                                 " ORDER BY next_attempt_at LIMIT %s", (late_seconds, limit)).fetchall()
        return [r["id"] for r in rows]

    def deliveries(self, user_id: str, endpoint_id: UUID, limit: int = 50) -> list[dict[str, Any]]:
        """The endpoint's delivery log, newest first, each with its attempts."""
        rows = self.conn.execute(
            "SELECT d.id, d.event_id, d.event_type, d.state, d.attempts, d.next_attempt_at, d.created_at,"
            " COALESCE((SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'at', a.at,"
            " 'statusCode', a.status_code, 'latencyMs', a.latency_ms, 'error', a.error,"
            " 'outcome', a.outcome) ORDER BY a.id) FROM webhook_attempts a"
            " WHERE a.delivery_id = d.id), '[]'::jsonb) AS log"
            " FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
            " WHERE d.endpoint_id = %s AND e.user_id = %s ORDER BY d.created_at DESC, d.event_id DESC"
            " LIMIT %s", (endpoint_id, user_id, limit)).fetchall()
        return rows
