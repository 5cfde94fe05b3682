"""Drive the api handler with API Gateway HTTP API (payload v2) events, as the JWT authorizer sends
them: claims under requestContext.authorizer.jwt.claims. Shared by tests/unit/api and
tests/integration/api (import as `tests.unit.api.apitest`)."""

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode


class LambdaContext:
    function_name = "prosync-api"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:prosync-api"
    aws_request_id = "00000000-0000-0000-0000-000000000001"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def http_event(method: str, path: str, *, body: Any = None, raw_body: str | None = None,
               headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
               claims: dict[str, Any] | None = None) -> dict[str, Any]:
    """An HTTP API v2 event; `body` is sent as JSON, `raw_body` as it is."""
    all_headers = {"content-type": "application/json", "user-agent": "pytest"}
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    context: dict[str, Any] = {
        "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1",
                 "userAgent": "pytest"},
        "requestId": "req-1", "routeKey": "$default", "stage": "$default", "time": "", "timeEpoch": 0,
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": urlencode(query or {}),
        "headers": all_headers, "requestContext": context, "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    return event


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def locs(self) -> list[list]:
        """The `loc` of every error detail."""
        return [d["loc"] for d in self.body["error"]["details"]]

    @property
    def code(self) -> str:
        return self.body["error"]["code"]


def invoke(event: dict[str, Any]) -> Answer:
    from functions.api.handler import lambda_handler

    response = lambda_handler(event, LambdaContext())
    raw = response.get("body") or ""
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    try:
        body = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        body = raw
    return Answer(response["statusCode"], body, response.get("headers") or {})


def call(method: str, path: str, *, user: str | None = None, **kwargs: Any) -> Answer:
    """Invoke the handler; `user` becomes the JWT claims (sub + email), None sends no claims."""
    claims = {"sub": user, "email": f"{user}@example.com"} if user else kwargs.pop("claims", None)
    return invoke(http_event(method, f"/api/v1{path}" if not path.startswith("/api/") else path,
                             claims=claims, **kwargs))


def job_request(**overrides: Any) -> dict[str, Any]:
    """A valid create request (video 4 s, two audios), with top-level fields replaced by `overrides`."""
    request = {
        "model": "lipsync-2-pro",
        "video": {"fileName": "talk.mp4", "contentType": "video/mp4", "size": 2_000_000},
        "audios": [
            {"refId": "intro", "fileName": "intro.wav", "contentType": "audio/wav", "size": 500_000},
            {"refId": "outro", "fileName": "outro.mp3", "contentType": "audio/mpeg", "size": 200_000},
        ],
        "segments": [
            {"startTime": 2.0, "endTime": 3.5,
             "audioInput": {"refId": "outro", "startTime": 0.2, "endTime": 1.2}},
            {"startTime": 0.0, "endTime": 2.0, "audioInput": {"refId": "intro"}},
        ],
        "options": {"sync_mode": "cut_off", "temperature": 0.5},
        "outputFileName": "talk_dubbed",
    }
    request.update(overrides)
    return request


def segments(n: int, ref: str = "intro", length: float = 0.3) -> list[dict[str, Any]]:
    """n touching segments of `length` seconds, all speaking `ref`."""
    return [{"startTime": round(i * length, 3), "endTime": round((i + 1) * length, 3),
             "audioInput": {"refId": ref}} for i in range(n)]
