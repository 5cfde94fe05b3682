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
