"""The fair queue under Sync.so's organisation limit, end to end: the real state machine with real Wait
states (so queued jobs ask again after their wait, as deployed), the handlers, Postgres, and the
emulator enforcing the same limit (it would answer 429 to one generation too many)."""

import time
import uuid

import pytest

from devstack.localaws import LocalAwsServer
from tests.unit.api.apitest import call

LIMIT = 2


@pytest.fixture(scope="module")
def moto_server():
    """Retry back-off skipped, but Wait states really wait: a queued job asks for a slot every second."""
    with LocalAwsServer(no_sleep=True, real_waits=True) as server:
        yield server


@pytest.fixture
def org_limit(local, monkeypatch):
    monkeypatch.setenv("SYNC_MAX_CONCURRENT_GENERATIONS", str(LIMIT))
    monkeypatch.setenv("PROSYNC_WAIT_SCALE", "0.1")  # the queue's 10 s wait -> 1 s; a poll's -> a few s
    return LIMIT


def acquired_at(jobs, job_id: str):
    [event] = [e for e in jobs.repo.events(uuid.UUID(job_id))
               if e.detail.get("step") == "submit" and e.detail.get("attempt") == 1]
    return event.at


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.emulator(generation_seconds=1.0, concurrency_limit=LIMIT)
def test_six_jobs_of_three_users_share_two_slots_first_come_first_served(jobs, emulator, org_limit):
    users = ["ana", "ben", "cleo"] * 2
    job_ids = [jobs.create(user=user) for user in users]  # queued in this order
    executions = [jobs.start(job_id) for job_id in job_ids]
    runs = [jobs.finish(job_id, arn, timeout=120) for job_id, arn in zip(job_ids, executions)]

    assert [r.description["status"] for r in runs] == ["SUCCEEDED"] * 6
    assert all(jobs.job(j).status.value == "completed" for j in job_ids)
    stats = emulator.stats_snapshot()
    assert stats["concurrency"]["maxInFlight"] == LIMIT  # the slots were used, never one too many
    assert stats["concurrency"]["rejected"] == 0 and "429" not in stats["responses"]["create"]
    assert stats["billing"]["byIdempotencyKey"] == {f"{j}-1": 1 for j in job_ids}
    # the line was kept: a job took its slot at most LIMIT - 1 places off its place in line (two slots
    # freed together go to the first two in line, in either order), and the later ones waited
    order = sorted(job_ids, key=lambda j: acquired_at(jobs, j))
    assert all(abs(order.index(j) - i) < LIMIT for i, j in enumerate(job_ids)), (job_ids, order)
    assert sum("Wait for a slot" in r.states for r in runs) >= len(job_ids) - LIMIT


@pytest.mark.emulator(generation_seconds=4.0, concurrency_limit=1)
def test_cancel_while_queued_and_while_processing_releases_the_slot(jobs, emulator, local, monkeypatch):
    monkeypatch.setenv("SYNC_MAX_CONCURRENT_GENERATIONS", "1")
    monkeypatch.setenv("PROSYNC_WAIT_SCALE", "0.1")
    first, second, third = (jobs.create() for _ in range(3))
    runs = {job_id: jobs.start(job_id) for job_id in (first, second, third)}
    wait_for(lambda: jobs.job(first).status.value == "processing", what="the first job processing")

    # the second waits in line, and says where it stands
    status = call("GET", f"/sync/pro-job/{second}/status", user="user-1")
    assert status.status == 200 and status.body["status"] == "queued"
    assert (status.body["queuePosition"], status.body["attempt"]) == (1, 0)
    limits = call("GET", "/sync/limits", user="user-1").body
    assert limits["syncConcurrency"] == {"limit": 1, "inUse": 1, "queued": 2}

    # canceled while queued: its execution stops, it never reaches Sync.so, the third moves up
    assert call("POST", f"/sync/pro-job/{second}/cancel", user="user-1").status == 202
    stopped = jobs.finish(second, runs[second])  # stopped, or refused at its next claim (the race)
    assert stopped.description["status"] == "ABORTED" or stopped.states[-1] == "Job canceled", stopped.states
    wait_for(lambda: call("GET", f"/sync/pro-job/{third}/status", user="user-1").body["queuePosition"] == 1,
             what="the third job first in line")

    # canceled while processing: the slot goes to the third job, which completes
    assert call("POST", f"/sync/pro-job/{first}/cancel", user="user-1").status == 202
    stopped = jobs.finish(first, runs[first])
    assert stopped.description["status"] == "ABORTED" or stopped.states[-1] == "Job canceled", stopped.states
    third_run = jobs.finish(third, runs[third], timeout=60)
    assert third_run.description["status"] == "SUCCEEDED", third_run.description

    assert [jobs.job(j).status.value for j in (first, second, third)] == ["canceled", "canceled", "completed"]
    assert jobs.job(second).attempt == 0 and jobs.job(second).sync_generation_id is None
    billing = emulator.stats_snapshot()["billing"]["byIdempotencyKey"]
    # the first job's generation could not be stopped (Sync.so bills a processing generation) and kept
    # Sync.so's only slot until it ended: the third job's attempts got 429 (no generation) meanwhile
    third_keys = [key for key in billing if key.startswith(third)]
    assert billing[f"{first}-1"] == 1 and len(third_keys) == 1 and billing[third_keys[0]] == 1
    assert len(billing) == 2 and third_keys[0] == f"{third}-{jobs.job(third).attempt}"
    assert emulator.stats_snapshot()["concurrency"]["maxInFlight"] == 1
