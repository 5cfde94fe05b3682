"""The submit step's contract: one stored body per attempt, replayed byte for byte under
`{jobId}-{attempt}`, and exactly one generation id whatever Sync.so answers. S3 is moto (in-process);
Sync.so's answers come from an httpx.MockTransport that records every request."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import httpx
from botocore.config import Config
import pytest
from moto import mock_aws

from prosync.settings import SubmitSettings
from prosync.syncso import SyncApiRejected, SyncApiTransient, SyncClient
from prosync.workflow import submit as step

BUCKET = "unit-media"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
JOB = str(uuid.UUID(int=7))
ESTIMATE = [{"estimatedFrameCount": 96, "estimatedGenerationCost": 0.32}]


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"))
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def settings():
    return SubmitSettings(media_bucket=BUCKET, sync_api_key="k")


def event(attempt: int | None = 1, **more) -> dict:
    found = {"jobId": JOB, "model": "lipsync-2", "videoKey": f"uploads/u/{JOB}/video",
             "audioKeys": {"a": f"uploads/u/{JOB}/audio-a"}, "videoVersionId": "v1",
             "segments": [{"startTime": 0.0, "endTime": 1.0, "audioInput": {"refId": "a"}}],
             "options": {"sync_mode": "cut_off"}, "outputFileName": "out", **more}
    if attempt is not None:
        found["attempt"] = attempt
    return found


class FakeSync:
    """Sync.so as a script: route name -> list of answers (a Response, an exception, or a callable
    taking the request), the last one repeating; every request is kept."""

    def __init__(self, **routes):
        self.routes, self.seen = routes, []
        self.client = SyncClient("https://api.example", "key", transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        route = {("POST", "/v2/generate"): "create", ("POST", "/v2/analyze/cost"): "cost",
                 ("GET", "/v2/generations"): "list"}.get((request.method, request.url.path), "get")
        self.seen.append((route, request))
        answers = self.routes.get(route) or [httpx.Response(500, json={"message": f"no {route} scripted"})]
        count = sum(1 for name, _ in self.seen if name == route)
        answer = answers[min(count, len(answers)) - 1]
        answer = answer(request) if callable(answer) else answer
        if isinstance(answer, Exception):
            raise answer
        return answer

    def requests(self, route: str) -> list[httpx.Request]:
        return [request for name, request in self.seen if name == route]


def generation_json(gid="gen-1", status="PENDING", video="https://v") -> dict:
    return {"id": gid, "createdAt": "2026-01-01T12:00:00Z", "status": status, "model": "lipsync-2",
            "input": [{"type": "video", "url": video}]}


def created_from(request: httpx.Request, gid="gen-1", status="PENDING") -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(201, json={**generation_json(gid, status), "input": body["input"]})


def listing_the_created(sync: FakeSync):
    """A list answer holding every generation created so far (with the video URL it was sent)."""
    def answer(request):
        made = [json.loads(r.content) for r in sync.requests("create")]
        return httpx.Response(200, json=[{**generation_json(f"gen-{i + 1}"), "input": body["input"]}
                                         for i, body in enumerate(made)][::-1])
    return answer


def stored(s3, attempt=1) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=f"requests/{JOB}/attempt-{attempt}.json")["Body"].read()


def test_first_try_stores_the_body_and_sends_exactly_it(s3, settings):
    sync = FakeSync(create=[created_from], cost=[httpx.Response(200, json=ESTIMATE)])
    answer = step.submit(event(), settings, sync.client, s3, now=NOW)

    assert answer == {"outcome": "created", "generationId": "gen-1", "status": "PENDING", "attempt": 1,
                      "requestKey": f"requests/{JOB}/attempt-1.json",
                      "estimatedCost": {"usd": 0.32, "frames": 96}}
    (create,), (cost,) = sync.requests("create"), sync.requests("cost")
    assert create.content == stored(s3) == cost.content  # the estimate is of the very same body
    assert create.headers["idempotency-key"] == f"{JOB}-1"
    assert sync.seen[0][0] == "cost"  # cost before paying
    head = s3.head_object(Bucket=BUCKET, Key=answer["requestKey"])
    assert head["ContentType"] == "application/json"
    expiry = settings.submit_input_url_expiry_seconds
    assert int(head["Metadata"]["urls-expire-at"]) == int(NOW.timestamp()) + expiry
    video = json.loads(create.content)["input"][0]["url"]
    assert f"X-Amz-Expires={settings.submit_input_url_expiry_seconds}" in video and "versionId=v1" in video


def test_every_retry_of_an_attempt_sends_the_same_bytes_under_the_same_key(s3, settings):
    sync = FakeSync(create=[httpx.Response(503, json={}), httpx.ReadTimeout("lost"), created_from],
                    list=[httpx.Response(200, json=[])], cost=[httpx.Response(200, json=ESTIMATE)])
    for _ in range(2):
        with pytest.raises(SyncApiTransient):
            step.submit(event(), settings, sync.client, s3, now=NOW + timedelta(minutes=1))
    answer = step.submit(event(), settings, sync.client, s3, now=NOW + timedelta(minutes=2))

    creates = sync.requests("create")
    assert len(creates) == 3 and answer["generationId"] == "gen-1"
    assert {r.content for r in creates} == {stored(s3)}  # one body, byte for byte
    assert {r.headers["idempotency-key"] for r in creates} == {f"{JOB}-1"}
    assert len(sync.requests("list")) == 2  # each retry looked for a generation first


def test_a_new_attempt_presigns_afresh_under_a_new_key(s3, settings, monkeypatch):
    sync = FakeSync(create=[created_from], cost=[httpx.Response(200, json=ESTIMATE)])
    step.submit(event(1), settings, sync.client, s3, now=NOW)
    time.sleep(1.1)  # a SigV4 signature carries the second it was made
    second = step.submit(event(2), settings, sync.client, s3, now=NOW)
    first_body, second_body = (r.content for r in sync.requests("create"))
    assert first_body != second_body and second_body == stored(s3, 2)
    assert sync.requests("create")[1].headers["idempotency-key"] == f"{JOB}-2"
    assert second["estimatedCost"] is None and len(sync.requests("cost")) == 1  # attempt 1 only


def test_two_racing_invocations_keep_one_body(s3, settings):
    sync = FakeSync(create=[created_from], list=[httpx.Response(200, json=[])],
                    cost=[httpx.Response(200, json=ESTIMATE)])
    first = step.store_request(event(), settings, s3, step.request_key(JOB, 1), NOW)
    time.sleep(1.1)
    second = step.store_request(event(), settings, s3, step.request_key(JOB, 1), NOW)  # lost the race
    assert (first.fresh, second.fresh) == (True, False) and first.body == second.body == stored(s3)
    step.submit(event(), settings, sync.client, s3, now=NOW)
    assert sync.requests("create")[0].content == first.body


def test_a_retry_finds_the_generation_whose_answer_was_lost_and_creates_nothing(s3, settings):
    sync = FakeSync(create=[httpx.ReadTimeout("answer lost")], cost=[httpx.Response(200, json=ESTIMATE)])
    sync.routes["list"] = [listing_the_created(sync)]
    with pytest.raises(SyncApiTransient):
        step.submit(event(), settings, sync.client, s3, now=NOW)
    answer = step.submit(event(), settings, sync.client, s3, now=NOW)
    assert answer["generationId"] == "gen-1" and len(sync.requests("create")) == 1
    (listing,) = sync.requests("list")
    assert listing.url.params["status"] == "PENDING,PROCESSING,COMPLETED,FAILED,REJECTED"
    assert listing.url.params["limit"] == str(settings.submit_lookup_limit)


def test_a_conflict_names_the_generation_of_the_key(s3, settings):
    conflict = {"statusCode": 409, "message": "other inputs", "errorCode": "IDEMPOTENCY_KEY_CONFLICT",
                "generationId": "gen-9"}
    sync = FakeSync(create=[httpx.Response(409, json=conflict)], cost=[httpx.Response(200, json=ESTIMATE)],
                    get=[httpx.Response(200, json=generation_json("gen-9", "PROCESSING"))])
    answer = step.submit(event(), settings, sync.client, s3, now=NOW)
    assert (answer["outcome"], answer["generationId"], answer["status"]) == ("created", "gen-9", "PROCESSING")
    assert len(sync.requests("create")) == 1


def test_a_conflict_without_an_id_is_resolved_by_the_list_or_retried(s3, settings):
    conflict = httpx.Response(409, json={"message": "conflict", "errorCode": "IDEMPOTENCY_KEY_CONFLICT"})
    sync = FakeSync(create=[conflict], cost=[httpx.Response(200, json=ESTIMATE)],
                    list=[httpx.Response(200, json=[generation_json("other", video="https://elsewhere")])])
    with pytest.raises(SyncApiTransient) as caught:
        step.submit(event(), settings, sync.client, s3, now=NOW)
    assert caught.value.code == "idempotency_conflict_unresolved"
    mine = json.loads(stored(s3))["input"][0]["url"]
    sync.routes["list"] = [httpx.Response(200, json=[generation_json("gen-5", "PROCESSING", video=mine)])]
    answer = step.submit(event(), settings, sync.client, s3, now=NOW)  # the retry's lookup finds it
    assert (answer["generationId"], answer["status"]) == ("gen-5", "PROCESSING")


def test_an_unknown_outcome_that_names_the_generation_ends_the_attempt(s3, settings):
    unknown = httpx.Response(503, json={"errorCode": "IDEMPOTENCY_OUTCOME_UNKNOWN", "generationId": "gen-3"})
    sync = FakeSync(create=[unknown], cost=[httpx.Response(200, json=ESTIMATE)], get=[httpx.ReadTimeout("x")])
    answer = step.submit(event(), settings, sync.client, s3, now=NOW)
    assert (answer["generationId"], answer["status"]) == ("gen-3", "PENDING")  # status call failed: PENDING


@pytest.mark.parametrize(("headers", "seconds"), [({"Retry-After": "12"}, 12), ({}, 30),
                                                  ({"Retry-After": "100000"}, 600), ({"Retry-After": "0"}, 1),
                                                  ({"Retry-After": "2.2"}, 3)])
def test_the_concurrency_limit_is_an_outcome_not_an_error(s3, settings, headers, seconds):
    limited = httpx.Response(429, json={"errorCode": "concurrency_limit_reached", "message": "3 running"},
                             headers=headers)
    sync = FakeSync(create=[limited], cost=[httpx.Response(200, json=ESTIMATE)])
    answer = step.submit(event(2), settings, sync.client, s3, now=NOW)
    assert answer == {"outcome": "concurrency_limited", "attempt": 2, "retryAfterSeconds": seconds}


def test_a_request_rate_limit_is_retried_in_the_same_attempt(s3, settings):
    sync = FakeSync(create=[httpx.Response(429, json={"errorCode": "rate_limit_exceeded"})],
                    cost=[httpx.Response(200, json=ESTIMATE)])
    with pytest.raises(SyncApiTransient) as caught:
        step.submit(event(), settings, sync.client, s3, now=NOW)
    assert caught.value.code == "rate_limit_exceeded"


@pytest.mark.parametrize(("status", "code"), [
    (400, "generation_unsupported_model"), (401, "unauthorized"), (402, "insufficient_credits"),
    (422, "file_size_exceeds_plan_limit")])
def test_refusals_fail_the_job_with_syncs_code(s3, settings, status, code):
    sync = FakeSync(create=[httpx.Response(status, json={"errorCode": code, "message": "no"})],
                    cost=[httpx.Response(status, json={"errorCode": code})])
    with pytest.raises(SyncApiRejected) as caught:
        step.submit(event(), settings, sync.client, s3, now=NOW)
    assert (caught.value.status, caught.value.code) == (status, code)


@pytest.mark.parametrize("answer", [httpx.Response(422, json={"errorCode": "cost_estimate_unavailable"}),
                                    httpx.Response(503, json={}), httpx.ReadTimeout("slow"),
                                    httpx.Response(200, json={"unexpected": True})])
def test_a_failed_estimate_never_blocks_the_job(s3, settings, answer, caplog):
    sync = FakeSync(create=[created_from], cost=[answer])
    result = step.submit(event(), settings, sync.client, s3, now=NOW)
    assert result["outcome"] == "created" and result["estimatedCost"] is None
    assert "estimate" in caplog.text


def test_a_stored_body_past_its_urls_expiry_is_not_sent(s3, settings):
    sync = FakeSync(create=[httpx.ReadTimeout("lost")], list=[httpx.Response(200, json=[])],
                    cost=[httpx.Response(200, json=ESTIMATE)])
    with pytest.raises(SyncApiTransient):
        step.submit(event(), settings, sync.client, s3, now=NOW)
    late = NOW + timedelta(seconds=settings.submit_input_url_expiry_seconds)
    with pytest.raises(SyncApiRejected) as caught:
        step.submit(event(), settings, sync.client, s3, now=late)
    assert caught.value.code == "request_expired" and len(sync.requests("create")) == 1


@pytest.mark.parametrize("attempt", [0, -1, "1", 1.0, True])
def test_attempt_must_be_a_positive_integer(s3, settings, attempt):
    with pytest.raises(ValueError, match="attempt"):
        step.submit(event(attempt), settings, FakeSync().client, s3, now=NOW)


def test_a_missing_attempt_is_attempt_1(s3, settings):
    sync = FakeSync(create=[created_from], cost=[httpx.Response(200, json=ESTIMATE)])
    assert step.submit(event(None), settings, sync.client, s3, now=NOW)["attempt"] == 1
    assert sync.requests("create")[0].headers["idempotency-key"] == f"{JOB}-1"


def test_idempotency_keys_follow_syncs_format():
    assert step.idempotency_key(JOB, 12) == f"{JOB}-12"
    with pytest.raises(ValueError):
        step.idempotency_key("job id/with spaces", 1)
    with pytest.raises(ValueError):
        step.idempotency_key("x" * 127, 10)  # over 128 characters


def test_create_waits_the_setting_but_never_past_the_lambdas_deadline(s3, settings):
    sync = FakeSync(create=[created_from], cost=[httpx.Response(200, json=ESTIMATE)])
    step.submit(event(), settings, sync.client, s3, now=NOW)
    step.submit(event(2), settings, sync.client, s3, now=NOW, deadline=time.monotonic() + 20)
    first, second = (r.extensions["timeout"]["read"] for r in sync.requests("create"))
    assert first == settings.sync_create_timeout_seconds == 60.0
    assert 15 < second <= 17
    assert sync.requests("cost")[0].extensions["timeout"]["read"] == settings.sync_timeout_seconds
