"""PROOF against the official SDK: every answer shape of the emulator validates against syncsdk 0.3.0's
own pydantic models (sync.common.Generation, EstimatedGenerationCost, GenerationError and the webhook's
sync.webhooks.GenerationNotification).

The SDK itself never validates (it builds its models with ``construct``, unchecked), so this test does
what the SDK does to read the wire (its own camelCase -> field mapping,
``convert_and_respect_annotation_metadata``) and then a real ``model_validate``: required fields must be
present and every type right; extra keys (outputMediaUrl, errorCode, progress_percent) are allowed, as
the SDK models allow them. Key fields are then compared with the wire, and written back by the SDK.
"""

from __future__ import annotations

import typing

import httpx
import pytest
from sync import Sync
from sync.common import Audio, EstimatedGenerationCost, Generation, GenerationError, Video
from sync.common.types.generation_status import GenerationStatus
from sync.common.types.model import Model
from sync.core.serialization import convert_and_respect_annotation_metadata
from sync.webhooks import GenerationNotification

from tests.integration.emulator.conftest import create_body, signature_is_valid, wait_status

KNOWN_STATUSES = typing.get_args(typing.get_args(GenerationStatus)[0])
KNOWN_MODELS = typing.get_args(typing.get_args(Model)[0])


def sdk_validate(model: type, payload: typing.Any):
    """Read ``payload`` the SDK's way, then validate it for real (raises on a missing/mistyped field)."""
    fields = convert_and_respect_annotation_metadata(object_=payload, annotation=model, direction="read")
    return model.model_validate(fields)


def check_generation(payload: dict, model: type = Generation, status: str | None = None):
    generation = sdk_validate(model, payload)
    assert generation.id == payload["id"] and generation.model in KNOWN_MODELS
    assert generation.status == payload["status"] and payload["status"] in KNOWN_STATUSES
    if status:
        assert payload["status"] == status
    assert generation.created_at.isoformat().startswith(payload["createdAt"][:19])
    assert [item.type for item in generation.input] == [item["type"] for item in payload["input"]]
    assert all(isinstance(item, (Video, Audio)) for item in generation.input)
    # both spellings, same values
    assert generation.output_url == payload["outputUrl"] == payload["outputMediaUrl"]
    assert generation.error_code == payload["error_code"] == payload["errorCode"]
    assert generation.error == payload["error"]
    if payload["segments"] and "segments" in model.model_fields:  # the webhook model has no segments
        assert generation.segments[0].audio_input.ref_id == payload["segments"][0]["audioInput"]["refId"]
    # and back to the wire by the SDK's own writer: the same keys and values for the fields it knows
    written = convert_and_respect_annotation_metadata(
        object_=generation.model_dump(exclude_unset=True), annotation=model, direction="write"
    )
    for key in ("id", "status", "model", "outputUrl", "outputDuration", "error", "error_code", "webhookUrl"):
        assert written.get(key) == payload.get(key), key
    return generation


@pytest.fixture
def sdk(emulator):
    return Sync(base_url=emulator.url, api_key=emulator.api_key)


def test_create_replay_get_and_list_answers_are_sdk_generations(emulator, raw, media):
    body = create_body(media)
    created = raw.post("/v2/generate", json=body, headers={"Idempotency-Key": "job-sdk-1"})
    assert created.status_code == 201
    check_generation(created.json(), status="PENDING")
    replayed = raw.post("/v2/generate", json=body, headers={"Idempotency-Key": "job-sdk-1"})
    assert replayed.status_code == 200 and check_generation(replayed.json()).id == created.json()["id"]

    plain = raw.get(f"/v2/generate/{created.json()['id']}").json()
    assert "progress_percent" not in plain
    check_generation(plain)
    with_progress = raw.get(f"/v2/generate/{created.json()['id']}", params={"include": "progress"}).json()
    generation = check_generation(with_progress)
    assert (
        isinstance(with_progress["progress_percent"], int) and 0 <= with_progress["progress_percent"] <= 100
    )
    assert generation.model_extra["progress_percent"] == with_progress["progress_percent"]

    done = wait_status(raw, created.json()["id"])
    completed = check_generation(done, status="COMPLETED")
    assert completed.output_url and completed.output_duration == pytest.approx(4.0, abs=0.05)
    assert (
        check_generation(raw.get(f"/v2/generate/{done['id']}?include=progress").json()).model_extra[
            "progress_percent"
        ]
        == 100
    )

    listed = raw.get("/v2/generations", params={"status": "COMPLETED", "limit": 10}).json()
    assert [check_generation(item).id for item in listed] == [done["id"]]


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (None, "FAILED", "generation_video_missing"),  # a real failure: the video cannot be fetched
        ({"kind": "generation_failure", "error_code": "generation_timeout"}, "FAILED", "generation_timeout"),
        (
            {"kind": "generation_failure", "outcome": "REJECTED", "error_code": "generation_rejected"},
            "REJECTED",
            "generation_rejected",
        ),
    ],
)
def test_each_failed_final_status_is_an_sdk_generation(emulator, raw, media, fault, status, code):
    body = create_body(media)
    if fault:
        raw.post("/_emulator/faults", json=fault)
    else:
        body["input"][0]["url"] = media.url("missing.mp4")
    generation = check_generation(
        wait_status(raw, raw.post("/v2/generate", json=body).json()["id"]), status=status
    )
    assert generation.error_code == code and generation.error and generation.output_url is None


def test_cost_estimate_is_a_list_of_sdk_estimated_costs(raw, media, sdk):
    answer = raw.post("/v2/analyze/cost", json=create_body(media, model="lipsync-2-pro"))
    assert answer.status_code == 200
    [estimate] = [sdk_validate(EstimatedGenerationCost, item) for item in answer.json()]
    assert (estimate.estimated_frame_count, estimate.estimated_generation_cost) == (100, pytest.approx(0.332))
    # and the SDK's own call reads the same
    [via_sdk] = sdk.generations.estimate_cost(
        model="lipsync-2-pro",
        input=[Video(url=media.url("talk.mp4")), Audio(url=media.url("intro.wav"))],
    )
    assert via_sdk.estimated_frame_count == 100 and via_sdk.estimated_generation_cost == pytest.approx(0.332)


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (lambda raw, media: raw.post("/v2/generate", json={**create_body(media), "model": "lipsync-9"}), 400),
        (lambda raw, media: raw.get("/v2/generations", params={"status": "CANCELED"}), 400),
        (lambda raw, media: raw.get("/v2/generate/nope"), 404),
        (lambda raw, media: httpx.get(f"{raw.base_url}/v2/generate/x"), 401),
    ],
)
def test_error_bodies_are_sdk_generation_errors(raw, media, request_, status):
    answer = request_(raw, media)
    assert answer.status_code == status
    error = sdk_validate(GenerationError, answer.json())
    assert error.status_code == status and error.message and answer.json()["errorCode"]


def test_conflict_and_concurrency_answers_are_sdk_generation_errors(emulator, raw, media):
    raw.put("/_emulator/settings", json={"concurrencyLimit": 1, "generationSeconds": 5})
    raw.post("/v2/generate", json=create_body(media), headers={"Idempotency-Key": "k"})
    conflict = raw.post("/v2/generate", json=create_body(media, "sync-3"), headers={"Idempotency-Key": "k"})
    assert conflict.status_code == 409
    assert sdk_validate(GenerationError, conflict.json()).model_extra["generationId"]
    limited = raw.post("/v2/generate", json=create_body(media))
    assert limited.status_code == 429
    assert (
        sdk_validate(GenerationError, limited.json()).model_extra["errorCode"] == "concurrency_limit_reached"
    )


def test_an_unknown_status_is_still_an_sdk_generation(raw, media, sdk):
    """The SDK types status as Literal[...] | Any: QUEUED_FOR_GPU must parse (our client must tolerate it)."""
    created = raw.post("/v2/generate", json=create_body(media)).json()
    raw.post("/_emulator/faults", json={"kind": "unknown_status", "route": "get", "count": 2})
    odd = raw.get(f"/v2/generate/{created['id']}").json()
    assert odd["status"] == "QUEUED_FOR_GPU" and sdk_validate(Generation, odd).status == "QUEUED_FOR_GPU"
    assert sdk.generations.get(created["id"]).status == "QUEUED_FOR_GPU"


@pytest.mark.parametrize(("video", "status"), [("talk.mp4", "COMPLETED"), ("missing.mp4", "FAILED")])
def test_webhook_payload_as_received_is_an_sdk_generation_notification(
    emulator, raw, media, webhook_receiver, video, status
):
    body = create_body(media, webhook_url=webhook_receiver.url)
    body["input"][0]["url"] = media.url(video)
    created = raw.post("/v2/generate", json=body).json()
    ((headers, received),) = webhook_receiver.wait_for(1)
    assert signature_is_valid(emulator.webhook_secret, headers["sync-signature"], received)
    payload = webhook_receiver.payloads()[0]
    notification = check_generation(payload, GenerationNotification, status=status)
    assert notification.id == created["id"] and notification.webhook_url == webhook_receiver.url
    check_generation(payload)  # and the same object as GET
    assert payload == {
        **raw.get(f"/v2/generate/{created['id']}").json(),
        "outputUrl": payload["outputUrl"],
        "outputMediaUrl": payload["outputMediaUrl"],
    }
