"""The per-user cap on jobs awaiting their uploads (each holds presigned POSTs for up to the tier's
file sizes): over it, create is 429 with Retry-After; starting, canceling or expiring one frees a place;
an Idempotency-Key replay is still answered; concurrent creates cannot both take the last place."""

import time
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from prosync import api as use_cases
from prosync.db.connection import connect
from prosync.db.repository import JobRepository
from prosync.errors import TooManyAwaitingUpload
from prosync.jobs.status import JobStatus
from prosync.models import ProSyncProcessRequest
from prosync.settings import ApiSettings, DatabaseSettings, TierSettings, api_settings
from tests.unit.api.apitest import call, job_request

PRO, ENTERPRISE = TierSettings().pro, TierSettings().enterprise


def fill(api, n: int, user: str = "pro") -> list[UUID]:
    ids = []
    for i in range(n):
        answer = api.create(user=user, key=f"fill-{i}")
        assert answer.status == 201, answer.body
        ids.append(UUID(answer.body["jobId"]))
    return ids


def test_defaults_are_five_for_pro_and_ten_for_enterprise():
    assert (PRO.max_awaiting_upload, ENTERPRISE.max_awaiting_upload) == (5, 10)


def test_one_over_the_cap_is_429_with_retry_after_and_writes_nothing(api):
    fill(api, PRO.max_awaiting_upload)
    answer = api.create()
    assert answer.status == 429 and answer.code == "too_many_awaiting_upload", answer.body
    message = answer.body["error"]["message"]
    assert "5 of your jobs are waiting for their uploads" in message
    assert "start one, cancel one, or wait until one expires (24 h after its last change)" in message
    retry_after = int(answer.headers["Retry-After"])
    assert 24 * 3600 - 120 < retry_after <= 24 * 3600  # the oldest job expires 24 h after its last change
    assert api.job_rows() == PRO.max_awaiting_upload


def test_retry_after_counts_down_from_the_oldest_waiting_job(api):
    ids = fill(api, PRO.max_awaiting_upload)
    api.db.execute("UPDATE video_jobs SET updated_at = now() - interval '23 hours' WHERE id = %s", (ids[2],))
    answer = api.create()
    assert answer.status == 429
    assert 3600 - 120 < int(answer.headers["Retry-After"]) <= 3600


def test_starting_or_canceling_one_frees_a_place(api):
    ids = fill(api, PRO.max_awaiting_upload)
    assert api.create().status == 429
    assert api.cancel(ids[0]).status == 202
    assert api.create(key="after-cancel").status == 201
    assert api.create().status == 429
    api.repo.transition(ids[1], JobStatus.QUEUED)  # what a start does
    assert api.create(key="after-start").status == 201
    api.repo.transition(ids[2], JobStatus.EXPIRED)  # what the sweeper does
    assert api.create(key="after-expiry").status == 201
    assert api.create().status == 429


def test_an_idempotency_key_replay_is_answered_at_the_cap(api):
    ids = fill(api, PRO.max_awaiting_upload)
    replay = api.create(key="fill-3")
    assert replay.status == 201 and replay.body["jobId"] == str(ids[3]), replay.body
    assert replay.body["uploads"]["video"]["key"].endswith(f"{ids[3]}/video.mp4")
    assert api.job_rows() == PRO.max_awaiting_upload


def test_the_cap_is_per_user_and_per_tier(api):
    fill(api, PRO.max_awaiting_upload)
    assert api.create(user="other").status == 201  # another pro user has its own places
    fill(api, ENTERPRISE.max_awaiting_upload, user="ent")
    assert api.create(user="ent").status == 429


def test_the_cap_is_a_setting(api, monkeypatch):
    monkeypatch.setenv("PROSYNC_TIERS__PRO__MAX_AWAITING_UPLOAD", "2")
    api_settings.cache_clear()
    assert api_settings().tiers.pro.max_segments == PRO.max_segments  # the tier's other limits stay
    fill(api, 2)
    assert api.create().status == 429


def test_limits_show_the_cap_and_the_count(api):
    fill(api, 2)
    api.create(user="other")
    body = call("GET", "/sync/limits", user="pro").body
    assert body["limits"]["maxAwaitingUpload"] == PRO.max_awaiting_upload and body["awaitingUploadJobs"] == 2
    assert call("GET", "/sync/limits", user="ent").body["awaitingUploadJobs"] == 0


def race(api, module_database, keys: list[str]) -> list:
    """Two creates (two containers) at once, made to overlap for sure: inserts into video_jobs wait
    on a table lock until both requests are waiting on a lock (reads pass it: without the user's row
    lock both would count the same waiting jobs, then both insert)."""
    request = ProSyncProcessRequest.model_validate(job_request())
    waiting = ("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
               " AND wait_event_type = 'Lock'")

    def create(key: str):
        with connect(DatabaseSettings(database_url=module_database)) as conn:
            try:
                return use_cases.create_job(use_cases.Caller("pro"), request, repo=JobRepository(conn),
                                            settings=ApiSettings(), idempotency_key=key)
            except TooManyAwaitingUpload:
                return "429"

    with ThreadPoolExecutor(2) as pool:
        with api.db.transaction():
            api.db.execute("LOCK TABLE video_jobs IN SHARE MODE")
            outcomes = [pool.submit(create, key) for key in keys]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                api.db.execute("SELECT pg_stat_clear_snapshot()")  # else the first reading stays
                if api.db.execute(waiting).fetchone()["n"] >= 2:
                    break
                time.sleep(0.02)
            else:
                raise AssertionError("the two creates never waited on a lock together")
        return [o.result() for o in outcomes]


def test_concurrent_creates_never_exceed_the_cap(api, module_database):
    fill(api, PRO.max_awaiting_upload - 1)
    outcomes = race(api, module_database, ["race-a", "race-b"])
    assert sorted(o if o == "429" else o.status.value for o in outcomes) == ["429", "awaiting_upload"]
    assert api.job_rows() == PRO.max_awaiting_upload


def test_concurrent_requests_with_one_key_at_the_last_place_make_one_job(api, module_database):
    # the second waits for the first's lock, then finds its job: a replay, not a 429
    fill(api, PRO.max_awaiting_upload - 1)
    first, second = race(api, module_database, ["same", "same"])
    assert "429" not in (first, second), (first, second)
    assert first.job_id == second.job_id and api.job_rows() == PRO.max_awaiting_upload
