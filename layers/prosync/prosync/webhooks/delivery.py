"""One delivery attempt, and what comes next: the code both the local stack's in-process queue and
the delivery Lambda (SQS) run.

The POST goes through prosync.net.guard's `GuardedClient` on every attempt: the endpoint's name is
resolved and every address checked (no loopback, private, link-local, metadata...) right before
connecting, and redirects are never followed (a 3xx is a failed attempt). 2xx = delivered; anything
else (other statuses, timeouts, refused addresses) is retried with exponential backoff until
`webhook_max_attempts`, then the delivery is dead (the dead-letter queue; the log says so).
"""

from __future__ import annotations

import functools
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from datetime import UTC, datetime
from uuid import UUID

import httpx

from prosync.net.guard import AddressRejected, GuardedClient, Resolver
from prosync.webhooks import signing
from prosync.webhooks.settings import WebhookSettings
from prosync.webhooks.urls import trusted_origins

if TYPE_CHECKING:  # the delivery function outside the VPC uses RemoteStore: no psycopg at cold start
    from prosync.webhooks.store import WebhookStore


@dataclass(frozen=True)
class Outcome:
    outcome: str  # delivered | retry | dead | later (not due yet) | skipped (delivered meanwhile, or gone)
    attempt: int = 0
    status_code: int | None = None
    retry_in: float | None = None  # seconds until the next attempt (retry only)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """certifi's roots, loaded once per container (building a context costs tens of milliseconds)."""
    return httpx.create_ssl_context(trust_env=False)


def backoff(attempt: int, settings: WebhookSettings, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based)."""
    delay = min(settings.webhook_retry_base_seconds * settings.webhook_retry_factor ** (attempt - 1),
                settings.webhook_retry_cap_seconds)
    return delay * (1 + 0.1 * rand()) * settings.webhook_retry_scale


def attempt(store: WebhookStore, delivery_id: UUID, settings: WebhookSettings, *,
            resolve: Resolver | None = None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Outcome:
    """Make the next attempt of a pending delivery and record it."""
    found = store.claim(delivery_id, settings.webhook_timeout_seconds + 30)
    if found is None:
        return Outcome("skipped")
    if isinstance(found, float):  # not due yet (an early duplicate): try again then
        return Outcome("later", retry_in=found)
    number = found["attempts"] + 1
    if not found["enabled"]:
        return _record(store, found, number, settings, None, None, "endpoint disabled")
    sent_at = now()
    payload = signing.body(found["event_type"], sent_at, found["payload"])
    keys = [found["secret"], *([found["previous_secret"]] if found["previous_secret"] else [])]
    headers = signing.headers(str(found["id"]), sent_at, payload, keys)
    options = {"resolve": resolve} if resolve is not None else {}
    clock = time.monotonic()
    status = error = None
    try:
        with GuardedClient(timeout=settings.webhook_timeout_seconds, follow_redirects=False,
                           trusted=trusted_origins(found["url"], settings.webhooks_allow_http_loopback),
                           ssl_context=_ssl_context(),
                           **options) as client:
            status = client.post(found["url"], content=payload.encode(), headers=headers).status_code
    except AddressRejected as exc:
        error = f"refused: {exc}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
    latency = round((time.monotonic() - clock) * 1000)
    return _record(store, found, number, settings, status, latency, error)


def _record(store: WebhookStore, found: dict, number: int, settings: WebhookSettings,
            status: int | None, latency: int | None, error: str | None) -> Outcome:
    if status is not None and 200 <= status < 300:
        store.record(found["id"], number, "delivered", status_code=status, latency_ms=latency,
                     error=None, next_in=None)
        return Outcome("delivered", number, status)
    if status is not None and error is None:
        error = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
    if number >= settings.webhook_max_attempts:
        store.record(found["id"], number, "dead", status_code=status, latency_ms=latency,
                     error=f"{error}; attempts exhausted: moved to the dead-letter queue", next_in=None)
        return Outcome("dead", number, status)
    wait = backoff(number, settings)
    store.record(found["id"], number, "retry", status_code=status, latency_ms=latency, error=error,
                 next_in=wait)
    return Outcome("retry", number, status, wait)
