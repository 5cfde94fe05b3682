"""Every fault kind, scripted at start-up or at run time, and how our client classifies it."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from prosync.syncso import (
    GenerateRequest,
    GenerationStatus,
    Segment,
    SegmentAudioInput,
    SyncApiRejected,
    SyncApiTransient,
    SyncClient,
)

from devstack.emulator import EmulatorServer, Fault


@pytest.fixture
def request_body(media) -> GenerateRequest:
    return GenerateRequest.for_segments(
        model="lipsync-2",
        video_url=media.url("talk.mp4"),
        audio_urls={"intro": media.url("intro.wav")},
        segments=[Segment(start_time=0.5, end_time=2.0, audio_input=SegmentAudioInput(ref_id="intro"))],
    )


def add_faults(emulator, *faults: dict) -> httpx.Response:
    response = httpx.post(f"{emulator.url}/_emulator/faults", json={"faults": list(faults)})
    assert response.status_code == 201, response.text
    return response


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ({"kind": "rate_limit", "route": "create", "count": 2}, 429, "rate_limit_exceeded"),
        ({"kind": "concurrency_limit", "route": "create", "count": 2}, 429, "concurrency_limit_reached"),
        ({"kind": "http_error", "route": "create", "count": 2, "status": 503}, 503, "http_503"),
        (
            {"kind": "http_error", "route": "any", "count": 2, "status": 500, "error_code": "internal"},
            500,
            "internal",
        ),
    ],
)
def test_transient_faults_on_create_clear_after_count(emulator, client, request_body, fault, status, code):
    add_faults(emulator, fault)
    for attempt in range(2):
        with pytest.raises(SyncApiTransient) as caught:
            client.create_generation(request_body, "job-1")
        assert (caught.value.status, caught.value.code) == (status, code)
    generation = client.create_generation(request_body, "job-1")  # the state machine's retry succeeds
    assert generation.status is GenerationStatus.PENDING
    assert emulator.stats_snapshot()["responses"]["create"] == {str(status): 2, "201": 1}


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (
            {"kind": "http_error", "route": "create", "status": 402, "error_code": "insufficient_credits"},
            402,
            "insufficient_credits",
        ),
        ({"kind": "http_error", "route": "create", "status": 413}, 413, "http_413"),
        (
            {
                "kind": "http_error",
                "route": "create",
                "status": 422,
                "error_code": "file_size_exceeds_plan_limit",
            },
            422,
            "file_size_exceeds_plan_limit",
        ),
    ],
)
def test_payment_and_size_faults_are_rejected(emulator, client, request_body, fault, status, code):
    add_faults(emulator, fault)
    with pytest.raises(SyncApiRejected) as caught:
        client.create_generation(request_body, "job-1")
    assert (caught.value.status, caught.value.code) == (status, code)


def test_faults_on_get_only_hit_get(emulator, client, request_body):
    created = client.create_generation(request_body, "job-1")
    add_faults(emulator, {"kind": "rate_limit", "route": "get", "count": 1})
    assert client.list_generations(ids=[created.id])  # list is not affected
    with pytest.raises(SyncApiTransient):
        client.get_generation(created.id)
    assert client.get_generation(created.id).id == created.id


def test_slow_answer_times_out_as_transient(emulator, request_body):
    add_faults(emulator, {"kind": "delay", "route": "get", "seconds": 0.6, "count": 1})
    with SyncClient(emulator.url, emulator.api_key, timeout=0.2) as impatient:
        created = impatient.create_generation(request_body, "job-1")
        with pytest.raises(SyncApiTransient) as caught:
            impatient.get_generation(created.id)
        assert caught.value.code == "timeout" and caught.value.status is None
        assert impatient.get_generation(created.id).id == created.id


def test_delay_within_timeout_still_answers(emulator, client, request_body):
    add_faults(emulator, {"kind": "delay", "route": "create", "seconds": 0.2})
    assert client.create_generation(request_body, "job-1").status is GenerationStatus.PENDING


def test_disconnect_is_a_transient_connection_error(emulator, client, request_body):
    add_faults(emulator, {"kind": "disconnect", "route": "create"})
    with pytest.raises(SyncApiTransient) as caught:
        client.create_generation(request_body, "job-1")
    assert caught.value.code == "connection_error"
    assert client.create_generation(request_body, "job-1")


@pytest.mark.parametrize(
    ("outcome", "code"),
    [("FAILED", "generation_pipeline_failed"), ("REJECTED", "generation_input_validation_failed")],
)
def test_generation_ends_failed_or_rejected_on_demand(
    emulator, client, request_body, wait_done, outcome, code
):
    add_faults(
        emulator,
        {"kind": "generation_failure", "outcome": outcome, "error_code": code, "message": "model crashed"},
    )
    doomed = client.create_generation(request_body, "job-1")
    fine = client.create_generation(request_body, "job-2")  # count=1: only the next generation
    failed = wait_done(doomed.id)
    assert (failed.status.value, failed.error_code, failed.error) == (outcome, code, "model crashed")
    assert failed.output_url is None
    assert wait_done(fine.id).status is GenerationStatus.COMPLETED
    expected_history = ["PENDING", "PROCESSING", "FAILED"] if outcome == "FAILED" else ["PENDING", "REJECTED"]
    assert emulator.store.get(doomed.id).history == expected_history


def test_faults_given_at_start_up_as_cli_strings(tmp_path, media, request_body):
    with EmulatorServer(
        api_key="k", output_dir=tmp_path, faults=["kind=rate_limit,route=create,count=always"]
    ) as emu:
        with SyncClient(emu.url, "k") as sync_client:
            for _ in range(3):
                with pytest.raises(SyncApiTransient):
                    sync_client.create_generation(request_body, "job-1")
        assert emu.stats_snapshot()["faults_fired"] == {"rate_limit": 3}
        assert httpx.get(f"{emu.url}/_emulator/faults").json()["active"][0]["count"] is None
        assert httpx.delete(f"{emu.url}/_emulator/faults").json() == {"active": []}


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "meteor"},
        {"kind": "rate_limit", "route": "everywhere"},
        {"kind": "http_error", "status": 200},
        {"kind": "delay"},
        {"kind": "rate_limit", "count": 0},
        {"kind": "rate_limit", "colour": "red"},
        {"kind": "generation_failure", "outcome": "EXPLODED"},
        {"kind": "lost_create_answer", "mode": "503"},
        {"kind": "lost_create_answer", "route": "get"},
        {"kind": "unknown_status", "route": "output"},
        {"kind": "unknown_status", "reported_status": ""},
        {"kind": "rate_limit", "retry_after": -1},
        {"kind": "rate_limit", "route": "cancel"},  # the old cancel route is gone
    ],
)
def test_invalid_faults_are_refused(emulator, bad):
    response = httpx.post(f"{emulator.url}/_emulator/faults", json=bad)
    assert response.status_code == 400 and response.json()["errorCode"] == "invalid_fault"
    assert httpx.get(f"{emulator.url}/_emulator/faults").json()["active"] == []


def test_fault_spec_parsing():
    fault = Fault.parse("kind=http_error,route=get,status=503,count=always")
    assert (fault.kind, fault.route, fault.status, fault.count) == ("http_error", "get", 503, None)
    assert Fault.parse("kind=broken_output,after_bytes=100,count=once").count == 1
    lost = Fault.parse("kind=lost_create_answer,mode=504,seconds=1.5,count=2")
    assert (lost.mode, lost.seconds, lost.count) == ("504", 1.5, 2)
    assert Fault.parse("kind=lost_create_answer").mode == "disconnect"
    assert Fault.from_dict({"kind": "lost_create_answer", "mode": 502}).mode == "502"  # JSON number
    odd = Fault.parse("kind=unknown_status,route=get,reported_status=WARMING_UP,count=always")
    assert (odd.route, odd.reported_status, odd.count) == ("get", "WARMING_UP", None)
    assert Fault.parse("kind=rate_limit,retry_after=7").retry_after == 7
    with pytest.raises(ValueError):
        Fault.parse("kind=delay,seconds")


def test_stats_count_status_calls_per_route_and_reset(emulator, client, request_body, wait_done, media_dir):
    created = client.create_generation(request_body, "job-1")
    wait_done(created.id)
    gets = emulator.stats_snapshot()["requests"]["get"]
    assert gets >= 1
    # what the generation fetched, so a test can tell which bytes reached "Sync.so"
    assert sorted(emulator.stats_snapshot()["inputs_fetched"], key=lambda i: i["type"]) == [
        {
            "generationId": created.id,
            "type": "audio",
            "refId": "intro",
            "size": (media_dir / "intro.wav").stat().st_size,
            "sha256": hashlib.sha256((media_dir / "intro.wav").read_bytes()).hexdigest(),
        },
        {
            "generationId": created.id,
            "type": "video",
            "refId": None,
            "size": (media_dir / "talk.mp4").stat().st_size,
            "sha256": hashlib.sha256((media_dir / "talk.mp4").read_bytes()).hexdigest(),
        },
    ]
    client.get_generation(created.id)
    stats = httpx.get(f"{emulator.url}/_emulator/stats").json()
    assert stats["requests"]["create"] == 1 and stats["requests"]["get"] == gets + 1
    assert stats["generations"] == {"COMPLETED": 1}
    reset = httpx.delete(f"{emulator.url}/_emulator/stats").json()
    assert reset["requests"] == {} and reset["generations"] == {"COMPLETED": 1}  # counters only
    assert reset["inputs_fetched"] == []
