"""Client webhooks through the local stack: Standard Webhooks signatures checked by the receiver
with `standardwebhooks`, retries with backoff (500 x3 -> delivered once), the dead-letter queue for
a receiver that never answers (and the delivery log saying so), redelivery, the address guard
(names resolving to 127.0.0.1 or 169.254.169.254 get nothing), per-user isolation, the routes."""

from __future__ import annotations

import socket
import time

import pytest

from devstack.client import ApiError, ProSyncClient
from devstack.live_client import follow_job
from tests.e2e.live_support import live_stack, sample_media, start_job
from tests.e2e.webhook_receiver import Receiver

FAKE_DNS = {"evil.example.com": "127.0.0.1", "metadata.example.com": "169.254.169.254"}


def resolver(host, port, *args, **kwargs):
    if host in FAKE_DNS:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (FAKE_DNS[host], port))]
    return socket.getaddrinfo(host, port, *args, **kwargs)


@pytest.fixture(scope="module")
def stack():
    env = {"WEBHOOK_MAX_ATTEMPTS": "4", "WEBHOOK_TIMEOUT_SECONDS": "0.5", "WEBHOOK_RETRY_SCALE": "0.004"}
    with live_stack(**env) as running:
        running.live.queue.resolve = resolver
        yield running


def wait_until(check, timeout: float = 30.0):
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def register(client: ProSyncClient, url: str, events: list[str]) -> dict:
    return client._call("POST", "/webhooks/endpoints", json={"url": url, "eventTypes": events})


def log_of(client: ProSyncClient, endpoint: dict) -> list[dict]:
    return client._call("GET", f"/webhooks/endpoints/{endpoint['id']}/deliveries")["items"]


def test_deliveries_retries_dead_letters_and_the_guard(stack, tmp_path):
    files = sample_media(tmp_path)
    good, flaky, silent, other = Receiver(), Receiver("fail:3"), Receiver("silent"), Receiver()
    trap = Receiver()  # what evil/metadata.example.com would reach if the guard let them through
    all_types = ["job.queued", "job.processing", "job.progress", "job.completed", "job.failed", "job.canceled"]
    owner, stranger = stack.token("pro", "hook-a"), stack.token("pro", "hook-b")
    with ProSyncClient(stack.url, owner) as client, ProSyncClient(stack.url, stranger) as theirs:
        ok = register(client, good.url, all_types)
        retried = register(client, flaky.url, ["job.completed"])
        never = register(client, silent.url, ["job.completed"])
        evil = register(client, f"https://evil.example.com:{trap.port}/hook", ["job.completed"])
        metadata = register(client, f"https://metadata.example.com:{trap.port}/hook", ["job.completed"])
        register(theirs, other.url, all_types)
        assert ok["secret"].startswith("whsec_")
        assert "secret" not in client._call("GET", f"/webhooks/endpoints/{ok['id']}")  # shown once

        job_id = start_job(client, files)
        follow_job(stack.live.ws_url, owner, job_id, lambda e: None, deadline=120)

        payloads = wait_until(lambda: (p := good.verified(ok["secret"])) and
                              p[-1]["type"] == "job.completed" and p)
        assert [p["type"] for p in payloads if p["type"] != "job.progress"] == [
            "job.queued", "job.processing", "job.completed"]
        assert all(p["data"]["jobId"] == job_id for p in payloads)
        assert len({p["_id"] for p in payloads}) == len(payloads)  # one webhook-id per event
        ids = [p["data"]["id"] for p in payloads]
        assert ids == sorted(ids)

        wait_until(lambda: len(flaky.requests) >= 4)
        delivered = flaky.verified(retried["secret"])  # every attempt verifies
        assert len(delivered) == 4 and len({d["_id"] for d in delivered}) == 1  # the same event, retried
        entry = wait_until(lambda: [d for d in log_of(client, retried) if d["state"] == "delivered"])[0]
        assert [a["statusCode"] for a in entry["log"]] == [500, 500, 500, 204]
        assert [a["outcome"] for a in entry["log"]] == ["retry", "retry", "retry", "delivered"]
        assert all(a["latencyMs"] is not None for a in entry["log"])

        dead = wait_until(lambda: [d for d in log_of(client, never) if d["state"] == "dead"], timeout=40)[0]
        assert dead["log"][-1]["outcome"] == "dead" and "dead-letter" in dead["log"][-1]["error"]
        assert len(dead["log"]) == 4
        assert any(str(d) == dead["id"] for d in stack.live.queue.dead_letters)

        for endpoint in (evil, metadata):
            gone = wait_until(lambda e=endpoint: [d for d in log_of(client, e) if d["state"] == "dead"], 40)[0]
            assert all(a["error"].startswith("refused") for a in gone["log"])
        assert "loopback" in log_of(client, evil)[0]["log"][0]["error"]
        assert "metadata" in log_of(client, metadata)[0]["log"][0]["error"]
        assert trap.connections == 0 and trap.requests == []

        silent.mode = "ok"  # the receiver is fixed: redeliver the dead one
        client._call("POST", f"/webhooks/endpoints/{never['id']}/deliveries/{dead['id']}/redeliver")
        wait_until(lambda: [d for d in log_of(client, never) if d["state"] == "delivered"], timeout=20)
        assert silent.verified(never["secret"])[-1]["_id"] == dead["id"]  # the same webhook-id

    time.sleep(0.5)
    assert other.requests == []  # hook-b's endpoint got nothing of hook-a's job
    for receiver in (good, flaky, silent, other, trap):
        receiver.stop()


def test_endpoint_routes(stack):
    with ProSyncClient(stack.url, stack.token("pro", "hook-c")) as client:
        with pytest.raises(ApiError) as refused:
            register(client, "http://example.com/hook", ["job.completed"])
        assert refused.value.status == 422 and refused.value.details[0]["loc"] == ["body", "url"]
        with pytest.raises(ApiError) as refused:
            register(client, "https://10.0.0.1/hook", ["job.completed"])
        assert refused.value.status == 422
        made = register(client, "https://hooks.example.com/a", ["job.completed"])
        changed = client._call("PATCH", f"/webhooks/endpoints/{made['id']}",
                               json={"eventTypes": ["job.failed", "job.completed"], "enabled": False})
        assert changed["eventTypes"] == ["job.completed", "job.failed"] and changed["enabled"] is False
        rotated = client._call("POST", f"/webhooks/endpoints/{made['id']}/rotate-secret")
        assert rotated["secret"] != made["secret"] and rotated["previousSecretExpiresAt"]
        assert [e["id"] for e in client._call("GET", "/webhooks/endpoints")["items"]] == [made["id"]]
        with ProSyncClient(stack.url, stack.token("pro", "hook-d")) as stranger:
            with pytest.raises(ApiError) as hidden:
                stranger._call("GET", f"/webhooks/endpoints/{made['id']}")
            assert hidden.value.status == 404
        assert client._call("DELETE", f"/webhooks/endpoints/{made['id']}") == {"id": made["id"], "deleted": True}
        assert client._call("GET", "/webhooks/endpoints")["items"] == []
