"""The local stack's delivery queue: SQS's part, in-process, running the same `delivery.attempt`.

A delivery id waits in a heap until it is due (SQS: DelaySeconds / ChangeMessageVisibility), a few
worker threads attempt it, a retry goes back in with the outcome's delay, a dead one is put on
`dead_letters` (SQS: the redrive to the dead-letter queue). Pending deliveries found in the database
at start (a restart, a redelivery) are picked up by `poll_due`.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from uuid import UUID

from prosync.db.connection import get_connection
from prosync.webhooks.delivery import Outcome, attempt
from prosync.webhooks.settings import WebhookSettings
from prosync.webhooks.store import WebhookStore


class LocalDeliveryQueue:
    def __init__(self, settings: WebhookSettings, *, workers: int = 4, resolve=None,
                 on_outcome: Callable[[UUID, Outcome], None] | None = None):
        self.settings = settings
        self.resolve = resolve
        self.on_outcome = on_outcome
        self.dead_letters: list[UUID] = []
        self._heap: list[tuple[float, int, UUID]] = []
        self._queued: set[UUID] = set()
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._threads = [threading.Thread(target=self._work, name=f"webhooks-{i}", daemon=True)
                         for i in range(workers)]

    def start(self) -> LocalDeliveryQueue:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    def enqueue(self, delivery_id: UUID, delay: float = 0.0) -> None:
        with self._cond:
            if delivery_id in self._queued:
                return
            self._queued.add(delivery_id)
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._order), delivery_id))
            self._cond.notify()

    def poll_due(self) -> None:
        for delivery_id in WebhookStore(get_connection(self.settings)).due():
            self.enqueue(delivery_id)

    def _next(self) -> UUID | None:
        with self._cond:
            while not self._stopping:
                if self._heap and self._heap[0][0] <= time.monotonic():
                    delivery_id = heapq.heappop(self._heap)[2]
                    self._queued.discard(delivery_id)
                    return delivery_id
                self._cond.wait(timeout=(self._heap[0][0] - time.monotonic()) if self._heap else 0.5)
            return None

    def _work(self) -> None:
        while (delivery_id := self._next()) is not None:
            try:
                outcome = attempt(WebhookStore(get_connection(self.settings)), delivery_id, self.settings,
                                  resolve=self.resolve)
            except Exception as exc:  # noqa: BLE001 (a database hiccup: try again shortly, as SQS would)
                print(f"webhook delivery {delivery_id}: {type(exc).__name__}: {exc}")
                self.enqueue(delivery_id, 1.0)
                continue
            if outcome.outcome in ("retry", "later"):
                self.enqueue(delivery_id, outcome.retry_in or 0.0)
            elif outcome.outcome == "dead":
                self.dead_letters.append(delivery_id)
            if self.on_outcome:
                self.on_outcome(delivery_id, outcome)
