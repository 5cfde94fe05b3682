"""Webhook delivery: POST the Generation (compact JSON) with a ``Sync-Signature`` header.

Sync.so documents neither retries nor redelivery, so the emulator makes one attempt and records the
outcome (tests and ``/_emulator/stats`` read it).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from typing import Any

import httpx
from prosync.syncso.webhooks import SIGNATURE_HEADER, sign_payload

log = logging.getLogger("devstack.emulator.webhooks")


class WebhookSender:
    def __init__(self, secret: str, timeout: float = 5.0) -> None:
        self.secret = secret
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)
        self._lock = threading.Lock()
        self.delivered = 0
        self.failed = 0
        self.recent: deque[dict[str, Any]] = deque(maxlen=100)

    def send(self, url: str, generation: dict[str, Any]) -> bool:
        body = json.dumps(generation, separators=(",", ":"))
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign_payload(self.secret, body),
            "user-agent": "SyncSoEmulator-Webhook/1",
        }
        outcome: dict[str, Any] = {
            "generationId": generation["id"],
            "status": generation["status"],
            "url": url,
        }
        try:
            response = self._http.post(url, content=body.encode(), headers=headers)
            outcome["httpStatus"] = response.status_code
            ok = response.is_success
        except httpx.HTTPError as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
            ok = False
        with self._lock:
            self.delivered += ok
            self.failed += not ok
            self.recent.append(outcome)
        if not ok:
            log.warning("webhook for %s to %s failed: %s", generation["id"], url, outcome)
        return ok

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"delivered": self.delivered, "failed": self.failed, "recent": list(self.recent)}

    def close(self) -> None:
        self._http.close()
