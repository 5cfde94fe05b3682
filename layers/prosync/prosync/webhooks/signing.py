"""Standard Webhooks (https://www.standardwebhooks.com): secrets, signed headers, the body.

The body is `{"type", "timestamp", "data"}`; the headers `webhook-id` (the delivery's id, the same
on every attempt), `webhook-timestamp` (seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">`, space-separated when a rotated secret still signs too). Signing uses
the `standardwebhooks` library, as does the receiver's check in the docs and tests.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def body(event_type: str, timestamp: datetime, data: dict[str, Any]) -> str:
    return json.dumps({"type": event_type, "timestamp": timestamp.isoformat().replace("+00:00", "Z"),
                       "data": data}, separators=(",", ":"))


def headers(msg_id: str, timestamp: datetime, payload: str, secrets_: list[str]) -> dict[str, str]:
    signatures = " ".join(Webhook(secret).sign(msg_id, timestamp, payload) for secret in secrets_)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signatures, "content-type": "application/json",
            "user-agent": "ProSync-Webhooks/1"}
