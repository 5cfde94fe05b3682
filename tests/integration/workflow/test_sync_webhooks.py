"""Completion by Sync.so's signed webhook, polling as the fallback: the real state machine (its
`.waitForTaskToken` wait), the api Lambda behind the local gateway receiving the emulator's webhooks,
Postgres and the emulator. Forged, stale and replayed deliveries are refused and change nothing."""

import json
import os
import time

import httpx
import pytest

from prosync.syncso.webhooks import sign

from .support import BUCKET

WAIT_STATES = ["Wait for generation", "Generation status?", "Mark job downloading"]


def deliveries(emulator) -> list[dict]:
    return emulator.stats_snapshot()["webhooks"]["recent"]


def status_calls(emulator) -> int:
    return emulator.stats_snapshot()["requests"].get("get", 0)


def inbox(jobs) -> list[dict]:
    return jobs.repo.conn.execute("SELECT generation_id, status FROM syncso_webhook_inbox").fetchall()


@pytest.mark.emulator(generation_seconds=1.5)
def test_the_webhook_ends_the_wait_with_no_status_call(jobs, emulator, monkeypatch):
    monkeypatch.setenv("PROSYNC_WAIT_SCALE", "0.1")  # the fallback would poll after ~5 s: not needed
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "SUCCEEDED", run.description
    assert "Check generation status" not in run.states
    start = run.states.index("Wait for generation")
    assert run.states[start:start + 3] == WAIT_STATES
    assert status_calls(emulator) == 0
    [delivery] = deliveries(emulator)
    assert (delivery["status"], delivery["httpStatus"]) == ("COMPLETED", 200)
    job = jobs.job(job_id)
    assert (job.status.value, job.progress_percent, job.task_token) == ("completed", 100, None)
    assert inbox(jobs) == []
    assert emulator.stats_snapshot()["billing"]["byIdempotencyKey"] == {f"{job_id}-1": 1}


@pytest.mark.emulator(generation_seconds=0.5)
def test_a_lost_webhook_is_made_up_for_by_polling(jobs, emulator):
    emulator.add_faults([{"kind": "webhook", "mode": "drop"}])
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "SUCCEEDED", run.description
    assert "Check generation status" in run.states  # the wait timed out, the poll saw COMPLETED
    assert status_calls(emulator) >= 1
    assert emulator.stats_snapshot()["webhooks"]["dropped"] == 1
    assert emulator.stats_snapshot()["billing"]["byIdempotencyKey"] == {f"{job_id}-1": 1}
    assert jobs.job(job_id).status.value == "completed"


@pytest.mark.emulator(generation_seconds=0.0)
def test_a_webhook_before_the_generation_id_is_recorded_is_answered_from_the_inbox(jobs, emulator):
    # the create answer is lost after the generation ended and its webhook was delivered: the job does
    # not know its generation yet, so the webhook is filed, and the wait answers from it at once
    emulator.add_faults([{"kind": "lost_create_answer", "mode": "disconnect", "seconds": 1.5}])
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "SUCCEEDED", run.description
    assert "Check generation status" not in run.states and status_calls(emulator) == 0
    answered = [e for e in run.events if "answeredFrom" in json.dumps(e.get("taskSubmittedEventDetails", {}))]
    assert len(answered) == 1
    assert [d["httpStatus"] for d in deliveries(emulator)] == [200]
    assert inbox(jobs) == []  # used, then dropped
    assert emulator.stats_snapshot()["billing"]["byIdempotencyKey"] == {f"{job_id}-1": 1}


def _post(url: str, body: bytes, header: str | None) -> httpx.Response:
    headers = {"content-type": "application/json", **({"Sync-Signature": header} if header else {})}
    return httpx.post(url, content=body, headers=headers, timeout=10)


@pytest.mark.emulator(generation_seconds=3.0)
def test_forged_stale_and_replayed_webhooks_are_refused_and_change_nothing(jobs, emulator, monkeypatch):
    monkeypatch.setenv("PROSYNC_WAIT_SCALE", "0.1")  # one callback wait of ~5 s: the token stays put
    url = os.environ["WEBHOOK_URL"]
    job_id = jobs.create()
    execution = jobs.start(job_id)
    deadline = time.monotonic() + 20
    while not (job := jobs.job(job_id)).task_token:
        assert time.monotonic() < deadline, "the execution never waited"
        time.sleep(0.02)
    generation_id, events_before = job.sync_generation_id, jobs.events(job_id)
    forged = json.dumps({"id": generation_id, "createdAt": "2026-01-01T00:00:00Z", "status": "COMPLETED",
                         "model": "lipsync-2-pro", "outputUrl": "https://attacker.example/fake.mp4"},
                        separators=(",", ":")).encode()
    now = int(time.time())
    genuine_other = b'{"id":"another-generation","status":"COMPLETED"}'
    attempts = {
        "unsigned": _post(url, forged, None),
        "forged (another secret)": _post(url, forged, sign("whsec_guessed", forged, now)),
        "stale (right secret, 10 min old)": _post(url, forged, sign(emulator.webhook_secret, forged, now - 600)),
        "from the future": _post(url, forged, sign(emulator.webhook_secret, forged, now + 600)),
        "replayed signature on another body": _post(
            url, forged, sign(emulator.webhook_secret, genuine_other, now)),
        "replayed signature with a new time": _post(
            url, forged, sign(emulator.webhook_secret, genuine_other, now).replace(f"t={now}", f"t={now + 1}")),
    }
    for what, answer in attempts.items():
        assert answer.status_code == 401, (what, answer.text)
        assert answer.json()["error"]["code"] == "invalid_signature", what

    job = jobs.job(job_id)
    assert (job.status.value, job.task_token is not None, jobs.events(job_id)) == ("processing", True, events_before)
    assert inbox(jobs) == []
    run = jobs.finish(job_id, execution)  # the genuine webhook completes it, with Sync.so's own output
    assert run.description["status"] == "SUCCEEDED", run.description
    assert status_calls(emulator) == 0
    assert emulator.stats_snapshot()["billing"]["byIdempotencyKey"] == {f"{job_id}-1": 1}
    head = jobs.local.client("s3").head_object(Bucket=BUCKET, Key=f"results/{job_id}/talk_dubbed.mp4")
    assert head["ContentLength"] == jobs.job(job_id).result_size > 1000


@pytest.mark.emulator(generation_seconds=0.5)
def test_duplicate_and_late_webhooks_are_taken_and_change_nothing(jobs, emulator):
    emulator.add_faults([{"kind": "webhook", "mode": "duplicate", "seconds": 1.0}])
    job_id = jobs.create()
    run = jobs.run(job_id)
    assert run.description["status"] == "SUCCEEDED", run.description
    done = jobs.job(job_id)
    deadline = time.monotonic() + 10
    while len(deliveries(emulator)) < 2:
        assert time.monotonic() < deadline, "the duplicate never came"
        time.sleep(0.05)
    assert [d["httpStatus"] for d in deliveries(emulator)] == [200, 200]

    # a late delivery, genuinely signed now, for a job that moved on: taken (200), nothing changes
    generation = httpx.get(f"{emulator.url}/v2/generate/{done.sync_generation_id}",
                           headers={"x-api-key": emulator.api_key}).json()
    body = json.dumps(generation, separators=(",", ":")).encode()
    late = _post(os.environ["WEBHOOK_URL"], body, sign(emulator.webhook_secret, body, int(time.time())))
    assert late.status_code == 200 and late.json() == {"received": True, "action": "ignored"}
    after = jobs.job(job_id)
    assert (after.updated_at, after.status.value, jobs.events(job_id)[-1]) == (
        done.updated_at, "completed", ("downloading", "completed"))
    assert emulator.stats_snapshot()["billing"]["billedGenerations"] == 1
