"""Our SyncClient against the emulator: validation 400s, auth, idempotency, list, delete, error bodies."""

from __future__ import annotations

import copy
import time

import httpx
import pytest
from prosync.syncso import (
    GenerateRequest,
    GenerationStatus,
    Segment,
    SegmentAudioInput,
    SyncApiRejected,
    SyncClient,
)


@pytest.fixture
def body(media) -> dict:
    """A valid two-segment create body on the wire."""
    return {
        "model": "lipsync-2",
        "input": [
            {"type": "video", "url": media.url("talk.mp4")},
            {"type": "audio", "url": media.url("intro.wav"), "refId": "intro"},
            {"type": "audio", "url": media.url("outro.mp3"), "refId": "outro"},
        ],
        "segments": [
            {"startTime": 0.0, "endTime": 1.5, "audioInput": {"refId": "intro"}},
            {
                "startTime": 2.0,
                "endTime": 3.0,
                "audioInput": {"refId": "outro", "startTime": 0.5, "endTime": 1.5},
            },
        ],
        "options": {"sync_mode": "cut_off"},
        "outputFileName": "talk_dubbed",
    }


def post(emulator, payload, key: str | None = None, **headers) -> httpx.Response:
    if key is not None:
        headers["Idempotency-Key"] = key
    return httpx.post(
        f"{emulator.url}/v2/generate", json=payload, headers={"x-api-key": emulator.api_key, **headers}
    )


def mutate(body: dict, path: str, value) -> dict:
    """Copy of body with ``path`` (dotted, list indexes as numbers) set to value (DELETE: removed)."""
    changed = copy.deepcopy(body)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target = changed
    for part in parents:
        target = target[part]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return changed


DELETE = object()
INVALID_BODIES = [
    ("model", "lipsync-9", "generation_unsupported_model"),
    ("input", [], "generation_input_validation_failed"),
    ("input.0", {"type": "audio", "url": "http://x/a.wav", "refId": "extra"}, "generation_video_missing"),
    ("segments", DELETE, "generation_segments_required"),
    ("segments.0.audioInput.refId", "nobody", "generation_segment_ref_not_found"),
    ("segments.1.audioInput.endTime", DELETE, "generation_segment_audio_crop_incomplete"),
    ("segments.1.audioInput.startTime", DELETE, "generation_segment_audio_crop_incomplete"),
    ("segments.0.startTime", 2.0, "generation_segment_invalid_range"),
    ("segments.0.startTime", -1, "generation_segment_invalid_range"),
    ("segments.1.audioInput.startTime", 1.5, "generation_segment_invalid_range"),
    ("input.2.refId", "intro", "generation_duplicate_ref_id"),
    ("outputFileName", 42, "generation_input_validation_failed"),  # a bad NAME is sanitised, see below
    ("options.sync_mode", "stretch", "generation_input_validation_failed"),
    ("options.temperature", 2, "generation_input_validation_failed"),
    ("input.1.url", "ftp://x/a.wav", "generation_input_validation_failed"),
    ("webhookUrl", "not a url", "generation_input_validation_failed"),
    ("webhook_url", "http://x", "generation_input_validation_failed"),  # snake_case top level is not the API
    ("segments.0.audioInput", {}, "generation_input_validation_failed"),
]


@pytest.mark.parametrize(("path", "value", "code"), INVALID_BODIES)
def test_invalid_requests_are_400_with_error_code(emulator, body, path, value, code):
    response = post(emulator, mutate(body, path, value))
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["statusCode"] == 400 and answer["error"] == "Bad Request"
    assert answer["errorCode"] == code and answer["message"]
    assert emulator.store.list() == []  # nothing was created


def test_valid_body_passes_and_equal_segment_bounds_are_allowed(emulator, body):
    body["segments"].append({"startTime": 3.5, "endTime": 3.5, "audioInput": {"refId": "intro"}})
    response = post(emulator, body)
    assert response.status_code == 201 and response.json()["status"] == "PENDING"


@pytest.mark.parametrize(
    ("name", "kept"),
    [("../etc/passwd", "etcpasswd"), ("my talk (v2)", "my_talk_v2"), ("x" * 300, "x" * 255), ("..", None)],
)
def test_output_file_name_is_sanitised_not_refused(emulator, body, name, kept):
    """Current docs (Delete Generation schema): characters outside [A-Za-z0-9_-] are stripped and
    spaces become underscores. The old emulator answered 400 here; the real API does not."""
    created = post(emulator, mutate(body, "outputFileName", name))
    assert created.status_code == 201, created.text
    assert created.json()["outputFileName"] == kept


def test_validation_errors_surface_as_rejected_in_our_client(client, media):
    request = GenerateRequest.for_segments(
        model="lipsync-2",
        video_url=media.url("talk.mp4"),
        audio_urls={"a": media.url("intro.wav")},
        segments=[Segment(start_time=0, end_time=1, audio_input=SegmentAudioInput(ref_id="missing"))],
    )
    with pytest.raises(SyncApiRejected) as caught:
        client.create_generation(request, "job-1")
    assert (caught.value.status, caught.value.code) == (400, "generation_segment_ref_not_found")
    assert "missing" in caught.value.message


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong"}, {"x-api-key": ""}])
def test_bad_api_key_is_401_nest_style(emulator, headers):
    response = httpx.get(f"{emulator.url}/v2/generate/anything", headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "statusCode": 401,
        "message": "Invalid or missing API key",
        "error": "Unauthorized",
        "errorCode": "unauthorized",
    }


def test_bad_api_key_is_rejected_in_our_client(emulator, media):
    with SyncClient(emulator.url, "wrong-key") as wrong, pytest.raises(SyncApiRejected) as caught:
        wrong.get_generation("x")
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")


def test_same_idempotency_key_and_body_returns_the_same_generation(emulator, body):
    first = post(emulator, body, key="job-7f3a")
    again = post(emulator, body, key="job-7f3a")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    assert len(emulator.store.list()) == 1


def test_same_idempotency_key_with_another_body_is_409_naming_the_generation(emulator, body):
    first = post(emulator, body, key="job-1")
    conflict = post(emulator, mutate(body, "segments.0.endTime", 1.0), key="job-1")
    assert conflict.status_code == 409
    assert conflict.json() == {
        "statusCode": 409,
        "message": "Idempotency-Key was already used with different inputs",
        "error": "Conflict",
        "errorCode": "IDEMPOTENCY_KEY_CONFLICT",
        "generationId": first.json()["id"],
    }
    assert len(emulator.store.list()) == 1
    assert emulator.stats_snapshot()["billing"] == {
        "billedGenerations": 1,
        "byIdempotencyKey": {"job-1": 1},
        "withoutIdempotencyKey": 0,
    }


def test_the_conflict_code_can_be_changed_as_it_is_unverified(emulator, body):
    """A client must act on 409 + generationId, not on the code: tests may switch it."""
    changed = httpx.put(f"{emulator.url}/_emulator/settings", json={"idempotencyConflictCode": "other"})
    assert changed.json()["idempotencyConflictCode"] == "other"
    post(emulator, body, key="k")
    assert post(emulator, mutate(body, "model", "lipsync-2-pro"), key="k").json()["errorCode"] == "other"


def test_two_idempotency_key_headers_are_400(emulator, body):
    response = httpx.post(
        f"{emulator.url}/v2/generate",
        json=body,
        headers=[("x-api-key", emulator.api_key), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
    )
    assert response.status_code == 400 and response.json()["errorCode"] == "INVALID_IDEMPOTENCY_KEY"


def test_different_keys_make_different_generations(emulator, body):
    assert post(emulator, body, key="a").json()["id"] != post(emulator, body, key="b").json()["id"]


@pytest.mark.parametrize("key", ["", "has space", "x" * 129, "semi;colon"])
def test_malformed_idempotency_key_is_400(emulator, body, key):
    response = post(emulator, body, key=key)
    assert response.status_code == 400 and response.json()["errorCode"] == "INVALID_IDEMPOTENCY_KEY"


def test_our_client_replays_idempotently(client, media, emulator):
    request = GenerateRequest.for_segments(
        model="lipsync-2",
        video_url=media.url("talk.mp4"),
        audio_urls={"a": media.url("intro.wav")},
        segments=[Segment(start_time=0, end_time=1, audio_input=SegmentAudioInput(ref_id="a"))],
    )
    ids = {client.create_generation(request, "3b1f1e0c-aaaa-4bbb-8ccc-000000000001").id for _ in range(3)}
    assert len(ids) == 1 and emulator.stats_snapshot()["requests"]["create"] == 3


def list_raw(emulator, query: str) -> httpx.Response:
    return httpx.get(f"{emulator.url}/v2/generations?{query}", headers={"x-api-key": emulator.api_key})


def test_list_filters_by_status_and_ids(emulator, body, client, wait_done):
    done = post(emulator, body).json()["id"]
    wait_done(done)
    failed = post(emulator, mutate(body, "input.0.url", "http://127.0.0.1:9/missing.mp4")).json()["id"]
    assert wait_done(failed).status is GenerationStatus.FAILED
    assert {g.id for g in client.list_generations()} == {done, failed}
    assert [g.id for g in client.list_generations(status=[GenerationStatus.COMPLETED])] == [done]
    assert [g.id for g in client.list_generations(ids=[failed])] == [failed]
    # the SDK sends repeated query parameters, the docs a comma list: both work
    for query in ("status=FAILED&status=COMPLETED", "status=FAILED,COMPLETED"):
        assert {g["id"] for g in list_raw(emulator, query).json()} == {done, failed}
    assert list_raw(emulator, "status=PENDING,PROCESSING,REJECTED").json() == []


def test_list_is_newest_first_and_limit_is_1_to_100(emulator, body):
    ids = [post(emulator, mutate(body, "segments.0.endTime", 1.0 + i / 10)).json()["id"] for i in range(3)]
    assert [g["id"] for g in list_raw(emulator, "").json()] == ids[::-1]
    assert [g["id"] for g in list_raw(emulator, "limit=2").json()] == ids[:0:-1]
    assert [g["id"] for g in list_raw(emulator, "limit=100").json()] == ids[::-1]
    for bad in ("0", "101", "-1", "two", "1.5"):
        refused = list_raw(emulator, f"limit={bad}")
        assert (
            refused.status_code == 400 and refused.json()["errorCode"] == "generation_input_validation_failed"
        )


@pytest.mark.parametrize("status", ["CANCELED", "TIMED_OUT", "pending", "QUEUED_FOR_GPU", "COMPLETED,DONE"])
def test_list_refuses_statuses_outside_the_documented_five(emulator, status):
    refused = list_raw(emulator, f"status={status}")
    assert refused.status_code == 400
    answer = refused.json()
    assert (answer["statusCode"], answer["error"]) == (400, "Bad Request")
    assert answer["errorCode"] == "generation_input_validation_failed" and "PENDING" in answer["message"]


def test_delete_only_a_finished_generation_and_the_old_cancel_route_is_gone(tmp_path, body):
    from devstack.emulator import EmulatorServer

    with EmulatorServer(api_key="k", generation_seconds=1.0, output_dir=tmp_path) as slow:
        headers = {"x-api-key": "k"}
        created = post(slow, body).json()
        # current docs: no cancel; DELETE only once final (a processing generation is billed anyway)
        cancel = httpx.post(f"{slow.url}/v2/generate/{created['id']}/cancel", headers=headers)
        assert cancel.status_code == 404 and cancel.json()["message"].startswith("Cannot POST")
        busy = httpx.delete(f"{slow.url}/v2/generations/{created['id']}", headers=headers)
        assert busy.status_code == 409
        assert busy.json()["errorCode"] == "generation_not_deletable_while_processing"
        deadline = time.monotonic() + 20
        while slow.store.get(created["id"]).status != "COMPLETED":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        output_url = httpx.get(f"{slow.url}/v2/generate/{created['id']}", headers=headers).json()["outputUrl"]
        deleted = httpx.delete(f"{slow.url}/v2/generations/{created['id']}", headers=headers)
        assert deleted.status_code == 200 and deleted.json()["id"] == created["id"]
        assert httpx.get(f"{slow.url}/v2/generate/{created['id']}", headers=headers).status_code == 404
        assert httpx.get(output_url).status_code == 404
        assert httpx.delete(f"{slow.url}/v2/generations/{created['id']}", headers=headers).status_code == 404


def test_unknown_generation_is_404_and_unknown_route_is_nest_404(emulator):
    headers = {"x-api-key": emulator.api_key}
    missing = httpx.get(f"{emulator.url}/v2/generate/nope", headers=headers)
    assert missing.status_code == 404 and missing.json()["errorCode"] == "generation_not_found"
    route = httpx.get(f"{emulator.url}/v3/whatever", headers=headers)
    assert route.status_code == 404 and route.json()["message"] == "Cannot GET /v3/whatever"


def test_error_catalog_needs_no_key_and_lists_codes_used(emulator):
    catalog = httpx.get(f"{emulator.url}/v2/errors").json()
    codes = {entry["errorCode"] for entry in catalog}
    assert {
        "generation_unsupported_model",
        "generation_audio_length_exceeded",
        "rate_limit_exceeded",
        "INVALID_IDEMPOTENCY_KEY",
        "IDEMPOTENCY_KEY_CONFLICT",
        "IDEMPOTENCY_OUTCOME_UNKNOWN",
        "concurrency_limit_reached",
        "cost_estimate_unavailable",
        "generation_not_deletable_while_processing",
    } <= codes
    for _path, _value, code in INVALID_BODIES:
        assert code in codes
