"""The fair queue under Sync.so's organisation limit (prosync.db.queue) and the webhook's store
(prosync.db.callbacks), against real Postgres: order, limit, liveness, concurrency, the moves back,
and the claim's access paths at scale."""

import threading
import uuid
from datetime import timedelta

import pytest

from prosync.db.callbacks import CallbackStore
from prosync.db.connection import connect
from prosync.db.queue import SlotQueue
from prosync.db.records import NewJob
from prosync.db.repository import JobRepository
from prosync.jobs.status import JobStatus
from prosync.settings import DatabaseSettings, Tier

STALE = 180


def _queued(repo: JobRepository, user: str = "u1") -> uuid.UUID:
    job, _ = repo.create_job(NewJob(
        id=uuid.uuid4(), user_id=user, is_pro_job=True,
        segments_data=[{"startTime": 0.0, "endTime": 1.0, "audioInput": {"refId": "a"}}],
        inputs={"video": {"key": "v"}, "audios": {"a": {"key": "a"}}}, options={}, model="lipsync-2"))
    assert repo.transition(job.id, JobStatus.QUEUED, execution_arn=f"arn:exec:{job.id}").queued_at
    return job.id


@pytest.fixture
def repo(db) -> JobRepository:
    r = JobRepository(db)
    for user in ("u1", "u2", "u3"):
        r.set_tier(user, Tier.PRO)
    return r


def _claim(queue: SlotQueue, job_id, limit=2):
    return queue.claim(job_id, limit=limit, stale_seconds=STALE, execution_arn=f"arn:exec:{job_id}")


def test_slots_go_first_come_first_served_and_every_end_releases_one(repo):
    queue = SlotQueue(repo.conn)
    jobs = [_queued(repo, user) for user in ("u1", "u2", "u3", "u1")]
    # the third in line may not pass the first two, even when it asks first
    third = _claim(queue, jobs[2])
    assert (third.acquired, third.position, third.in_flight) == (False, 3, 0)
    assert _claim(queue, jobs[0]).acquired and _claim(queue, jobs[1]).acquired
    assert queue.in_flight() == 2
    waiting = _claim(queue, jobs[2])
    assert (waiting.acquired, waiting.position, waiting.in_flight) == (False, 1, 2)
    assert queue.position(repo.get_job(jobs[3]), STALE) == 2

    for end in (JobStatus.PROCESSING, JobStatus.DOWNLOADING):  # downloading holds no slot
        repo.transition(jobs[0], end)
    assert _claim(queue, jobs[2]).acquired
    repo.transition(jobs[1], JobStatus.CANCELED)  # canceled by the api: released too
    took = _claim(queue, jobs[3])
    assert took.acquired and took.job.attempt == 1 and took.job.status is JobStatus.SUBMITTING
    assert queue.in_flight() == 2 and queue.queued() == 0
    # a retried claim whose answer was lost: the same attempt, no second event
    again = _claim(queue, jobs[3])
    assert again.acquired and again.again and again.job.attempt == 1
    assert [e.to_status for e in repo.events(jobs[3])].count(JobStatus.SUBMITTING) == 1


def test_another_execution_and_a_finished_job_are_refused(repo):
    queue = SlotQueue(repo.conn)
    job_id = _queued(repo)
    assert _claim(queue, job_id).acquired
    other = queue.claim(job_id, limit=2, stale_seconds=STALE, execution_arn="arn:exec:someone-else")
    assert other.refused and not other.acquired and repo.get_job(job_id).attempt == 1
    repo.transition(job_id, JobStatus.CANCELED)
    assert _claim(queue, job_id).refused
    assert queue.claim(uuid.uuid4(), limit=2, stale_seconds=STALE, execution_arn=None).job is None


def test_a_silent_job_holds_up_no_one_and_keeps_its_place(repo):
    queue = SlotQueue(repo.conn)
    dead, alive = _queued(repo), _queued(repo, "u2")
    repo.conn.execute("UPDATE video_jobs SET queue_seen_at = now() - interval '1 hour' WHERE id = %s", (dead,))
    assert _claim(queue, alive, limit=1).acquired  # the first in line never asked: passed
    repo.transition(alive, JobStatus.FAILED)
    back = _claim(queue, dead, limit=1)  # it asks again: still first
    assert back.acquired


def test_requeue_keeps_the_place_and_new_attempt_counts_retries(repo):
    queue = SlotQueue(repo.conn)
    first, second = _queued(repo), _queued(repo, "u2")
    queued_at = repo.get_job(first).queued_at
    assert _claim(queue, first).acquired
    assert queue.requeue(first, attempt=2, retry_after=30) is None  # not this attempt
    back = queue.requeue(first, attempt=1, retry_after=30)
    assert back.status is JobStatus.QUEUED and back.queued_at == queued_at and back.attempt == 1
    assert repo.events(first)[-1].detail == {"step": "requeue", "attempt": 1, "retryAfter": 30}
    assert _claim(queue, second, limit=1).position == 2  # the requeued job is still ahead
    again = _claim(queue, first, limit=1)
    assert again.acquired and again.job.attempt == 2

    repo.transition(first, JobStatus.PROCESSING, sync_generation_id="gen-a")
    retry = queue.new_attempt(first, attempt=2, max_retries=1, generation_id="gen-a", code="generation_timeout")
    assert (retry.status, retry.attempt, retry.generation_retries, retry.sync_generation_id) == (
        JobStatus.SUBMITTING, 3, 1, None)
    assert repo.events(first)[-1].detail == {"step": "retry", "attempt": 3, "generationId": "gen-a",
                                             "code": "generation_timeout"}
    repo.transition(first, JobStatus.PROCESSING, sync_generation_id="gen-b")
    assert queue.new_attempt(first, attempt=3, max_retries=1, generation_id="gen-b", code="x") is None  # none left


def test_concurrent_claims_never_exceed_the_limit(repo, database_url):
    jobs = [_queued(repo, ("u1", "u2", "u3")[i % 3]) for i in range(12)]
    results, barrier = {}, threading.Barrier(len(jobs))

    def claim(job_id):
        with connect(DatabaseSettings(database_url=database_url)) as conn:
            barrier.wait()
            results[job_id] = _claim(SlotQueue(conn), job_id, limit=3).acquired

    threads = [threading.Thread(target=claim, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(j for j, ok in results.items() if ok) == sorted(jobs[:3])  # the first three in line
    assert SlotQueue(repo.conn).in_flight() == 3


def test_the_claim_reads_partial_indexes_only_at_scale(repo):
    """Many finished jobs and hundreds queued: the slots in use and the line ahead are read from the 0004
    partial indexes alone (the line: an ordered, bounded index-only scan)."""
    conn = repo.conn
    conn.execute(
        "INSERT INTO video_jobs (id, user_id, status, stage, segments_data, inputs, model, queued_at, queue_seen_at)"
        " SELECT gen_random_uuid(), 'u1', CASE WHEN g % 500 = 0 THEN 'queued' ELSE 'completed' END, 'x', '[]',"
        " '{}', 'lipsync-2', now() - make_interval(secs => g), now() FROM generate_series(1, 200000) g")
    conn.execute("VACUUM ANALYZE video_jobs")
    job = repo.get_job(_queued(repo))

    def plan(query, params):
        return "\n".join(r["QUERY PLAN"] for r in conn.execute("EXPLAIN " + query, params).fetchall())

    from prosync.db import queue as q

    in_flight = plan("SELECT count(*) AS n FROM video_jobs WHERE status = ANY(%s)", (q._HOLDING,))
    ahead = plan(q._AHEAD, (job.queued_at, job.id, STALE, 3))
    assert "idx_video_jobs_in_flight" in in_flight and "Seq Scan" not in in_flight, in_flight
    assert "Index Only Scan using idx_video_jobs_queue" in ahead, ahead
    assert SlotQueue(conn).position(job, STALE) == 401


def test_webhook_inbox_keeps_a_final_status_over_a_later_progress_one(repo):
    store = CallbackStore(repo.conn)
    with store.locked("gen-1"):
        store.inbox_put("gen-1", "COMPLETED", {"id": "gen-1", "status": "COMPLETED"}, final=True)
        store.inbox_put("gen-1", "PROCESSING", {"id": "gen-1", "status": "PROCESSING"}, final=False)
    assert store.inbox_get("gen-1")["status"] == "COMPLETED"
    repo.conn.execute("UPDATE syncso_webhook_inbox SET received_at = now() - interval '2 days'")
    with store.locked("gen-2"):
        store.inbox_put("gen-2", "FAILED", {"id": "gen-2", "status": "FAILED"}, final=True)
    assert store.inbox_get("gen-1") is None and store.inbox_get("gen-2")  # old entries are dropped


def test_progress_never_goes_back(repo):
    job_id = _queued(repo)
    repo.transition(job_id, JobStatus.SUBMITTING)
    repo.transition(job_id, JobStatus.PROCESSING, sync_generation_id="g")
    store = CallbackStore(repo.conn)
    store.set_progress(job_id, 40)
    store.store_wait(job_id, "token", {"generationId": "g"}, 10)
    assert repo.get_job(job_id).progress_percent == 40
    store.set_progress(job_id, 70)
    job = repo.get_job(job_id)
    assert (job.progress_percent, job.task_token) == (70, "token")
    store.clear_wait(job_id, "other-token")
    assert repo.get_job(job_id).task_token == "token"
    store.clear_wait(job_id, "token")
    assert repo.get_job(job_id).task_token is None
    assert timedelta(0) <= job.updated_at - job.queued_at
