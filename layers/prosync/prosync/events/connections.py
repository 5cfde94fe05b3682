"""The WebSocket API's connections and subscriptions in Postgres (AWS: connections live in API
Gateway, the websocket function records them here; the notifier's rounds read and advance them).
Same `Subscription` objects as the local stack's in-memory registry, so `Notifier` is the same."""

from __future__ import annotations

import psycopg

from prosync.events import feed
from prosync.events.head import latest_id
from prosync.events.notifier import Subscription


class SubscriptionRefused(Exception):
    pass


class DbSubscriptions:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def connect(self, connection_id: str, user_id: str) -> None:
        self.conn.execute("INSERT INTO ws_connections (connection_id, user_id) VALUES (%s, %s)"
                          " ON CONFLICT (connection_id) DO NOTHING", (connection_id, user_id))

    def drop_connection(self, connection_id: str) -> None:
        self.conn.execute("DELETE FROM ws_connections WHERE connection_id = %s", (connection_id,))

    def subscribe(self, connection_id: str, job_id: str | None, after: int | None) -> dict:
        """The subscription of a connection's user (the user is the one recorded at $connect);
        the acknowledgement sent back. Another user's (or an unknown) job: SubscriptionRefused."""
        row = self.conn.execute("SELECT user_id FROM ws_connections WHERE connection_id = %s",
                                (connection_id,)).fetchone()
        if row is None:
            raise SubscriptionRefused("unknown connection")
        user_id = row["user_id"]
        if job_id is not None and not feed.owns_job(self.conn, user_id, job_id):
            raise SubscriptionRefused("no such job")
        start = after if after is not None else (0 if job_id is not None else latest_id(self.conn))
        self.conn.execute(
            "INSERT INTO ws_subscriptions (connection_id, job_id, user_id, cursor) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (connection_id, COALESCE(job_id::text, '*')) DO UPDATE SET cursor = EXCLUDED.cursor",
            (connection_id, job_id, user_id, start))
        return {"type": "subscribed", "jobId": job_id, "after": start}

    def snapshot(self) -> list[Subscription]:
        """Every subscription (kept as `last`: the notifier advances their cursors, `save` writes them)."""
        rows = self.conn.execute("SELECT connection_id, user_id, job_id, cursor FROM ws_subscriptions").fetchall()
        self.last = [Subscription(r["connection_id"], r["user_id"], str(r["job_id"]) if r["job_id"] else None,
                                  r["cursor"]) for r in rows]
        return self.last

    def save(self) -> None:
        for sub in getattr(self, "last", []):
            self.conn.execute(
                "UPDATE ws_subscriptions SET cursor = GREATEST(cursor, %s) WHERE connection_id = %s"
                " AND job_id IS NOT DISTINCT FROM %s", (sub.cursor, sub.connection_id, sub.job_id))


def load_cursor(conn: psycopg.Connection, name: str) -> int | None:
    row = conn.execute("SELECT last_id FROM event_cursors WHERE name = %s", (name,)).fetchone()
    return row["last_id"] if row else None


def save_cursor(conn: psycopg.Connection, name: str, last_id: int) -> None:
    conn.execute("INSERT INTO event_cursors (name, last_id) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE"
                 " SET last_id = GREATEST(event_cursors.last_id, EXCLUDED.last_id), updated_at = now()",
                 (name, last_id))
