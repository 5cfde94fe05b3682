"""The client against Sync.so's current docs (syncso-api.md §9), over httpx.MockTransport: exact bytes
on create, per-call timeouts, progress, list filters and limit, cost estimate, error details."""

import json
import pickle
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from prosync.syncso import (
    LISTABLE_STATUSES, CostEstimate, GenerateRequest, SyncApiRejected, SyncApiTransient, SyncClient,
)

GENERATION = {"id": "gen-1", "createdAt": "2025-01-02T03:04:05Z", "status": "PENDING", "model": "lipsync-2",
              "input": [{"type": "video", "url": "https://x/v.mp4"}]}
BODY = GenerateRequest.model_validate({
    "model": "lipsync-2", "input": [{"type": "video", "url": "https://s3/v.mp4?a=1&b=é"},
                                    {"type": "audio", "url": "https://s3/a.wav", "refId": "a"}],
    "segments": [{"startTime": 0, "endTime": 1, "audioInput": {"refId": "a"}}]}).to_bytes()


def recording(answer):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request) if callable(answer) else answer

    return seen, SyncClient("https://api.example", "key", timeout=7.0, transport=httpx.MockTransport(handler))


def test_create_sends_the_given_bytes_unchanged_with_its_own_timeout():
    seen, client = recording(httpx.Response(201, json=GENERATION))
    with client:
        client.create_generation(BODY, "job-1-1", timeout=61.0)
        client.get_generation("gen-1")
    create, get = seen
    assert create.content == BODY and create.headers["content-type"] == "application/json"
    assert create.headers["idempotency-key"] == "job-1-1"
    assert create.extensions["timeout"]["read"] == 61.0
    assert get.extensions["timeout"]["read"] == 7.0  # status calls keep the short timeout


def test_request_bytes_are_compact_utf8_json():
    assert BODY.startswith(b'{"model":"lipsync-2","input":[{"type":"video"')
    assert "é".encode() in BODY and b" " not in BODY


def test_get_asks_for_progress_only_when_wanted():
    seen, client = recording(httpx.Response(200, json={**GENERATION, "status": "PROCESSING",
                                                       "progress_percent": 42.7}))
    with client:
        assert client.get_generation("gen-1", include_progress=True).progress == 42
        client.get_generation("gen-1")
    assert seen[0].url.params["include"] == "progress" and "include" not in seen[1].url.params


def test_list_filters_by_documented_statuses_with_a_limit():
    seen, client = recording(httpx.Response(200, json=[GENERATION]))
    with client:
        client.list_generations(status=list(LISTABLE_STATUSES), limit=50)
        with pytest.raises(ValueError, match="CANCELED"):
            client.list_generations(status=["PENDING", "CANCELED"])  # a documented 400: never sent
    assert len(seen) == 1
    assert seen[0].url.params["status"] == "PENDING,PROCESSING,COMPLETED,FAILED,REJECTED"
    assert seen[0].url.params["limit"] == "50"


@pytest.mark.parametrize(("answer", "expected"), [
    ([{"estimatedFrameCount": 120, "estimatedGenerationCost": 0.4}], CostEstimate(usd=0.4, frames=120)),
    ([{"estimatedFrameCount": 10.4, "estimatedGenerationCost": 0.1},
      {"estimatedFrameCount": 20, "estimatedGenerationCost": 0.25}], CostEstimate(usd=0.35, frames=30)),
    ({"estimatedFrameCount": 30, "estimatedGenerationCost": 1.5, "estimatedCredits": None},
     CostEstimate(usd=1.5, frames=30)),
])
def test_cost_estimate_posts_the_create_body(answer, expected):
    seen, client = recording(httpx.Response(200, json=answer))
    with client:
        assert client.estimate_cost(BODY) == expected
    assert (seen[0].method, seen[0].url.path, seen[0].content) == ("POST", "/v2/analyze/cost", BODY)


@pytest.mark.parametrize("answer", [[], {"cost": 1}, [{"estimatedFrameCount": "x"}], "text"])
def test_an_unreadable_estimate_is_a_transient_invalid_response(answer):
    _, client = recording(httpx.Response(200, json=answer))
    with client, pytest.raises(SyncApiTransient) as caught:
        client.estimate_cost(BODY)
    assert caught.value.code == "invalid_response"


def test_a_conflict_keeps_the_generation_id_of_the_key():
    body = {"statusCode": 409, "message": "key used with other inputs",
            "errorCode": "IDEMPOTENCY_KEY_CONFLICT", "generationId": "gen-9"}
    _, client = recording(httpx.Response(409, json=body))
    with client, pytest.raises(SyncApiRejected) as caught:
        client.create_generation(BODY, "k")
    assert (caught.value.code, caught.value.generation_id) == ("IDEMPOTENCY_KEY_CONFLICT", "gen-9")
    clone = pickle.loads(pickle.dumps(caught.value))
    assert clone.generation_id == "gen-9" and clone.details == {"generationId": "gen-9"}
    assert json.loads(str(caught.value)) == {"code": "IDEMPOTENCY_KEY_CONFLICT",
                                             "message": "key used with other inputs", "status": 409}


def test_retry_after_as_an_http_date():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    _, client = recording(httpx.Response(429, json={"errorCode": "concurrency_limit_reached"},
                                         headers={"Retry-After": when}))
    with client, pytest.raises(SyncApiTransient) as caught:
        client.create_generation(BODY, "k")
    assert 80 <= caught.value.retry_after <= 90
