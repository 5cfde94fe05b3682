"""Sync-Signature verification against an independently computed HMAC (the documented recipe)."""

import hashlib
import hmac
import json

import pytest
from prosync.syncso.webhooks import sign_payload, verify_signature

SECRET = "whsec_test_secret"
BODY = json.dumps({"id": "g", "status": "COMPLETED", "outputUrl": "https://o"}, separators=(",", ":"))
NOW = 1_760_000_000


def documented_header(secret: str, timestamp: int, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def test_accepts_the_documented_signature():
    assert verify_signature(SECRET, documented_header(SECRET, NOW, BODY), BODY, now=NOW + 10)
    assert verify_signature(SECRET, documented_header(SECRET, NOW, BODY), BODY.encode(), now=NOW)


def test_sign_payload_produces_the_documented_signature():
    assert sign_payload(SECRET, BODY, timestamp=NOW) == documented_header(SECRET, NOW, BODY)


@pytest.mark.parametrize(
    ("secret", "header", "body", "now"),
    [
        (
            SECRET,
            documented_header(SECRET, NOW, BODY),
            BODY.replace("COMPLETED", "FAILED"),
            NOW,
        ),  # tampered body
        ("whsec_other", documented_header(SECRET, NOW, BODY), BODY, NOW),  # wrong secret
        (SECRET, documented_header(SECRET, NOW, BODY), BODY, NOW + 301),  # too old (replay)
        (SECRET, documented_header(SECRET, NOW, BODY), BODY, NOW - 301),  # from the future
        (
            SECRET,
            documented_header(SECRET, NOW, BODY).replace(f"t={NOW}", f"t={NOW + 1}"),
            BODY,
            NOW,
        ),  # t changed
        (SECRET, "v1=abc", BODY, NOW),  # no timestamp
        (SECRET, f"t={NOW}", BODY, NOW),  # no signature
        (SECRET, "garbage", BODY, NOW),
        (SECRET, "t=notanumber,v1=aa", BODY, NOW),
        (SECRET, None, BODY, NOW),
        (SECRET, "", BODY, NOW),
    ],
)
def test_refuses_bad_signatures(secret, header, body, now):
    assert verify_signature(secret, header, body, now=now) is False


def test_any_of_several_v1_signatures_may_match_during_secret_rotation():
    good = documented_header(SECRET, NOW, BODY).split(",")[1]
    header = f"t={NOW},v1={'0' * 64},{good}"
    assert verify_signature(SECRET, header, BODY, now=NOW)


def test_tolerance_is_configurable():
    header = documented_header(SECRET, NOW, BODY)
    assert not verify_signature(SECRET, header, BODY, tolerance=5, now=NOW + 6)
    assert verify_signature(SECRET, header, BODY, tolerance=600, now=NOW + 500)


# -- verify(): the Generation of a genuine delivery, typed refusals otherwise -----------------------

from datetime import UTC, datetime  # noqa: E402

from prosync.syncso.webhooks import (  # noqa: E402
    WebhookPayloadInvalid, WebhookSignatureInvalid, sign, verify,
)

GENERATION = {"id": "g-1", "createdAt": "2025-01-01T00:00:00Z", "status": "COMPLETED", "model": "lipsync-2",
              "input": [], "outputMediaUrl": "https://o/x.mp4", "error_code": None, "note": "café"}


def test_verify_returns_the_generation_of_a_raw_body_signature():
    raw = json.dumps(GENERATION).encode()  # not compact: signed as received
    generation = verify(SECRET, sign(SECRET, raw, NOW), raw, NOW + 5)
    assert (generation.id, generation.status.value, generation.result_url) == ("g-1", "COMPLETED",
                                                                               "https://o/x.mp4")
    assert verify(SECRET, sign(SECRET, raw, NOW), raw, datetime.fromtimestamp(NOW, UTC)).id == "g-1"


@pytest.mark.parametrize("ascii_only", [False, True])  # JSON.stringify keeps "é"; json.dumps escapes it
def test_verify_accepts_a_signature_over_the_compact_reserialisation(ascii_only):
    raw = json.dumps(GENERATION, indent=2, ensure_ascii=False).encode()  # re-encoded on the way
    signed = json.dumps(GENERATION, separators=(",", ":"), ensure_ascii=ascii_only)
    assert verify(SECRET, documented_header(SECRET, NOW, signed), raw, NOW).id == "g-1"


def test_sign_is_the_documented_header():
    assert sign(SECRET, BODY, NOW) == documented_header(SECRET, NOW, BODY)


@pytest.mark.parametrize(("header", "body", "now", "reason"), [
    (None, BODY, NOW, "missing"),
    ("", BODY, NOW, "missing"),
    ("t=abc,v1=00", BODY, NOW, "malformed"),
    ("v1=00", BODY, NOW, "malformed"),
    (documented_header(SECRET, NOW, BODY), BODY, NOW + 301, "stale"),
    (documented_header(SECRET, NOW, BODY), BODY, NOW - 301, "stale"),  # from the future
    (documented_header(SECRET, NOW, BODY), BODY.replace("COMPLETED", "FAILED"), NOW, "mismatch"),
    (documented_header("whsec_other", NOW, BODY), BODY, NOW, "mismatch"),
])
def test_verify_refuses_with_a_typed_reason(header, body, now, reason):
    with pytest.raises(WebhookSignatureInvalid) as caught:
        verify(SECRET, header, body.encode(), now)
    assert caught.value.reason == reason


def test_a_body_reformatted_after_signing_still_verifies_through_its_compact_form():
    reformatted = BODY.replace(",", ", ") + "\n"  # same object, other bytes
    assert verify_signature(SECRET, documented_header(SECRET, NOW, BODY), reformatted, now=NOW)


def test_verify_needs_a_secret():
    with pytest.raises(WebhookSignatureInvalid) as caught:
        verify("", documented_header("", NOW, BODY), BODY.encode(), NOW)
    assert caught.value.reason == "no_secret"


def test_a_signed_body_that_is_no_generation_is_a_payload_error():
    with pytest.raises(WebhookPayloadInvalid):
        verify(SECRET, documented_header(SECRET, NOW, BODY), BODY.encode(), NOW)  # no createdAt, model
    with pytest.raises(WebhookPayloadInvalid):
        verify(SECRET, sign(SECRET, b"[1,2]", NOW), b"[1,2]", NOW)


def test_signatures_are_compared_in_constant_time(monkeypatch):
    import prosync.syncso.webhooks as webhooks

    calls = []
    real = webhooks.hmac.compare_digest
    monkeypatch.setattr(webhooks.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    raw = json.dumps(GENERATION, separators=(",", ":")).encode()
    verify(SECRET, sign(SECRET, raw, NOW), raw, NOW)
    assert calls  # every candidate went through hmac.compare_digest
