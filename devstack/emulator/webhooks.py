"""Webhook delivery as Sync.so's webhook guide shows it.

``POST <webhookUrl>`` with the Generation (the GET shape) serialised compactly
(``json.dumps(payload, separators=(",", ":"))``) and the header

    Sync-Signature: t=<unix seconds>,v1=<lowercase hex HMAC-SHA256(secret, f"{t}.{body}")>

keyed with the organisation's secret (``whsec_...``) used as its raw UTF-8 bytes. The signing is
written here from the guide on purpose, independent of the client's verifier, so a test of one against
the other proves something. Sync.so documents neither retries nor redelivery: the emulator makes one
attempt (unless a ``webhook`` fault says otherwise) and records each outcome (``/_emulator/stats``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

log = logging.getLogger("devstack.emulator.webhooks")

SIGNATURE_HEADER = "Sync-Signature"
STALE_SECONDS = 600


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def compact_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class WebhookSender:
    def __init__(self, secret: str, timeout: float = 5.0) -> None:
        self.secret = secret
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._later = ThreadPoolExecutor(max_workers=4, thread_name_prefix="emulator-webhook")
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        self.recent: deque[dict[str, Any]] = deque(maxlen=100)

    def deliver(
        self, url: str, generation: dict[str, Any], mode: str | None = None, seconds: float = 0.0
    ) -> None:
        """Send now, or as the ``webhook`` fault's ``mode`` says (drop, duplicate, delay, stale,
        bad_signature; ``early`` is the worker's: it calls this before the status changes)."""
        if mode == "drop":
            self._record({**_about(url, generation), "dropped": True}, None)
            return
        if mode == "delay":
            self._later.submit(self._send_after, seconds, url, generation, mode)
            return
        self.send(url, generation, mode, seconds)
        if mode == "duplicate":
            self._later.submit(self._send_after, seconds, url, generation, mode)

    def send(
        self, url: str, generation: dict[str, Any], mode: str | None = None, seconds: float = 0.0
    ) -> bool:
        body = compact_json(generation)
        now = int(time.time())
        timestamp = now - int(seconds or STALE_SECONDS) if mode == "stale" else now
        secret = "whsec_not_the_organisation_secret" if mode == "bad_signature" else self.secret
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: signature_header(secret, body, timestamp),
            "user-agent": "SyncSoEmulator-Webhook/1",
        }
        outcome = _about(url, generation) | ({"mode": mode} if mode else {})
        try:
            response = self._http.post(url, content=body, headers=headers)
            outcome["httpStatus"] = response.status_code
            ok = response.is_success
        except httpx.HTTPError as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
            ok = False
        self._record(outcome, ok)
        if not ok:
            log.warning("webhook for %s to %s failed: %s", generation["id"], url, outcome)
        return ok

    def _send_after(self, seconds: float, url: str, generation: dict[str, Any], mode: str) -> None:
        if not self._stopping.wait(seconds):
            self.send(url, generation, mode)

    def _record(self, outcome: dict[str, Any], ok: bool | None) -> None:
        with self._lock:
            if ok is None:
                self.dropped += 1
            else:
                self.delivered += ok
                self.failed += not ok
            self.recent.append(outcome)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "delivered": self.delivered,
                "failed": self.failed,
                "dropped": self.dropped,
                "recent": list(self.recent),
            }

    def close(self) -> None:
        self._stopping.set()
        self._later.shutdown(wait=True, cancel_futures=True)
        self._http.close()


def _about(url: str, generation: dict[str, Any]) -> dict[str, Any]:
    return {"generationId": generation["id"], "status": generation["status"], "url": url}
