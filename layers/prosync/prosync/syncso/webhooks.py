"""Sync.so webhook signatures: ``Sync-Signature: t=<unix seconds>,v1=<hex>``.

``v1`` is the lowercase hex HMAC-SHA256 of ``f"{t}.{body}"`` keyed with the organisation's signing
secret used as raw UTF-8 (the official examples do not base64-decode the ``whsec_`` string).

What ``body`` is: Sync.so's guide verifies against the parsed JSON re-serialised compactly
(``JSON.stringify(req.body)`` / ``json.dumps(payload, separators=(",", ":"))``), not against the bytes
received. A sender that signs its compact serialisation while a proxy or framework re-encodes the body,
or a receiver that only sees the parsed JSON, would then disagree with a raw-bytes check. So ``verify``
accepts a signature over the raw body OR over the compact re-serialisation of that same parsed body
(with and without ASCII escaping, as JavaScript and Python spell non-ASCII differently). Both are
derived from the one body we act on, so neither lets another payload through: what is returned is the
parsed body, and whichever form matched, it is exactly that object that was signed.

Every comparison is constant-time (``hmac.compare_digest``); a timestamp further than
``tolerance_seconds`` from now, in either direction, is refused (Sync.so documents no window; 5 min).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime

from pydantic import ValidationError

from .models import Generation

SIGNATURE_HEADER = "Sync-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookError(ValueError):
    """Base of the webhook errors; ``reason`` is a short machine word for logs."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class WebhookSignatureInvalid(WebhookError):
    """Missing, malformed, stale or wrong signature (answer 401; never act on the body)."""


class WebhookPayloadInvalid(WebhookError):
    """Correctly signed, but not a Generation (answer 400)."""


def compute_signature(secret: str, timestamp: int, body: bytes | str) -> str:
    raw = body.encode() if isinstance(body, str) else body
    message = str(timestamp).encode() + b"." + raw
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes | str, t: int) -> str:
    """The ``Sync-Signature`` header value for ``body`` at unix time ``t`` (emulator and tests)."""
    return f"t={int(t)},v1={compute_signature(secret, int(t), body)}"


def sign_payload(secret: str, body: bytes | str, timestamp: int | None = None) -> str:
    """``sign`` at the current time unless ``timestamp`` is given (the emulator's sender uses it)."""
    return sign(secret, body, int(time.time()) if timestamp is None else int(timestamp))


def parse_signature_header(header: str) -> tuple[int, list[str]]:
    """``(timestamp, [v1 signatures])``; raises ValueError when the header is malformed."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise ValueError(f"malformed signature element {part!r}")
        if key == "t":
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value.strip().lower())
    if timestamp is None or not signatures:
        raise ValueError("signature header needs t= and at least one v1=")
    return timestamp, signatures


def _signed_forms(raw_body: bytes, parsed: object) -> list[bytes]:
    """The byte strings a genuine signature may cover: the raw body, then its compact re-serialisations."""
    forms = [raw_body]
    for ascii_only in (False, True):
        compact = json.dumps(parsed, separators=(",", ":"), ensure_ascii=ascii_only).encode()
        if compact not in forms:
            forms.append(compact)
    return forms


def verify(
    secret: str,
    header: str | None,
    raw_body: bytes,
    now: float | datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> Generation:
    """The Generation of a webhook delivery whose ``Sync-Signature`` checks out; raises
    ``WebhookSignatureInvalid`` (or ``WebhookPayloadInvalid`` for a signed body that is no Generation)."""
    if not secret:
        raise WebhookSignatureInvalid("no_secret", "no webhook signing secret is configured")
    if not header:
        raise WebhookSignatureInvalid("missing", f"no {SIGNATURE_HEADER} header")
    try:
        timestamp, signatures = parse_signature_header(header)
    except ValueError as exc:
        raise WebhookSignatureInvalid("malformed", f"malformed {SIGNATURE_HEADER}: {exc}") from None
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookSignatureInvalid(
            "stale", f"signature time {timestamp} is more than {tolerance_seconds} s from now")
    try:
        parsed = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    forms = [raw_body] if parsed is None else _signed_forms(raw_body, parsed)
    expected = [compute_signature(secret, timestamp, form) for form in forms]
    # every pair is compared (no early exit), so timing says nothing about which part matched
    matched = [hmac.compare_digest(e, s) for e in expected for s in signatures]
    if not any(matched):
        raise WebhookSignatureInvalid("mismatch", "the signature does not match the body")
    if not isinstance(parsed, dict):
        raise WebhookPayloadInvalid("not_json", "the signed body is not a JSON object")
    try:
        return Generation.model_validate(parsed)
    except ValidationError as exc:
        raise WebhookPayloadInvalid("not_generation", f"the signed body is no Generation: {exc}") from None


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes | str,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when ``header`` signs ``body`` (raw, or its compact re-serialisation) with ``secret`` within
    ``tolerance`` s of now. The boolean form of ``verify`` that does not need a Generation body."""
    raw = body.encode() if isinstance(body, str) else body
    try:
        verify(secret, header, raw, time.time() if now is None else now, tolerance)
    except WebhookSignatureInvalid:
        return False
    except WebhookPayloadInvalid:
        return True
    return True
