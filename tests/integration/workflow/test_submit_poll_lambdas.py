"""The submit and poll Lambdas (their real handlers) against the Sync.so emulator over HTTP and moto S3:
one body and one billed generation per attempt whatever Sync.so answers, and polls that survive a
status outage. The emulator's /_emulator/stats count billed generations per Idempotency-Key."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from devstack.buckets import create_media_bucket
from devstack.localaws import lambda_context
from functions.poll.handler import lambda_handler as poll_handler
from functions.submit.handler import lambda_handler as submit_handler
from prosync.settings import SubmitSettings
from prosync.syncso import SyncApiTransient, SyncClient
from prosync.workflow import polling, runtime
from prosync.workflow.submit import build_request

from .support import BUCKET, SEGMENTS
from .sync_recorder import SyncRecorder


class Lambdas:
    """Jobs' inputs in moto S3 and the two handlers as Step Functions invokes them."""

    def __init__(self, local, emulator, media, monkeypatch) -> None:
        self.local, self.emulator, self.media, self.monkeypatch = local, emulator, media, monkeypatch
        self.s3 = local.client("s3")

    def configure(self, **env: str) -> None:
        """Set the handlers' environment and cold-start them (settings and clients read it anew)."""
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        runtime.reset()

    def job(self) -> dict:
        """A started job's `$.job.submit`: its uploads in S3, pinned by version."""
        job_id = str(uuid.uuid4())
        prefix = f"uploads/user-1/{job_id}"

        def upload(path, key: str) -> str:
            self.s3.upload_file(str(path), BUCKET, key)
            return self.s3.head_object(Bucket=BUCKET, Key=key)["VersionId"]

        audio_keys = {ref_id: f"{prefix}/audio-{ref_id}" for ref_id, *_ in SEGMENTS}
        return {
            "jobId": job_id, "model": "lipsync-2-pro", "videoKey": f"{prefix}/video",
            "videoVersionId": upload(self.media["video"], f"{prefix}/video"),
            "audioKeys": audio_keys,
            "audioVersionIds": {ref_id: upload(self.media[ref_id], key)
                                for ref_id, key in audio_keys.items()},
            "segments": [{"startTime": start, "endTime": end, "audioInput": {"refId": ref_id}}
                         for ref_id, _, start, end in SEGMENTS],
            "options": {"sync_mode": "cut_off"}, "outputFileName": "talk_dubbed",
        }

    def submit(self, job: dict, attempt: int) -> dict:
        return submit_handler({**job, "attempt": attempt}, lambda_context("prosync-submit"))

    def poll(self, state: dict) -> dict:
        return json.loads(json.dumps(poll_handler(state, lambda_context("prosync-poll"))))  # as SFN passes it

    def stored(self, job: dict, attempt: int) -> bytes:
        key = f"requests/{job['jobId']}/attempt-{attempt}.json"
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def billed(self) -> dict:
        return self.emulator.stats_snapshot()["billing"]

    def poll_until_final(self, state: dict, timeout: float = 30.0) -> tuple[dict, list[dict]]:
        seen, deadline = [], time.monotonic() + timeout
        while state["status"] in ("PENDING", "PROCESSING"):
            assert time.monotonic() < deadline, f"still {state['status']}"
            state = self.poll(state)
            seen.append(state)
            time.sleep(0.05)
        return state, seen


def start_state(generation_id: str, deadline: datetime | None = None) -> dict:
    deadline = deadline or datetime.now(UTC) + timedelta(hours=1)
    seed = {"interval": 5, "waitSeconds": 0, "deadline": deadline.isoformat()}
    return polling.initial_state(generation_id, seed)


@pytest.fixture
def lambdas(emulator, moto_server, media, monkeypatch) -> Lambdas:
    for name, value in {"PROSYNC_WAIT_SCALE": "0", "MEDIA_BUCKET": BUCKET, "SYNC_API_BASE_URL": emulator.url,
                        "SYNC_API_KEY": emulator.api_key, "POWERTOOLS_TRACE_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    moto_server.reset()  # a cold start of the handlers too
    create_media_bucket(moto_server.client("s3"), BUCKET)
    return Lambdas(moto_server, emulator, media, monkeypatch)


# -- submit ------------------------------------------------------------------------------------------

def test_attempt_1_estimates_the_cost_then_creates_one_generation(lambdas):
    job = lambdas.job()
    answer = lambdas.submit(job, 1)

    assert set(answer) == {"outcome", "generationId", "status", "attempt", "requestKey", "estimatedCost"}
    assert (answer["outcome"], answer["attempt"], answer["status"]) == ("created", 1, "PENDING")
    assert answer["requestKey"] == f"requests/{job['jobId']}/attempt-1.json"
    assert answer["estimatedCost"]["usd"] > 0 and answer["estimatedCost"]["frames"] > 0
    assert lambdas.billed()["byIdempotencyKey"] == {f"{job['jobId']}-1": 1}
    stats = lambdas.emulator.stats_snapshot()
    assert stats["requests"]["cost"] == 1 and stats["requests"]["create"] == 1


@pytest.mark.parametrize("mode", ["disconnect", "502", "504"])
def test_a_lost_create_answer_and_its_retry_bill_one_generation(lambdas, mode):
    lambdas.emulator.add_faults([{"kind": "lost_create_answer", "mode": mode}])
    job = lambdas.job()
    with pytest.raises(SyncApiTransient):  # the state machine retries the same attempt
        lambdas.submit(job, 1)
    answer = lambdas.submit(job, 1)

    (made,) = lambdas.emulator.store.list()
    assert (answer["outcome"], answer["generationId"]) == ("created", made.id)
    assert lambdas.billed() == {"billedGenerations": 1, "byIdempotencyKey": {f"{job['jobId']}-1": 1},
                                "withoutIdempotencyKey": 0}
    stats = lambdas.emulator.stats_snapshot()
    assert stats["requests"]["create"] == 1 and stats["requests"]["list"] == 1  # found, not created again


def test_an_unknown_outcome_naming_the_generation_ends_the_attempt_at_once(lambdas):
    lambdas.emulator.add_faults([{"kind": "lost_create_answer", "mode": "outcome_unknown"}])
    job = lambdas.job()
    answer = lambdas.submit(job, 1)
    (made,) = lambdas.emulator.store.list()
    assert (answer["outcome"], answer["generationId"]) == ("created", made.id)
    assert lambdas.billed()["billedGenerations"] == 1


def test_a_create_that_lands_after_its_retry_is_replayed_not_billed_twice(lambdas):
    """The first POST times out on our side, the retry creates, then the first reaches Sync.so."""
    lambdas.configure(SYNC_CREATE_TIMEOUT_SECONDS="0.5")
    lambdas.emulator.add_faults([{"kind": "delay", "route": "create", "seconds": 2.0}])
    job = lambdas.job()
    with pytest.raises(SyncApiTransient) as caught:
        lambdas.submit(job, 1)
    assert caught.value.code == "timeout"
    answer = lambdas.submit(job, 1)  # nothing to find yet: creates under the same key and bytes
    time.sleep(2.5)  # the delayed first request is answered now: a replay of the same generation

    assert answer["outcome"] == "created"
    assert lambdas.billed()["byIdempotencyKey"] == {f"{job['jobId']}-1": 1}
    assert lambdas.emulator.stats_snapshot()["responses"]["create"] == {"201": 1, "200": 1}


def test_every_retry_of_an_attempt_sends_the_stored_bytes(lambdas):
    with SyncRecorder(lambdas.emulator.url) as recorder:
        lambdas.configure(SYNC_API_BASE_URL=recorder.url)
        lambdas.emulator.add_faults([{"kind": "http_error", "route": "create", "status": 503, "count": 2}])
        job = lambdas.job()
        for _ in range(2):
            with pytest.raises(SyncApiTransient):
                lambdas.submit(job, 1)
        answer = lambdas.submit(job, 1)
        creates = recorder.creates()

    assert answer["outcome"] == "created" and len(creates) == 3
    assert {c.body for c in creates} == {lambdas.stored(job, 1)}  # byte for byte, every time
    assert {c.headers["idempotency-key"] for c in creates} == {f"{job['jobId']}-1"}
    assert lambdas.billed()["billedGenerations"] == 1


def test_a_conflicting_body_under_the_key_resolves_to_the_keys_generation(lambdas):
    job = lambdas.job()
    other = build_request({**job, "options": {"sync_mode": "loop"}}, SubmitSettings(), lambdas.s3)
    with SyncClient(lambdas.emulator.url, lambdas.emulator.api_key) as sync:
        first = sync.create_generation(other, f"{job['jobId']}-1")
    answer = lambdas.submit(job, 1)

    assert (answer["outcome"], answer["generationId"]) == ("created", first.id)
    assert lambdas.emulator.stats_snapshot()["responses"]["create"] == {"201": 1, "409": 1}
    assert lambdas.billed()["billedGenerations"] == 1


@pytest.mark.emulator(concurrency_limit=1, concurrency_retry_after=7, generation_seconds=1.5)
def test_the_organisations_concurrency_limit_is_an_outcome_and_the_next_attempt_goes_through(lambdas):
    busy, waiting = lambdas.job(), lambdas.job()
    first = lambdas.submit(busy, 1)
    limited = lambdas.submit(waiting, 1)

    assert limited == {"outcome": "concurrency_limited", "attempt": 1, "retryAfterSeconds": 7}
    lambdas.poll_until_final({**start_state(first["generationId"])})
    later = lambdas.submit(waiting, 2)  # no generation exists for attempt 1: the next try is attempt 2
    assert (later["outcome"], later["attempt"], later["estimatedCost"]) == ("created", 2, None)
    assert lambdas.billed()["byIdempotencyKey"] == {f"{busy['jobId']}-1": 1, f"{waiting['jobId']}-2": 1}


def test_a_concurrency_answer_without_retry_after_waits_the_default(lambdas):
    lambdas.configure(SUBMIT_CONCURRENCY_RETRY_DEFAULT_SECONDS="11")
    lambdas.emulator.add_faults([{"kind": "http_error", "route": "create", "status": 429,
                                  "error_code": "concurrency_limit_reached"}])  # no Retry-After header
    answer = lambdas.submit(lambdas.job(), 3)
    assert answer == {"outcome": "concurrency_limited", "attempt": 3, "retryAfterSeconds": 11}


def test_a_failing_estimate_does_not_stop_the_generation(lambdas):
    lambdas.emulator.add_faults([{"kind": "http_error", "route": "cost", "status": 422,
                                  "error_code": "cost_estimate_unavailable"}])
    answer = lambdas.submit(lambdas.job(), 1)
    assert (answer["outcome"], answer["estimatedCost"]) == ("created", None)


# -- poll --------------------------------------------------------------------------------------------

@pytest.mark.emulator(generation_seconds=1.0)
def test_polls_ride_out_a_status_outage_longer_than_any_retry_policy(lambdas):
    created = lambdas.submit(lambdas.job(), 1)
    lambdas.configure(SYNC_TIMEOUT_SECONDS="0.5")
    lambdas.emulator.add_faults([  # 10 failed status calls in a row (the delay rides on the first 503)
        {"kind": "delay", "route": "get", "seconds": 1.0, "count": 1},  # a timeout on our side
        {"kind": "http_error", "route": "get", "status": 503, "count": 6},
        {"kind": "rate_limit", "route": "get", "count": 2},
        {"kind": "http_error", "route": "get", "status": 500, "count": 2},
    ])
    state, errors = start_state(created["generationId"]), []
    for _ in range(10):
        state = lambdas.poll(state)
        errors.append(state["statusErrors"])
        assert (state["status"], state["deadlinePassed"], state["error"]) == ("PENDING", False, None)
    assert errors == list(range(1, 11))
    assert state["interval"] == 300  # capped exponential backoff (POLL_STATUS_ERROR_BACKOFF_MAX_SECONDS)

    final, _ = lambdas.poll_until_final(state)
    assert (final["status"], final["statusErrors"], final["progressPercent"]) == ("COMPLETED", 0, 100)
    assert final["outputUrl"] and lambdas.billed()["billedGenerations"] == 1


def test_a_status_outage_past_the_deadline_ends_the_job_as_deadline_exceeded(lambdas):
    created = lambdas.submit(lambdas.job(), 1)
    lambdas.emulator.add_faults([{"kind": "http_error", "route": "get", "status": 503, "count": "always"}])
    past = datetime.now(UTC) - timedelta(seconds=1)
    state = lambdas.poll(start_state(created["generationId"], deadline=past))
    assert (state["deadlinePassed"], state["error"]["code"]) == (True, "deadline_exceeded")
    assert state["statusErrors"] == 1


def test_an_unknown_status_is_tolerated_as_still_running(lambdas):
    created = lambdas.submit(lambdas.job(), 1)
    lambdas.emulator.add_faults([{"kind": "unknown_status", "route": "get",
                                  "reported_status": "QUEUED_FOR_GPU"}])
    state = lambdas.poll(start_state(created["generationId"]))
    assert (state["status"], state["rawStatus"], state["error"]) == ("PROCESSING", "QUEUED_FOR_GPU", None)
    final, _ = lambdas.poll_until_final(state)
    assert (final["status"], final["rawStatus"]) == ("COMPLETED", "COMPLETED")


@pytest.mark.emulator(generation_seconds=2.0)
def test_progress_is_reported_and_never_goes_backwards(lambdas):
    created = lambdas.submit(lambdas.job(), 1)
    final, seen = lambdas.poll_until_final(start_state(created["generationId"]))
    progress = [s["progressPercent"] for s in seen]
    assert final["status"] == "COMPLETED" and progress[-1] == 100
    assert all(p is not None for p in progress) and progress == sorted(progress)
    assert any(0 < p < 100 for p in progress), progress  # seen mid-way, not only at the ends


@pytest.mark.parametrize(("outcome", "code", "retryable"), [
    ("FAILED", "generation_timeout", True), ("FAILED", "generation_pipeline_failed", True),
    ("FAILED", "generation_database_error", True), ("FAILED", "generation_audio_length_exceeded", False),
    ("REJECTED", "generation_pipeline_failed", False),
])
def test_a_failed_generation_says_whether_a_new_attempt_is_worth_it(lambdas, outcome, code, retryable):
    lambdas.emulator.add_faults([{"kind": "generation_failure", "outcome": outcome, "error_code": code,
                                  "message": "model gave up"}])
    created = lambdas.submit(lambdas.job(), 1)
    final, _ = lambdas.poll_until_final(start_state(created["generationId"]))
    assert (final["status"], final["retryable"]) == (outcome, retryable)
    assert final["error"] == {"code": code, "message": "model gave up"}
