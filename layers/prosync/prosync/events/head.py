"""The feed's safe head: the highest event id below which nothing can still appear.

A bigserial id is taken when a row is inserted, not when its transaction commits: id 11 may be
visible while id 10's transaction is still open. A reader that moved past 10 would never send it.
`Head` moves only over contiguous ids; at a hole it waits until the hole is `grace` seconds old
(then the id was rolled back or a sequence value was lost, and it is skipped). A job's own events
are written under its row lock, so a job's ids always commit in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg


def latest_id(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT COALESCE(max(id), 0) AS id FROM job_events").fetchone()
    return int(row["id"] if isinstance(row, dict) else row[0])


class Head:
    def __init__(self, start: int, *, grace: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.value = start
        self.grace = grace
        self._clock = clock
        self._hole: tuple[int, float] | None = None  # (first missing id, when it was first seen missing)

    def advance(self, conn: psycopg.Connection, limit: int = 5000) -> int:
        rows = conn.execute("SELECT id FROM job_events WHERE id > %s ORDER BY id LIMIT %s",
                            (self.value, limit)).fetchall()
        for row in rows:
            found = int(row["id"] if isinstance(row, dict) else row[0])
            if found == self.value + 1:
                self.value, self._hole = found, None
                continue
            now = self._clock()
            if self._hole is None or self._hole[0] != self.value + 1:
                self._hole = (self.value + 1, now)
            if now - self._hole[1] < self.grace:
                break
            self.value, self._hole = found, None  # the hole is old: its ids will never commit
        return self.value
