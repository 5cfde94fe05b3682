"""From feed events to deliveries: each event of a webhook type, for each enabled endpoint of the
event's user that asked for that type, becomes one delivery row (its id is the webhook-id), handed
to `enqueue` (the in-process queue locally, SQS on AWS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg

from prosync.events.feed import WEBHOOK_EVENT_TYPES
from prosync.webhooks.store import WebhookStore


def fanout(conn: psycopg.Connection, events: list[dict[str, Any]],
           enqueue: Callable[[UUID], None]) -> list[UUID]:
    wanted = [e for e in events if e["type"] in WEBHOOK_EVENT_TYPES]
    if not wanted:
        return []
    store = WebhookStore(conn)
    endpoints: dict[str, list[dict[str, Any]]] = {}
    for endpoint in store.subscribed(sorted({e["userId"] for e in wanted})):
        endpoints.setdefault(endpoint["user_id"], []).append(endpoint)
    made: list[UUID] = []
    for event in wanted:
        data = {k: v for k, v in event.items() if k != "userId"}
        for endpoint in endpoints.get(event["userId"], ()):
            if event["type"] in endpoint["event_types"]:
                delivery = store.add_delivery(endpoint["id"], event, data)
                if delivery is not None:
                    made.append(delivery)
    for delivery in made:
        enqueue(delivery)
    return made
