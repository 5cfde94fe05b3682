"""The AWS side of the notifier, run by the in-VPC eventfeed function for the out-of-VPC notifier
and delivery functions (which reach API Gateway, SQS and the receivers but not Postgres).

- `notifier_round`: drops the connections the notifier found gone, runs one `Notifier.tick` over the
  subscriptions stored in Postgres, and returns what to send: `messages` ([connection id, message])
  and `deliveries` (ids for SQS; the new ones and any pending one overdue, e.g. a redelivery). It
  waits up to `feed_wait_seconds` for an event first, so an idle feed costs one call a second.
- `claim` / `record`: `WebhookStore`'s two calls that `delivery.attempt` makes, as JSON.
"""

from __future__ import annotations

import json
import time
from typing import Any
from uuid import UUID

import psycopg

from prosync.events.connections import DbSubscriptions, load_cursor, save_cursor
from prosync.events.head import latest_id
from prosync.events.notifier import Notifier
from prosync.events.settings import EventFeedSettings
from prosync.webhooks.fanout import fanout
from prosync.webhooks.store import WebhookStore

CURSOR = "notifier"
_warm: dict[str, Notifier] = {}  # the container's notifier: its head remembers holes across rounds


def notifier_round(conn: psycopg.Connection, settings: EventFeedSettings, gone: list[str]) -> dict[str, Any]:
    subscriptions = DbSubscriptions(conn)
    for connection_id in gone:
        subscriptions.drop_connection(connection_id)
    cursor = load_cursor(conn, CURSOR)
    if cursor is None:  # first run: from now (no history is sent to webhooks)
        cursor = latest_id(conn)
        save_cursor(conn, CURSOR, cursor)
    messages: list[list[Any]] = []
    deliveries: list[UUID] = []
    notifier = _warm.get(CURSOR)
    if notifier is None or notifier.cursor != cursor:  # cold, or another container moved on
        notifier = Notifier(conn, subscriptions, lambda c, m: True, grace=settings.feed_grace_seconds, start=cursor)
        _warm[CURSOR] = notifier
    notifier.conn, notifier.subscriptions = conn, subscriptions
    notifier.push = lambda connection_id, message: messages.append([connection_id, message]) or True
    notifier.fanout = lambda c, events: fanout(c, events, deliveries.append)
    ends = time.monotonic() + settings.feed_wait_seconds
    while True:
        notifier.tick()
        if messages or deliveries or time.monotonic() >= ends:
            break
        time.sleep(0.1)
    subscriptions.save()
    save_cursor(conn, CURSOR, notifier.cursor)
    overdue = WebhookStore(conn).due(limit=100, late_seconds=settings.overdue_after_seconds)
    ids = list(dict.fromkeys([*deliveries, *overdue]))
    return {"messages": messages, "deliveries": [str(d) for d in ids], "cursor": notifier.cursor}


def claim(conn: psycopg.Connection, delivery_id: str, lease: float) -> dict[str, Any]:
    found = WebhookStore(conn).claim(UUID(delivery_id), lease)
    if found is None:
        return {"kind": "none"}
    if isinstance(found, float):
        return {"kind": "later", "wait": found}
    return {"kind": "row", "row": json.loads(json.dumps(found, default=str))}


def record(conn: psycopg.Connection, request: dict[str, Any]) -> dict[str, Any]:
    WebhookStore(conn).record(UUID(request["deliveryId"]), request["attempt"], request["outcome"],
                              status_code=request.get("statusCode"), latency_ms=request.get("latencyMs"),
                              error=request.get("error"), next_in=request.get("nextIn"))
    return {"ok": True}
