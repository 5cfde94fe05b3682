"""The gateway over real HTTP: the JWT check as API Gateway's authorizer does it, CORS preflights
answered without the Lambda, the payload-2.0 event the api handler receives, and web/ files."""

import base64
import json
import time

import httpx
import jwt
import pytest

from devstack.gateway import DEV_AUDIENCE, DEV_ISSUER, CorsConfig, DevKeys, Gateway, JwtAuthorizer

ORIGIN = "http://localhost:8080"


class RecordingHandler:
    def __init__(self):
        self.events = []

    def __call__(self, event, context):
        assert context.get_remaining_time_in_millis() > 0
        self.events.append(event)
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json", "access-control-allow-origin": "*"},
            "body": '{"ok": true}',
        }


@pytest.fixture(scope="module")
def keys():
    return DevKeys.generate()


@pytest.fixture
def gateway(keys, tmp_path):
    (tmp_path / "index.html").write_text("<h1>ProSync</h1>")
    handler = RecordingHandler()
    gw = Gateway(
        handler,
        JwtAuthorizer(keys.jwks(), DEV_ISSUER, [DEV_AUDIENCE]),
        web_dir=tmp_path,
        cors=CorsConfig(allow_origins=[ORIGIN]),
        jwks=keys.jwks(),
    ).start()
    gw.handler_calls = handler.events
    with httpx.Client(base_url=gw.url) as client:
        gw.client = client
        yield gw
    gw.stop()


def bearer(token):
    return {"authorization": f"Bearer {token}"}


def forged(keys, **changes):
    now = int(time.time())
    claims = {"sub": "u1", "iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "iat": now, "exp": now + 60, **changes}
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None},
        keys.private_key,
        algorithm="RS256",
        headers={"kid": keys.kid},
    )


def test_missing_token_is_401(gateway):
    answer = gateway.client.get("/api/v1/sync/limits")
    assert answer.status_code == 401
    assert answer.json() == {"message": "Unauthorized"}
    assert gateway.handler_calls == []


@pytest.mark.parametrize("case", ["expired", "no_exp", "wrong_audience", "wrong_issuer", "not_a_jwt"])
def test_bad_claims_are_401(gateway, keys, case):
    token = {
        "expired": lambda: forged(keys, iat=int(time.time()) - 120, exp=int(time.time()) - 60),
        "no_exp": lambda: forged(keys, exp=None),
        "wrong_audience": lambda: forged(keys, aud="someone-else"),
        "wrong_issuer": lambda: forged(keys, iss="https://evil.example/"),
        "not_a_jwt": lambda: "abc.def.ghi",
    }[case]()
    answer = gateway.client.get("/api/v1/sync/limits", headers=bearer(token))
    assert answer.status_code == 401, case
    assert gateway.handler_calls == []


def test_badly_signed_token_is_401(gateway, keys):
    other = DevKeys.generate()
    now = int(time.time())
    claims = {"sub": "u1", "iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "iat": now, "exp": now + 60}
    same_kid_other_key = jwt.encode(claims, other.private_key, algorithm="RS256", headers={"kid": keys.kid})
    unknown_kid = other.issue("u1")
    hs256 = jwt.encode(
        claims, "a-shared-secret-of-at-least-32-bytes", algorithm="HS256", headers={"kid": keys.kid}
    )
    good = keys.issue("u1")
    head, _, _ = good.split(".")
    tampered_body = (
        base64.urlsafe_b64encode(
            b'{"sub":"admin","iss":"%s","aud":"%s","exp":%d}'
            % (DEV_ISSUER.encode(), DEV_AUDIENCE.encode(), now + 60)
        )
        .rstrip(b"=")
        .decode()
    )
    tampered = f"{head}.{tampered_body}.{good.split('.')[2]}"
    for token in (same_kid_other_key, unknown_kid, hs256, tampered):
        assert gateway.client.get("/api/v1/sync/limits", headers=bearer(token)).status_code == 401
    assert gateway.handler_calls == []


def test_good_token_reaches_the_handler_as_a_v2_event(gateway, keys):
    token = keys.issue("user-42", email="a@example.com", ttl=300)
    answer = gateway.client.post(
        "/api/v1/sync/pro-job/abc/start?x=1&x=2&y=",
        headers={**bearer(token), "X-Custom": "v", "Origin": ORIGIN},
        json={"a": 1},
    )
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    # API Gateway's CORS headers replace the Lambda's own
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    (event,) = gateway.handler_calls
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /api/v1/sync/pro-job/{job_id}/start"
    assert event["pathParameters"] == {"job_id": "abc"}
    assert event["rawPath"] == "/api/v1/sync/pro-job/abc/start"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["headers"]["x-custom"] == "v"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["http"]["path"] == event["rawPath"]
    assert event["requestContext"]["stage"] == "$default"
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == "user-42" and claims["email"] == "a@example.com"
    assert all(isinstance(v, str) for v in claims.values())
    assert json.loads(event["body"]) == {"a": 1} and event["isBase64Encoded"] is False


def test_binary_body_is_base64(gateway, keys):
    gateway.client.post(
        "/api/v1/sync/pro-sync-process",
        headers={**bearer(keys.issue("u")), "content-type": "application/octet-stream"},
        content=b"\x00\xff",
    )
    (event,) = gateway.handler_calls
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x00\xff"


def test_public_routes_need_no_token(gateway):
    assert gateway.client.get("/api/v1/health").status_code == 200
    assert gateway.client.get("/api/v1/swagger").status_code == 200
    assert "authorizer" not in gateway.handler_calls[0]["requestContext"]
    assert gateway.client.get("/api/v1/openapi.json").status_code == 200
    assert gateway.client.post("/api/v1/health").status_code == 404  # no such route: API Gateway's 404


def test_unknown_routes_are_404_without_the_lambda(gateway, keys):
    answer = gateway.client.get("/api/v1/sync/nothing-here", headers=bearer(keys.issue("u")))
    assert answer.status_code == 404 and answer.json() == {"message": "Not Found"}
    assert gateway.handler_calls == []


def test_cors_preflight_is_answered_by_the_gateway(gateway):
    answer = gateway.client.options(
        "/api/v1/sync/pro-sync-process",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
        },
    )
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "authorization" in answer.headers["access-control-allow-headers"]
    other = gateway.client.options(
        "/api/v1/sync/pro-sync-process",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in other.headers
    assert gateway.handler_calls == []
    unauthorized = gateway.client.get("/api/v1/sync/limits", headers={"Origin": ORIGIN})
    assert unauthorized.status_code == 401
    assert unauthorized.headers["access-control-allow-origin"] == ORIGIN  # the page can read the 401


def test_web_files_and_jwks(gateway, keys):
    page = gateway.client.get("/")
    assert page.status_code == 200 and "ProSync" in page.text
    assert page.headers["content-type"].startswith("text/html")
    assert gateway.client.get("/../../etc/passwd").status_code == 404
    assert gateway.client.get("/.well-known/jwks.json").json()["keys"][0]["kid"] == keys.kid
    assert gateway.client.get("/dev/token").status_code == 404  # only the local stack enables it


def test_keys_persist_in_the_state_dir(tmp_path):
    first = DevKeys.load_or_create(tmp_path)
    second = DevKeys.load_or_create(tmp_path)
    assert first.kid == second.kid
    assert (tmp_path / "dev-jwt-key.pem").stat().st_mode & 0o777 == 0o600
    claims = JwtAuthorizer(second.jwks(), DEV_ISSUER, [DEV_AUDIENCE]).claims("Bearer " + first.issue("x"))
    assert claims["sub"] == "x"
