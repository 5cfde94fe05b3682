"""The AWS side of live events, run in-process against real Postgres: the websocket function's
routes, eventfeed's notifier rounds and the webhooks function's SQS handling (the Lambda invoke of
eventfeed and SQS replaced by recorders that call the real handlers)."""

from __future__ import annotations

import io
import json
import uuid

import pytest

from devstack.gateway.events import LambdaContext
from functions.eventfeed import handler as eventfeed
from functions.webhooks import handler as webhooks
from functions.websocket import handler as websocket
from prosync.db.records import NewJob
from prosync.db.repository import JobRepository
from prosync.jobs.status import JobStatus
from prosync.webhooks.signing import new_secret
from prosync.webhooks.store import WebhookStore
from prosync.workflow import runtime
from tests.e2e.webhook_receiver import Receiver


@pytest.fixture
def env(database_url, monkeypatch):
    monkeypatch.setenv("WEBHOOKS_ALLOW_HTTP_LOOPBACK", "true")
    monkeypatch.setenv("WEBHOOK_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("FEED_WAIT_SECONDS", "0")
    monkeypatch.setenv("FEED_GRACE_SECONDS", "0")
    runtime.settings.cache_clear()
    yield
    runtime.settings.cache_clear()


def job(db, user: str) -> uuid.UUID:
    repo = JobRepository(db)
    repo.ensure_user(user)
    made, _ = repo.create_job(NewJob(id=uuid.uuid4(), user_id=user, is_pro_job=True, segments_data=[],
                                     inputs={}, options={}, model="lipsync-2"))
    return made.id


def ws(route: str, connection: str, body: dict | None = None, sub: str | None = None) -> dict:
    context = {"routeKey": route, "connectionId": connection}
    if sub:
        context["authorizer"] = {"sub": sub, "principalId": sub}
    return websocket.lambda_handler({"requestContext": context, "body": json.dumps(body or {})}, LambdaContext())


def feed(event: dict) -> dict:
    return eventfeed.lambda_handler(event, LambdaContext("prosync-eventfeed"))


def test_subscribe_round_and_isolation(env, db):
    mine, theirs = job(db, "u1"), job(db, "u2")
    ws("$connect", "c1", sub="u1")
    ws("$connect", "c2", sub="u2")
    assert ws("$connect", "c3")["statusCode"] == 401  # no authorizer context
    feed({"op": "round", "gone": []})  # the notifier's cursor starts at now
    ack = json.loads(ws("subscribe", "c1", {"action": "subscribe", "jobId": str(mine)})["body"])
    assert ack == {"type": "subscribed", "jobId": str(mine), "after": 0}
    refused = json.loads(ws("subscribe", "c2", {"action": "subscribe", "jobId": str(mine)})["body"])
    assert refused["code"] == "not_found"
    ws("subscribe", "c2", {"action": "subscribe"})  # all of u2's jobs, from now
    JobRepository(db).transition(mine, JobStatus.QUEUED)
    JobRepository(db).transition(theirs, JobStatus.QUEUED)
    answer = feed({"op": "round", "gone": []})
    to_c1 = [m for c, m in answer["messages"] if c == "c1"]
    assert [m["status"] for m in to_c1] == ["awaiting_upload", "queued"]  # history from 0, then live
    assert [m["jobId"] for c, m in answer["messages"] if c == "c2"] == [str(theirs)]
    assert all("userId" not in m for _, m in answer["messages"])
    assert feed({"op": "round", "gone": ["c1"]})["messages"] == []  # nothing twice; c1 dropped
    assert db.execute("SELECT count(*) AS n FROM ws_connections").fetchone()["n"] == 1
    assert json.loads(ws("$default", "c2", {"action": "ping"})["body"]) == {"type": "pong"}


class FakeLambda:
    def invoke(self, FunctionName, Payload):
        return {"Payload": io.BytesIO(json.dumps(feed(json.loads(Payload)), default=str).encode())}


class FakeSqs:
    def __init__(self):
        self.calls = []

    def change_message_visibility(self, **kwargs):
        self.calls.append(("visibility", kwargs))

    def send_message(self, **kwargs):
        self.calls.append(("send", kwargs))


def test_webhooks_function_delivers_retries_and_dead_letters(env, db, monkeypatch):
    sqs, receiver = FakeSqs(), Receiver("fail:2")
    monkeypatch.setattr(webhooks.aws, "client", lambda name: {"lambda": FakeLambda(), "sqs": sqs}[name])
    user = "u3"
    made = job(db, user)
    secret = new_secret()
    endpoint = WebhookStore(db).create(user, receiver.url, ["job.queued", "job.canceled"], None, secret)
    feed({"op": "round", "gone": []})
    JobRepository(db).transition(made, JobStatus.QUEUED)
    deliveries = feed({"op": "round", "gone": []})["deliveries"]
    assert len(deliveries) == 1

    def message(delivery_id):
        return {"Records": [{"messageId": "m1", "receiptHandle": "r1", "body": json.dumps({"deliveryId": delivery_id}),
                             "eventSourceARN": "arn:aws:sqs:eu-west-1:111111111111:prosync-dev-webhooks"}]}

    first = webhooks.lambda_handler(message(deliveries[0]), LambdaContext("prosync-webhooks"))
    assert first == {"batchItemFailures": [{"itemIdentifier": "m1"}]}  # 500: back after the backoff
    assert sqs.calls[0][0] == "visibility" and sqs.calls[0][1]["QueueUrl"].endswith("/prosync-dev-webhooks")
    db.execute("UPDATE webhook_deliveries SET next_attempt_at = now()")  # the backoff has passed
    second = webhooks.lambda_handler(message(deliveries[0]), LambdaContext("prosync-webhooks"))
    assert second == {"batchItemFailures": []} and sqs.calls[-1][0] == "send"  # 2 of 2: dead-lettered
    log = WebhookStore(db).deliveries(user, endpoint["id"])[0]
    assert log["state"] == "dead" and [a["outcome"] for a in log["log"]] == ["retry", "dead"]
    assert len(receiver.verified(secret)) == 2  # both attempts signed, the same webhook-id
    receiver.stop()
