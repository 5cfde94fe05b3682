"""Webhooks as the guide shows them (Sync-Signature: t=..,v1=HMAC-SHA256 of "t.body", compact JSON),
on every final status, and each ``webhook`` fault: drop, duplicate, delay, early, stale, bad_signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

import pytest

from devstack.emulator import EmulatorServer
from tests.integration.emulator.conftest import (
    API_KEY,
    WEBHOOK_SECRET,
    create_body,
    signature_is_valid,
    wait_status,
)


def start(raw, media, receiver, fault: dict | None = None) -> str:
    if fault:
        assert raw.post("/_emulator/faults", json={"kind": "webhook", **fault}).status_code == 201
    return raw.post("/v2/generate", json=create_body(media, webhook_url=receiver.url)).json()["id"]


def wait_webhook_stats(emulator, predicate, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while not predicate(stats := emulator.stats_snapshot()["webhooks"]):
        assert time.monotonic() < deadline, stats
        time.sleep(0.02)
    return stats


@pytest.mark.parametrize("outcome", ["COMPLETED", "FAILED", "REJECTED"])
def test_every_final_status_is_posted_signed_as_the_guide_shows(
    emulator, raw, media, webhook_receiver, outcome
):
    if outcome != "COMPLETED":
        raw.post("/_emulator/faults", json={"kind": "generation_failure", "outcome": outcome})
    generation_id = start(raw, media, webhook_receiver)
    ((headers, body),) = webhook_receiver.wait_for(1)
    match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", headers["sync-signature"])
    assert match and abs(int(match.group(1)) - time.time()) < 10
    expected = hmac.new(WEBHOOK_SECRET.encode(), match.group(1).encode() + b"." + body, hashlib.sha256)
    assert match.group(2) == expected.hexdigest()
    assert body == json.dumps(json.loads(body), separators=(",", ":")).encode()  # compact: what was signed
    payload = json.loads(body)
    assert (payload["id"], payload["status"]) == (generation_id, outcome)
    assert payload["outputMediaUrl"] == payload["outputUrl"] and payload["errorCode"] == payload["error_code"]
    assert webhook_receiver.wait_for(2, timeout=0.3) == [(headers, body)]  # exactly one


def test_drop_sends_nothing_and_is_counted(emulator, raw, media, webhook_receiver):
    generation_id = start(raw, media, webhook_receiver, {"mode": "drop"})
    wait_status(raw, generation_id)
    stats = wait_webhook_stats(emulator, lambda s: s["dropped"] == 1)
    assert webhook_receiver.wait_for(1, timeout=0.5) == []
    assert stats["recent"] == [
        {"generationId": generation_id, "status": "COMPLETED", "url": webhook_receiver.url, "dropped": True}
    ]
    second = start(raw, media, webhook_receiver)  # count=1: the next one arrives
    assert json.loads(webhook_receiver.wait_for(1)[0][1])["id"] == second


def test_duplicate_sends_the_same_payload_twice_each_validly_signed(emulator, raw, media, webhook_receiver):
    generation_id = start(raw, media, webhook_receiver, {"mode": "duplicate", "seconds": 0.3})
    first, second = webhook_receiver.wait_for(2)
    assert first[1] == second[1] and json.loads(first[1])["id"] == generation_id
    assert all(signature_is_valid(WEBHOOK_SECRET, h["sync-signature"], b) for h, b in (first, second))
    assert wait_webhook_stats(emulator, lambda s: s["delivered"] == 2)["failed"] == 0


def test_delay_sends_after_the_final_status_is_visible(emulator, raw, media, webhook_receiver):
    generation_id = start(raw, media, webhook_receiver, {"mode": "delay", "seconds": 0.8})
    wait_status(raw, generation_id)
    final_seen = time.monotonic()
    assert webhook_receiver.wait_for(1, timeout=0.5) == []
    assert len(webhook_receiver.wait_for(1, timeout=5)) == 1
    assert time.monotonic() - final_seen >= 0.5


def test_early_sends_the_final_payload_before_get_shows_it(emulator, raw, media, webhook_receiver):
    generation_id = start(raw, media, webhook_receiver, {"mode": "early", "seconds": 1.0})
    ((headers, body),) = webhook_receiver.wait_for(1)
    assert json.loads(body)["status"] == "COMPLETED" and json.loads(body)["outputUrl"]
    assert raw.get(f"/v2/generate/{generation_id}").json()["status"] == "PROCESSING"  # not yet
    assert wait_status(raw, generation_id)["status"] == "COMPLETED"
    assert webhook_receiver.wait_for(2, timeout=0.3) == [(headers, body)]  # not sent again


@pytest.mark.parametrize(("fault", "age"), [({"mode": "stale"}, 600), ({"mode": "stale", "seconds": 90}, 90)])
def test_stale_signs_with_an_old_timestamp(emulator, raw, media, webhook_receiver, fault, age):
    start(raw, media, webhook_receiver, fault)
    ((headers, body),) = webhook_receiver.wait_for(1)
    timestamp = int(re.match(r"t=(\d+)", headers["sync-signature"]).group(1))
    assert abs(time.time() - age - timestamp) < 5
    assert signature_is_valid(WEBHOOK_SECRET, headers["sync-signature"], body, tolerance=age + 10)
    assert not signature_is_valid(WEBHOOK_SECRET, headers["sync-signature"], body, tolerance=60)


def test_bad_signature_is_signed_with_another_secret(emulator, raw, media, webhook_receiver):
    start(raw, media, webhook_receiver, {"mode": "bad_signature"})
    ((headers, body),) = webhook_receiver.wait_for(1)
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", headers["sync-signature"])
    assert not signature_is_valid(WEBHOOK_SECRET, headers["sync-signature"], body)


@pytest.mark.parametrize(
    "bad",
    [{"mode": "sometimes"}, {}, {"mode": "delay"}, {"mode": "early", "seconds": 0}],
)
def test_invalid_webhook_faults_are_refused(raw, bad):
    refused = raw.post("/_emulator/faults", json={"kind": "webhook", **bad})
    assert refused.status_code == 400 and refused.json()["errorCode"] == "invalid_fault"


def test_webhook_fault_from_the_command_line_syntax(tmp_path, media, webhook_receiver):
    import httpx

    with (
        EmulatorServer(
            api_key=API_KEY,
            webhook_secret=WEBHOOK_SECRET,
            output_dir=tmp_path,
            faults=["kind=webhook,mode=duplicate,seconds=0"],
        ) as emu,
        httpx.Client(base_url=emu.url, headers={"x-api-key": API_KEY}) as http,
    ):
        start(http, media, webhook_receiver)
        assert len(webhook_receiver.wait_for(2)) == 2
