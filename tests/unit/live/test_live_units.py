"""Live events' pure parts: endpoint URL rules, the backoff schedule, Standard Webhooks signatures
(checked with the `standardwebhooks` library, rotation included), event messages, the safe head."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from prosync.events.feed import event_type, message, progress_of
from prosync.events.head import Head
from prosync.webhooks import signing
from prosync.webhooks.delivery import backoff
from prosync.webhooks.settings import WebhookSettings
from prosync.webhooks.urls import EndpointUrlInvalid, check_url, trusted_origins


@pytest.mark.parametrize("url", ["https://hooks.example.com/a", "https://93.184.216.34:8443/x?y=1"])
def test_public_https_urls_are_accepted(url):
    assert check_url(url) == url


@pytest.mark.parametrize("url, why", [
    ("http://hooks.example.com/a", "https"), ("ftp://x.example.com", "https"),
    ("https://127.0.0.1/a", "loopback"), ("https://169.254.169.254/latest", "metadata"),
    ("https://10.1.2.3/", "private"), ("https://[::1]/", "loopback"), ("https://localhost/", "fully qualified"),
    ("https://user:pw@hooks.example.com/", "credentials"), ("http://127.0.0.1:9000/hook", "https"),
])
def test_other_urls_are_refused(url, why):
    with pytest.raises(EndpointUrlInvalid, match=why):
        check_url(url)


def test_loopback_http_only_with_the_dev_setting():
    assert check_url("http://127.0.0.1:9000/hook", allow_http_loopback=True) == "http://127.0.0.1:9000/hook"
    with pytest.raises(EndpointUrlInvalid):
        check_url("http://localhost:9000/hook", allow_http_loopback=True)
    assert trusted_origins("http://127.0.0.1:9000/hook", True) == ["http://127.0.0.1:9000"]
    assert trusted_origins("http://127.0.0.1:9000/hook", False) == []
    assert trusted_origins("https://evil.example.com/", True) == []


def test_backoff_spans_24_hours_before_the_dead_letter_queue():
    settings = WebhookSettings()
    delays = [backoff(n, settings, rand=lambda: 0.0) for n in range(1, settings.webhook_max_attempts)]
    assert delays[:4] == [5, 20, 80, 320] and max(delays) == 6 * 3600
    assert 24 * 3600 <= sum(delays) <= 27 * 3600  # then attempt 11 is the last
    assert backoff(1, settings, rand=lambda: 1.0) == pytest.approx(5.5)  # <= 10 % jitter


def test_signatures_verify_with_standardwebhooks_and_survive_a_rotation():
    old, new = signing.new_secret(), signing.new_secret()
    now = datetime.now(UTC)
    body = signing.body("job.completed", now, {"id": 7, "jobId": "j"})
    headers = signing.headers("d-1", now, body, [new, old])
    assert headers["webhook-id"] == "d-1" and headers["webhook-signature"].count("v1,") == 2
    for secret in (new, old):  # a receiver still on the old secret keeps verifying during the overlap
        assert Webhook(secret).verify(body, headers)["data"] == {"id": 7, "jobId": "j"}
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace("7", "8"), headers)


def test_messages():
    assert event_type("processing", "processing") == "job.progress"
    assert event_type("queued", "submitting") == "job.submitting"
    assert progress_of("processing", {"progressPercent": 50}) == 62 and progress_of("queued", {}) == 10
    at = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    row = {"id": 3, "job_id": "j", "at": at, "from_status": "queued", "to_status": "submitting",
           "detail": {"secret": "x", "attempt": 1}}
    assert message(row) == {"id": 3, "type": "job.submitting", "jobId": "j", "status": "submitting",
                            "stage": "submitting", "progress": 20, "previousStatus": "queued",
                            "at": "2026-11-27T14:00:00Z", "detail": {"attempt": 1}}


class Rows:
    def __init__(self, ids):
        self.ids = ids

    def execute(self, query, params):
        after, limit = params
        found = [{"id": i} for i in sorted(self.ids) if i > after][:limit]
        return type("R", (), {"fetchall": lambda self: found})()


def test_the_head_waits_at_a_hole_then_skips_it():
    now = [0.0]
    head, rows = Head(0, grace=2.0, clock=lambda: now[0]), Rows({1, 2, 4, 5})
    assert head.advance(rows) == 2  # 3 may still commit
    now[0] = 1.0
    rows.ids.add(3)
    assert head.advance(rows) == 5  # it did: nothing skipped
    rows.ids |= {7}
    assert head.advance(rows) == 5  # the hole at 6, first seen at 1.0
    now[0] = 2.5
    assert head.advance(rows) == 5
    now[0] = 3.0
    assert head.advance(rows) == 7  # 6 never came: skipped after the grace
