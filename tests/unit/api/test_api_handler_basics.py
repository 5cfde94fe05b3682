"""The api handler without a database: public routes, 401, malformed input, the OpenAPI document."""

import json
from pathlib import Path

import pytest

from prosync.api.common import decode_cursor
from prosync.errors import ValidationFailed
from tests.unit.api.apitest import call, http_event, invoke, job_request

ROOT = Path(__file__).resolve().parents[3]
JOB = "0f8b3c52-9a4e-4a53-8f55-2b8c1d2f9e10"
PROTECTED = [
    ("POST", "/sync/pro-sync-process", job_request()),
    ("POST", f"/sync/pro-job/{JOB}/start", None),
    ("GET", f"/sync/pro-job/{JOB}/status", None),
    ("GET", "/sync/pro-jobs", None),
    ("POST", f"/sync/pro-job/{JOB}/cancel", None),
    ("GET", "/sync/limits", None),
]


@pytest.fixture(autouse=True)
def _aws(fake_aws):
    yield


@pytest.mark.parametrize("path", ["/health", "/api/v1/health"])
def test_health_needs_no_token(path):
    answer = invoke(http_event("GET", path))
    assert (answer.status, answer.body) == (200, {"status": "ok"})


def test_swagger_ui_and_openapi_json_need_no_token():
    page = invoke(http_event("GET", "/api/v1/swagger"))
    assert page.status == 200 and "swagger-ui" in page.body.lower()
    spec = invoke(http_event("GET", "/api/v1/swagger", query={"format": "json"}))
    assert spec.status == 200 and "/api/v1/sync/pro-sync-process" in spec.body["paths"]
    document = invoke(http_event("GET", "/api/v1/openapi.json"))
    assert document.status == 200 and document.body["paths"] == spec.body["paths"]


@pytest.mark.parametrize("method, path, body", PROTECTED)
def test_every_job_route_needs_claims(method, path, body):
    answer = call(method, path, body=body)
    assert answer.status == 401 and answer.code == "unauthorized"
    answer = call(method, path, body=body, claims={"email": "no-sub@example.com"})
    assert answer.status == 401


def test_anonymous_malformed_body_is_401_before_parsing():
    assert call("POST", "/sync/pro-sync-process", raw_body="{not json").status == 401


def test_a_body_over_64_kib_is_413_before_parsing():
    # 20,000 inverted segments: parsed, this was a 422 listing every one of them, an answer over
    # Lambda's 6 MB response limit (a 5xx from API Gateway for bad input)
    body = job_request(segments=[{"startTime": 2, "endTime": 1, "audioInput": {"refId": "intro"}}] * 20_000)
    answer = call("POST", "/sync/pro-sync-process", user="u1", body=body)
    assert answer.status == 413 and answer.code == "payload_too_large", str(answer.body)[:300]
    assert call("POST", "/sync/pro-sync-process", user="u1", raw_body="{" * 70_000).status == 413
    assert call("POST", "/sync/pro-sync-process", raw_body="{" * 70_000).status == 401  # no token first


@pytest.mark.parametrize("raw", ["{not json", '{"video": ', "\x00\x01"])
def test_malformed_json_is_400_never_500(raw):
    answer = call("POST", "/sync/pro-sync-process", user="u1", raw_body=raw)
    assert answer.status == 400 and answer.code == "invalid_json"


@pytest.mark.parametrize("raw", ["[]", '"text"', "42", "null"])
def test_a_body_that_is_not_an_object_is_422(raw):
    answer = call("POST", "/sync/pro-sync-process", user="u1", raw_body=raw)
    assert answer.status == 422 and answer.locs[0][0] == "body"


def test_non_json_content_type_is_refused():
    answer = call("POST", "/sync/pro-sync-process", user="u1", raw_body="a=b",
                  headers={"content-type": "text/plain"})
    assert answer.status == 415 and answer.code == "unsupported_media_type"


def test_unknown_fields_are_422_with_their_path():
    body = job_request(color="red")
    body["segments"][1]["audioInput"]["volume"] = 3
    body["options"]["speed"] = 2
    answer = call("POST", "/sync/pro-sync-process", user="u1", body=body)
    assert answer.status == 422 and answer.code == "validation_failed"
    assert sorted(answer.locs) == sorted([["body", "color"], ["body", "segments", 1, "audioInput", "volume"],
                                          ["body", "options", "speed"]])


def test_wrong_types_are_422_with_their_path():
    body = job_request()
    body["video"]["size"] = "big"
    body["segments"][0]["startTime"] = "soon"
    answer = call("POST", "/sync/pro-sync-process", user="u1", body=body)
    assert answer.status == 422
    assert sorted(answer.locs) == [["body", "segments", 0, "startTime"], ["body", "video", "size"]]


def test_malformed_job_ids_and_queries_are_422():
    assert call("GET", "/sync/pro-job/not-a-uuid/status", user="u1").locs == [["path", "job_id"]]
    for query in ({"limit": "0"}, {"limit": "101"}, {"status": "sleeping"}):
        answer = call("GET", "/sync/pro-jobs", user="u1", query=query)
        assert answer.status == 422 and answer.locs[0][0] == "query", query


def test_unknown_route_is_404_with_the_error_body():
    answer = call("GET", "/sync/nothing-here", user="u1")
    assert answer.status == 404 and answer.code == "not_found"


@pytest.mark.parametrize("cursor", ["!!!", "bm90IGpzb24", "WzEsMl0", "WyIyMDI2LTAxLTAxIiwieCJd"])
def test_bad_cursors_are_refused(cursor):
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(cursor)
    assert caught.value.details[0]["loc"] == ["query", "cursor"]


def test_committed_openapi_document_matches_the_code():
    from devstack.openapi import render

    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert committed == json.loads(render()), "docs/openapi.json is stale: run `make openapi`"


def test_openapi_documents_the_error_body_and_the_enums():
    spec = json.loads((ROOT / "docs" / "openapi.json").read_text())
    create = spec["paths"]["/api/v1/sync/pro-sync-process"]["post"]
    assert {"401", "403", "413", "422", "429"} <= set(create["responses"])
    schemas = spec["components"]["schemas"]
    assert "SegmentValidationError" in schemas
    modes = schemas["SyncOptions"]["properties"]["sync_mode"]["enum"]
    assert modes == ["bounce", "loop", "cut_off", "silence", "remap"]
    assert "sync-3" in schemas["ProSyncProcessRequest"]["properties"]["model"]["enum"]


def test_an_unreachable_database_is_503(monkeypatch):
    from prosync.settings import api_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    api_settings.cache_clear()
    answer = call("GET", "/sync/limits", user="u1")
    assert answer.status == 503 and answer.code == "database_unavailable"


def test_an_unexpected_error_is_a_500_that_leaks_nothing(monkeypatch):
    from functions.api import handler

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /var/task/x.py")

    monkeypatch.setattr(handler.api, "get_limits", broken)
    answer = call("GET", "/sync/limits", user="u1")
    assert answer.status == 500 and answer.code == "internal_error" and "secret" not in json.dumps(answer.body)


def test_every_public_route_of_the_http_api_is_served_without_a_token():
    from devstack.gateway.routes import ROUTES
    from prosync.routes import WEBHOOK_PATH

    public = [r for r in ROUTES if r.public]
    assert public
    for route in public:
        answer = invoke(http_event(route.method, route.template))
        if route.template.endswith(WEBHOOK_PATH):  # no JWT, but Sync.so's signature: none here
            assert (answer.status, answer.code) == (401, "invalid_signature"), route.key
            continue
        assert answer.status == 200, route.key
