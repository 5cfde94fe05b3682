"""SyncClient over httpx.MockTransport: what goes on the wire, and how every answer maps to an error."""

import json
import pickle

import httpx
import pytest
from prosync.syncso import (
    GenerateRequest,
    GenerationStatus,
    Segment,
    SegmentAudioInput,
    SyncApiError,
    SyncApiRejected,
    SyncApiTransient,
    SyncClient,
)

GENERATION = {
    "id": "gen-1",
    "createdAt": "2025-01-02T03:04:05Z",
    "status": "PENDING",
    "model": "lipsync-2",
    "input": [{"type": "video", "url": "https://x/v.mp4"}],
}


def request_body() -> GenerateRequest:
    return GenerateRequest.for_segments(
        model="lipsync-2-pro",
        video_url="https://s3/v.mp4?sig=1",
        audio_urls={"intro": "https://s3/a.wav"},
        segments=[Segment(start_time=0, end_time=2.5, audio_input=SegmentAudioInput(ref_id="intro"))],
    )


def client_answering(handler) -> SyncClient:
    return SyncClient("https://api.example", "key-123", transport=httpx.MockTransport(handler))


def raising(status: int, body=None, text: str | None = None, headers=None):
    def handler(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return handler


def test_create_sends_key_idempotency_key_and_exact_wire_body():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["method"], seen["path"] = request.method, request.url.path
        seen["headers"], seen["body"] = request.headers, json.loads(request.content)
        return httpx.Response(201, json=GENERATION)

    with client_answering(handler) as client:
        generation = client.create_generation(request_body(), idempotency_key="job-42")
    assert (seen["method"], seen["path"]) == ("POST", "/v2/generate")
    assert seen["headers"]["x-api-key"] == "key-123"
    assert seen["headers"]["idempotency-key"] == "job-42"
    assert seen["body"] == {
        "model": "lipsync-2-pro",
        "input": [
            {"type": "video", "url": "https://s3/v.mp4?sig=1"},
            {"type": "audio", "url": "https://s3/a.wav", "refId": "intro"},
        ],
        "segments": [{"startTime": 0.0, "endTime": 2.5, "audioInput": {"refId": "intro"}}],
    }
    assert generation.id == "gen-1" and generation.status is GenerationStatus.PENDING


def test_get_quotes_the_id_and_parses_completed_generation():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET"
        assert request.url.raw_path == b"/v2/generate/a%2Fb"
        return httpx.Response(
            200,
            json={
                **GENERATION,
                "status": "COMPLETED",
                "outputUrl": "https://o/x.mp4",
                "outputDuration": 4.0,
                "newField": {"x": 1},
            },
        )

    with client_answering(handler) as client:
        generation = client.get_generation("a/b")
    assert generation.status.terminal and generation.result_url == "https://o/x.mp4"
    assert generation.output_duration == 4.0


REJECTED_CASES = [
    (
        400,
        {
            "statusCode": 400,
            "message": "bad model",
            "error": "Bad Request",
            "errorCode": "generation_unsupported_model",
        },
        "generation_unsupported_model",
        "bad model",
    ),
    (
        400,
        {"statusCode": 400, "message": ["a must be x", "b must be y"], "error": "Bad Request"},
        "http_400",
        "a must be x; b must be y",
    ),
    (
        401,
        {"statusCode": 401, "message": "Invalid API key", "error": "Unauthorized"},
        "http_401",
        "Invalid API key",
    ),
    (
        402,
        {"statusCode": 402, "message": "no credits", "errorCode": "insufficient_credits"},
        "insufficient_credits",
        "no credits",
    ),
    (
        404,
        {"statusCode": 404, "message": "not found", "error_code": "generation_not_found"},
        "generation_not_found",
        "not found",
    ),
    (
        409,
        {"statusCode": 409, "message": "key reused", "errorCode": "IDEMPOTENCY_KEY_REUSED"},
        "IDEMPOTENCY_KEY_REUSED",
        "key reused",
    ),
    (
        413,
        {"statusCode": 413, "message": "too large", "errorCode": "generation_input_validation_failed"},
        "generation_input_validation_failed",
        "too large",
    ),
    (
        422,
        {"statusCode": 422, "message": "plan limit", "errorCode": "file_size_exceeds_plan_limit"},
        "file_size_exceeds_plan_limit",
        "plan limit",
    ),
    (418, {"statusCode": 418, "error": "I'm a teapot"}, "http_418", "I'm a teapot"),
]


@pytest.mark.parametrize(("status", "body", "code", "message"), REJECTED_CASES)
def test_client_errors_are_rejected_with_syncso_code_and_message(status, body, code, message):
    with client_answering(raising(status, body)) as client, pytest.raises(SyncApiRejected) as caught:
        client.create_generation(request_body(), "k1")
    exc = caught.value
    assert type(exc).__name__ == "SyncApiRejected" and isinstance(exc, SyncApiError)
    assert (exc.status, exc.code, exc.message) == (status, code, message)
    assert json.loads(str(exc)) == {"code": code, "message": message, "status": status}


TRANSIENT_CASES = [
    (
        429,
        {"statusCode": 429, "message": "slow down", "errorCode": "rate_limit_exceeded"},
        None,
        "rate_limit_exceeded",
    ),
    (
        429,
        {"statusCode": 429, "message": "too many running", "errorCode": "concurrency_limit_reached"},
        None,
        "concurrency_limit_reached",
    ),
    (500, {"statusCode": 500, "message": "Internal server error"}, None, "http_500"),
    (502, None, "<html>Bad Gateway</html>", "http_502"),
    (503, None, "", "http_503"),
    (
        504,
        {"statusCode": 504, "message": "tts timeout", "errorCode": "elevenlabs_service_unavailable"},
        None,
        "elevenlabs_service_unavailable",
    ),
    (408, None, "", "http_408"),
]


@pytest.mark.parametrize(("status", "body", "text", "code"), TRANSIENT_CASES)
def test_rate_limits_and_server_errors_are_transient(status, body, text, code):
    with client_answering(raising(status, body, text)) as client, pytest.raises(SyncApiTransient) as caught:
        client.get_generation("gen-1")
    assert type(caught.value).__name__ == "SyncApiTransient"
    assert (caught.value.status, caught.value.code) == (status, code)
    assert json.loads(str(caught.value))["code"] == code
    assert caught.value.message  # never empty, even for an empty body


def test_non_json_error_body_becomes_the_message():
    client = client_answering(raising(502, text="<html>Bad Gateway</html>"))
    with client, pytest.raises(SyncApiTransient) as caught:
        client.get_generation("gen-1")
    assert caught.value.message == "<html>Bad Gateway</html>"


def test_retry_after_header_is_kept():
    handler = raising(
        429, {"message": "slow", "errorCode": "rate_limit_exceeded"}, headers={"Retry-After": "7"}
    )
    with client_answering(handler) as client, pytest.raises(SyncApiTransient) as caught:
        client.get_generation("gen-1")
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (httpx.ReadTimeout("read timed out"), "timeout"),
        (httpx.ConnectTimeout("connect timed out"), "timeout"),
        (httpx.ConnectError("connection refused"), "connection_failed"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "connection_error"),
        (httpx.ReadError("connection reset"), "connection_error"),
    ],
)
def test_transport_failures_are_transient(exc, code):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    with client_answering(handler) as client, pytest.raises(SyncApiTransient) as caught:
        client.create_generation(request_body(), "k1")
    assert caught.value.status is None and caught.value.code == code
    assert json.loads(str(caught.value)) == {"code": code, "message": caught.value.message, "status": None}
    assert type(exc).__name__ in caught.value.message


UNREADABLE_BODIES = [
    b"<html>proxy</html>",
    b'{"id": "x"}',
    b'{"id":"x","createdAt":"2025-01-01T00:00:00Z","status":7,"model":"m","input":[]}',
]


@pytest.mark.parametrize("content", UNREADABLE_BODIES)
def test_unreadable_success_body_is_transient_invalid_response(content):
    client = client_answering(lambda request: httpx.Response(200, content=content))
    with client, pytest.raises(SyncApiTransient) as caught:
        client.get_generation("gen-1")
    assert caught.value.code == "invalid_response"


def test_an_unknown_status_string_is_read_not_refused():
    # SDK 0.3.0 types status `Literal[...] | Any`: a status Sync.so adds later is no unreadable answer
    body = b'{"id":"x","createdAt":"2025-01-01T00:00:00Z","status":"WEIRD","model":"m","input":[]}'
    with client_answering(lambda request: httpx.Response(200, content=body)) as client:
        generation = client.get_generation("x")
    assert generation.status.value == "WEIRD" and not generation.status.terminal


def test_errors_survive_pickling_with_their_fields():
    exc = SyncApiTransient(429, "rate_limit_exceeded", "slow down", retry_after=3.0)
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is SyncApiTransient
    assert (clone.status, clone.code, clone.message, clone.retry_after) == (
        429,
        "rate_limit_exceeded",
        "slow down",
        3.0,
    )
    assert str(clone) == str(exc)


def test_list_sends_comma_separated_filters():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["status"] == "COMPLETED,FAILED"
        assert request.url.params["ids"] == "a,b"
        return httpx.Response(200, json=[GENERATION])

    with client_answering(handler) as client:
        found = client.list_generations(status=[GenerationStatus.COMPLETED, "FAILED"], ids=["a", "b"])
    assert [g.id for g in found] == ["gen-1"]


def test_list_refuses_a_non_array_answer():
    client = client_answering(lambda request: httpx.Response(200, json={"items": []}))
    with client, pytest.raises(SyncApiTransient) as caught:
        client.list_generations()
    assert caught.value.code == "invalid_response" and "JSON array" in caught.value.message


def test_one_http_connection_pool_is_reused_and_closed():
    calls = []
    client = client_answering(lambda request: calls.append(request) or httpx.Response(200, json=GENERATION))
    client.get_generation("a")
    client.get_generation("b")
    pool = client._http
    client.close()
    assert len(calls) == 2 and pool.is_closed


def test_empty_api_key_is_refused():
    with pytest.raises(ValueError):
        SyncClient("https://api.example", "")
