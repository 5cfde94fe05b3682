"""Live events in the local stack: the WebSocket server, the notifier and the webhook delivery
queue, all in this process and running the same code as the AWS functions (prosync.events,
prosync.webhooks): the notifier reads job_events past its safe head every `interval` seconds, pushes
to WebSocket subscriptions and writes webhook deliveries, which the in-process queue attempts
(SQS's part on AWS)."""

from __future__ import annotations

import threading
import time

from devstack.gateway.auth import JwtAuthorizer
from devstack.gateway.websocket import WebSocketGateway
from prosync.db.connection import get_connection
from prosync.events.notifier import Notifier, Subscriptions
from prosync.webhooks.fanout import fanout
from prosync.webhooks.queue import LocalDeliveryQueue
from prosync.webhooks.settings import WebhookSettings


class LiveEvents:
    def __init__(self, authorizer: JwtAuthorizer, *, interval: float = 0.05, grace: float = 2.0,
                 settings: WebhookSettings | None = None, resolve=None):
        self.settings = settings or WebhookSettings()
        self.subscriptions = Subscriptions()
        self.websocket = WebSocketGateway(authorizer, self.subscriptions, self._db)
        self.queue = LocalDeliveryQueue(self.settings, resolve=resolve, workers=8)
        self.interval = interval
        self.grace = grace
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self.errors = 0

    def _db(self):
        return get_connection(self.settings)

    def start(self, port: int = 0) -> LiveEvents:
        self.websocket.start(port=port)
        self.queue.start()
        self._ready = threading.Event()
        self._thread.start()
        self._ready.wait(timeout=10)
        return self

    def _run(self) -> None:
        notifier = None
        last_due = 0.0
        while not self._stop.is_set():
            try:
                if notifier is None:
                    notifier = Notifier(self._db(), self.subscriptions, self.websocket.push, grace=self.grace,
                                        fanout=lambda conn, events: fanout(conn, events, self.queue.enqueue))
                    self._ready.set()
                notifier.conn = self._db()  # the thread's connection (replaced after a drop)
                notifier.tick()
                if time.monotonic() - last_due > 5:  # redeliveries and a restart's pending ones
                    self.queue.poll_due()
                    last_due = time.monotonic()
            except Exception as exc:  # noqa: BLE001 (the database went away: try again next round)
                self.errors += 1
                if self.errors < 5:
                    print(f"notifier: {type(exc).__name__}: {exc}")
            self._stop.wait(self.interval)
        self._ready.set()

    @property
    def ws_url(self) -> str:
        return self.websocket.url

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.websocket.stop()
        self.queue.stop()
