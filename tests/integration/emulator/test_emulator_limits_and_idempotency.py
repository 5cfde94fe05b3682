"""The organisation's concurrency limit, billed generations per Idempotency-Key, lost create answers and
the request-rate 429 — the contract our submit path and fair queue are tested against."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from devstack.emulator import EmulatorServer
from tests.integration.emulator.conftest import API_KEY, create_body, wait_status


@pytest.fixture
def slow(tmp_path):
    """Generations take 1.5 s, at most 2 in flight for the organisation."""
    with EmulatorServer(
        api_key=API_KEY, generation_seconds=1.5, output_dir=tmp_path, concurrency_limit=2, concurrency=4
    ) as emu:
        yield emu


def http_for(emu) -> httpx.Client:
    return httpx.Client(base_url=emu.url, headers={"x-api-key": API_KEY}, timeout=10)


def test_over_the_limit_create_is_429_with_retry_after_and_a_replay_still_works(slow, media):
    with http_for(slow) as http:
        first = http.post("/v2/generate", json=create_body(media), headers={"Idempotency-Key": "a"})
        second = http.post("/v2/generate", json=create_body(media), headers={"Idempotency-Key": "b"})
        assert (first.status_code, second.status_code) == (201, 201)
        third = http.post("/v2/generate", json=create_body(media), headers={"Idempotency-Key": "c"})
        assert third.status_code == 429
        assert third.headers["retry-after"] == "5"
        assert third.json() == {
            "statusCode": 429,
            "message": "Concurrency limit reached: 2 generations are PENDING or PROCESSING"
            " (your organization's limit is 2)",
            "error": "Too Many Requests",
            "errorCode": "concurrency_limit_reached",
        }
        # a replay creates nothing, so the limit does not apply to it
        replay = http.post("/v2/generate", json=create_body(media), headers={"Idempotency-Key": "a"})
        assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
        wait_status(http, first.json()["id"])
        wait_status(http, second.json()["id"])
        again = http.post("/v2/generate", json=create_body(media), headers={"Idempotency-Key": "c"})
        assert again.status_code == 201  # the key was not consumed by the 429
        stats = http.get("/_emulator/stats").json()
    assert stats["concurrency"] == {"limit": 2, "inFlight": 1, "maxInFlight": 2, "rejected": 1}
    assert stats["billing"] == {
        "billedGenerations": 3,
        "byIdempotencyKey": {"a": 1, "b": 1, "c": 1},
        "withoutIdempotencyKey": 0,
    }


def test_clients_that_honour_retry_after_never_exceed_the_limit(tmp_path, media):
    """What a fair-queue test asserts: never more than N in flight at the emulator."""
    with EmulatorServer(
        api_key=API_KEY,
        generation_seconds=0.6,
        output_dir=tmp_path,
        concurrency_limit=3,
        concurrency_retry_after=0,
        concurrency=4,
    ) as emu:
        outcomes: list[int] = []

        def submit(key: str) -> None:
            with http_for(emu) as http:
                while (
                    answer := http.post(
                        "/v2/generate", json=create_body(media), headers={"Idempotency-Key": key}
                    )
                ).status_code == 429:
                    time.sleep(0.05 + float(answer.headers["retry-after"]))
                outcomes.append(answer.status_code)

        threads = [threading.Thread(target=submit, args=(f"job-{i}",)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        stats = emu.stats_snapshot()
    assert outcomes == [201] * 8
    assert stats["concurrency"]["maxInFlight"] == 3 and stats["concurrency"]["rejected"] > 0
    assert stats["billing"]["billedGenerations"] == 8
    assert set(stats["billing"]["byIdempotencyKey"].values()) == {1}


def test_the_limit_is_a_setting_changed_at_run_time(emulator, raw, media):
    assert raw.get("/_emulator/settings").json() == {
        "concurrencyLimit": 0,
        "concurrencyRetryAfter": 5,
        "generationSeconds": 0.0,
        "idempotencyConflictCode": "IDEMPOTENCY_KEY_CONFLICT",
    }
    changed = raw.put(
        "/_emulator/settings",
        json={"concurrencyLimit": 1, "concurrencyRetryAfter": 2, "generationSeconds": 3},
    )
    assert changed.status_code == 200 and changed.json()["concurrencyLimit"] == 1
    assert raw.post("/v2/generate", json=create_body(media)).status_code == 201
    refused = raw.post("/v2/generate", json=create_body(media))
    assert refused.status_code == 429 and refused.headers["retry-after"] == "2"
    assert raw.post("/_emulator/settings", json={"concurrencyLimit": 0}).status_code == 200
    assert raw.post("/v2/generate", json=create_body(media)).status_code == 201


@pytest.mark.parametrize(
    "bad",
    [
        {"concurrencyLimit": -1},
        {"concurrencyLimit": "3"},
        {"generationSeconds": -1},
        {"colour": 1},
        {"idempotencyConflictCode": ""},
        [],
    ],
)
def test_bad_settings_are_refused_and_change_nothing(emulator, raw, bad):
    before = raw.get("/_emulator/settings").json()
    refused = raw.put("/_emulator/settings", json=bad)
    assert refused.status_code == 400 and refused.json()["errorCode"] == "invalid_settings"
    assert raw.get("/_emulator/settings").json() == before


@pytest.mark.parametrize("mode", ["disconnect", "502", "504", "outcome_unknown"])
def test_a_lost_create_answer_leaves_one_generation_that_the_retry_replays(emulator, raw, media, mode):
    raw.post("/_emulator/faults", json={"kind": "lost_create_answer", "mode": mode})
    body = create_body(media)
    try:
        lost = raw.post("/v2/generate", json=body, headers={"Idempotency-Key": "job-9"})
    except httpx.TransportError:
        lost = None
    assert len(emulator.store.list()) == 1  # it WAS created
    [generation] = emulator.store.list()
    if mode == "disconnect":
        assert lost is None
    elif mode == "outcome_unknown":
        assert lost.status_code == 503
        assert lost.json() == {
            "statusCode": 503,
            "message": "The outcome of this request is unknown; poll generationId before retrying",
            "error": "Service Unavailable",
            "errorCode": "IDEMPOTENCY_OUTCOME_UNKNOWN",
            "generationId": generation.id,
        }
    else:
        assert lost.status_code == int(mode) and lost.headers["content-type"] == "text/html"
    retry = raw.post("/v2/generate", json=body, headers={"Idempotency-Key": "job-9"})
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == generation.id
    assert emulator.stats_snapshot()["billing"]["byIdempotencyKey"] == {"job-9": 1}


def test_a_lost_answer_after_a_wait_makes_the_client_time_out(emulator, media):
    emulator.add_faults([{"kind": "lost_create_answer", "seconds": 0.5, "count": 1}])
    impatient = httpx.Client(base_url=emulator.url, headers={"x-api-key": API_KEY}, timeout=0.2)
    with impatient, pytest.raises(httpx.ReadTimeout):
        impatient.post("/v2/generate", json=create_body(media), headers={"Idempotency-Key": "t"})
    time.sleep(0.4)
    with http_for(emulator) as http:
        replay = http.post("/v2/generate", json=create_body(media), headers={"Idempotency-Key": "t"})
    assert replay.status_code == 200
    assert emulator.stats_snapshot()["billing"]["billedGenerations"] == 1


def test_without_a_key_a_retry_after_a_lost_answer_is_billed_twice(emulator, raw, media):
    """Why the key matters: the emulator does not guess, it bills a second generation."""
    raw.post("/_emulator/faults", json={"kind": "lost_create_answer", "mode": "504"})
    assert raw.post("/v2/generate", json=create_body(media)).status_code == 504
    assert raw.post("/v2/generate", json=create_body(media)).status_code == 201
    assert emulator.stats_snapshot()["billing"] == {
        "billedGenerations": 2,
        "byIdempotencyKey": {},
        "withoutIdempotencyKey": 2,
    }


@pytest.mark.parametrize(
    ("fault", "retry_after"),
    [
        ({"kind": "rate_limit", "route": "create"}, None),
        ({"kind": "rate_limit", "route": "create", "retry_after": 3}, "3"),
        ({"kind": "concurrency_limit", "route": "create"}, "5"),
    ],
)
def test_request_rate_and_forced_concurrency_429s(emulator, raw, media, fault, retry_after):
    raw.post("/_emulator/faults", json=fault)
    refused = raw.post("/v2/generate", json=create_body(media))
    assert refused.status_code == 429 and refused.headers.get("retry-after") == retry_after
    expected = "rate_limit_exceeded" if fault["kind"] == "rate_limit" else "concurrency_limit_reached"
    assert refused.json()["errorCode"] == expected
    assert emulator.stats_snapshot()["billing"]["billedGenerations"] == 0


def test_stats_reset_clears_billing_and_the_peak(emulator, raw, media):
    raw.post("/v2/generate", json=create_body(media), headers={"Idempotency-Key": "x"})
    wait_status(raw, emulator.store.list()[0].id)
    reset = raw.delete("/_emulator/stats").json()
    assert reset["billing"] == {"billedGenerations": 0, "byIdempotencyKey": {}, "withoutIdempotencyKey": 0}
    assert reset["concurrency"] == {"limit": 0, "inFlight": 0, "maxInFlight": 0, "rejected": 0}
