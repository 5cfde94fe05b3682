"""The notifier: reads the feed up to its safe head and fans every event out, in id order.

- WebSocket subscriptions (`Subscriptions`): a connection subscribes to one of its user's jobs or to
  all of them, from an event id (`after`). Each subscription has its own cursor: a subscription that
  is behind (just connected, or resuming after a reconnect) is caught up from `job_events` with a
  user-scoped query, then gets the live batch like the others. So nothing is lost and nothing is
  sent twice on one connection; a message only ever goes to a subscription of the event's user.
- Webhooks (`fanout`): each event is handed to a callable (prosync.webhooks.fanout) that writes
  the deliveries and enqueues them.

`tick` is one round; the local stack runs it in a thread every few tens of milliseconds, the notifier
Lambda in a loop. `push(connection_id, message) -> bool` sends one message (False: the connection is
gone, its subscriptions are dropped).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from prosync.events import feed
from prosync.events.head import Head, latest_id

Push = Callable[[str, dict[str, Any]], bool]


@dataclass
class Subscription:
    connection_id: str
    user_id: str
    job_id: str | None  # None: all of the user's jobs
    cursor: int  # the last event id this subscription was sent (or asked to start after)

    def wants(self, event: dict[str, Any]) -> bool:
        return event["userId"] == self.user_id and (self.job_id is None or event["jobId"] == self.job_id)


class Subscriptions:
    """The live subscriptions, thread-safe (the WebSocket server adds, the notifier reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str | None], Subscription] = {}

    def add(self, subscription: Subscription) -> None:
        with self._lock:
            self._items[(subscription.connection_id, subscription.job_id)] = subscription

    def drop_connection(self, connection_id: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == connection_id]:
                del self._items[key]

    def snapshot(self) -> list[Subscription]:
        with self._lock:
            return list(self._items.values())


def public(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "userId"}


class Notifier:
    def __init__(self, conn: psycopg.Connection, subscriptions: Subscriptions, push: Push, *,
                 fanout: Callable[[psycopg.Connection, list[dict[str, Any]]], None] | None = None,
                 grace: float = 2.0, start: int | None = None):
        self.conn = conn
        self.subscriptions = subscriptions
        self.push = push
        self.fanout = fanout
        self.cursor = latest_id(conn) if start is None else start
        self.head = Head(self.cursor, grace=grace)

    def tick(self) -> int:
        """One round; returns how many messages were pushed."""
        head = self.head.advance(self.conn)
        batch = feed.batch(self.conn, after=self.cursor, up_to=head) if head > self.cursor else []
        if batch:
            head = batch[-1]["id"] if len(batch) >= 1000 else head  # a full page: the rest next round
        sent = 0
        for sub in self.subscriptions.snapshot():
            if sub.cursor >= head:
                continue
            if sub.cursor < self.cursor:  # behind the batch: catch up from the table first
                events = [dict(e, userId=sub.user_id) for e in feed.for_user(
                    self.conn, sub.user_id, after=sub.cursor, up_to=head, job_id=sub.job_id, limit=5000)]
            else:
                events = [e for e in batch if e["id"] > sub.cursor and sub.wants(e)]
            for event in events:
                if not self.push(sub.connection_id, public(event)):
                    self.subscriptions.drop_connection(sub.connection_id)
                    break
                sub.cursor = event["id"]
                sent += 1
            else:
                sub.cursor = max(sub.cursor, head)
        if batch and self.fanout is not None:
            self.fanout(self.conn, batch)
        self.cursor = max(self.cursor, head)
        return sent


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), default=str)
