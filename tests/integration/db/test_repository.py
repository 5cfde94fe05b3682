"""JobRepository against real Postgres: guarded transitions, events, idempotent create, pagination."""

import threading
import uuid
from datetime import timedelta

import pytest

from prosync.db.connection import connect
from prosync.db.records import NewJob
from prosync.db.repository import JobRepository
from prosync.jobs.status import ALLOWED_FROM, JobStatus
from prosync.settings import DatabaseSettings, Tier


def _new_job(user_id="u1", key=None, **over) -> NewJob:
    fields = dict(
        id=uuid.uuid4(), user_id=user_id, is_pro_job=True,
        segments_data=[{"startTime": 0.0, "endTime": 1.0, "audioInput": {"refId": "a"}}],
        inputs={"video": {"key": "uploads/u1/x/video"}, "audios": {"a": {"key": "uploads/u1/x/audio-a"}}},
        options={"sync_mode": "cut_off"}, model="lipsync-2", idempotency_key=key,
    )
    return NewJob(**{**fields, **over})


@pytest.fixture
def repo(db) -> JobRepository:
    r = JobRepository(db)
    r.set_tier("u1", Tier.PRO)
    return r


def test_user_is_created_on_first_sight_with_the_free_tier(repo):
    user = repo.ensure_user("new-user", "a@example.com")
    assert (user.id, user.tier, user.email) == ("new-user", Tier.FREE, "a@example.com")
    assert repo.ensure_user("new-user").email == "a@example.com"


def test_create_job_writes_the_row_and_its_first_event(repo):
    job, created = repo.create_job(_new_job())
    assert created and job.status is JobStatus.AWAITING_UPLOAD and job.stage == "upload"
    events = repo.events(job.id)
    assert [(e.from_status, e.to_status) for e in events] == [(None, JobStatus.AWAITING_UPLOAD)]


def test_same_idempotency_key_returns_the_same_job(repo):
    first, created1 = repo.create_job(_new_job(key="k1"))
    again, created2 = repo.create_job(_new_job(key="k1"))
    assert (created1, created2) == (True, False) and again.id == first.id
    assert repo.conn.execute("SELECT count(*) AS n FROM video_jobs").fetchone()["n"] == 1


def test_the_whole_happy_path_records_one_event_per_step(repo):
    job, _ = repo.create_job(_new_job())
    path = [JobStatus.QUEUED, JobStatus.SUBMITTING, JobStatus.PROCESSING, JobStatus.DOWNLOADING,
            JobStatus.COMPLETED]
    for status in path:
        assert repo.transition(job.id, status).status is status
    done = repo.get_job(job.id)
    assert done.started_at and done.completed_at and done.stage == "done"
    assert [e.to_status for e in repo.events(job.id)][1:] == path


@pytest.mark.parametrize("target", list(JobStatus))
def test_every_illegal_move_is_refused_and_changes_nothing(repo, target):
    for current in JobStatus:
        if current in ALLOWED_FROM[target]:
            continue
        job, _ = repo.create_job(_new_job())
        repo.conn.execute("UPDATE video_jobs SET status = %s WHERE id = %s", (current.value, job.id))
        assert repo.transition(job.id, target) is None
        assert repo.get_job(job.id).status is current


def test_retried_step_updates_fields_without_a_second_event(repo):
    job, _ = repo.create_job(_new_job())
    repo.transition(job.id, JobStatus.QUEUED)
    repo.transition(job.id, JobStatus.SUBMITTING)
    repo.transition(job.id, JobStatus.PROCESSING, sync_generation_id="gen-1")
    again = repo.transition(job.id, JobStatus.PROCESSING, sync_generation_id="gen-1")
    assert again.sync_generation_id == "gen-1"
    assert [e.to_status for e in repo.events(job.id)].count(JobStatus.PROCESSING) == 1


def test_canceled_job_gets_no_later_writes(repo):
    job, _ = repo.create_job(_new_job())
    repo.transition(job.id, JobStatus.QUEUED)
    repo.transition(job.id, JobStatus.CANCELED)
    assert repo.transition(job.id, JobStatus.SUBMITTING) is None
    assert repo.transition(job.id, JobStatus.FAILED, error_code="x") is None
    row = repo.get_job(job.id)
    assert row.status is JobStatus.CANCELED and row.error_code is None


def test_fields_outside_the_allow_list_are_refused(repo):
    job, _ = repo.create_job(_new_job())
    with pytest.raises(ValueError):
        repo.transition(job.id, JobStatus.QUEUED, user_id="someone-else")


def test_racing_writers_move_a_job_exactly_once(repo, database_url):
    job, _ = repo.create_job(_new_job())
    results = []

    def cancel_or_queue(target):
        with connect(DatabaseSettings(database_url=database_url)) as conn:
            results.append(JobRepository(conn).transition(job.id, target))

    threads = [threading.Thread(target=cancel_or_queue, args=(t,))
               for t in [JobStatus.EXPIRED, JobStatus.QUEUED] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = {r.status for r in results if r is not None}
    assert len(winners) == 1 and repo.get_job(job.id).status in winners
    assert len(repo.events(job.id)) == 2  # created + exactly one move out of awaiting_upload


def test_other_users_job_is_invisible(repo):
    job, _ = repo.create_job(_new_job())
    repo.ensure_user("u2")
    assert repo.get_job(job.id, user_id="u2") is None
    assert repo.get_job(job.id, user_id="u1").id == job.id


def test_list_is_newest_first_with_a_stable_cursor_and_status_filter(repo):
    ids = []
    for i in range(5):
        job, _ = repo.create_job(_new_job())
        repo.conn.execute("UPDATE video_jobs SET created_at = created_at - %s WHERE id = %s",
                          (timedelta(minutes=10 - i), job.id))
        ids.append(job.id)
    repo.transition(ids[0], JobStatus.QUEUED)
    page1 = repo.list_jobs("u1", limit=2)
    assert [j.id for j in page1] == [ids[4], ids[3]]
    page2 = repo.list_jobs("u1", limit=2, after=(page1[-1].created_at, page1[-1].id))
    assert [j.id for j in page2] == [ids[2], ids[1]]
    assert [j.id for j in repo.list_jobs("u1", status=JobStatus.QUEUED)] == [ids[0]]
    assert repo.count_active("u1") == 1
