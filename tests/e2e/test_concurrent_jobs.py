"""Eight `prosync submit --wait` at once on one local stack: the stack must behave like Lambda, one
connection per in-flight invocation. Every job completes, every row is visible from a fresh
connection, and no session is left `idle in transaction` afterwards."""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg

from devstack.client import ProSyncClient

JOBS = 8


def test_eight_parallel_submits_all_complete_and_leave_no_open_transaction(local_stack, cli_env, media):
    tokens = [local_stack.issue_token("enterprise", f"e2e-burst-{i}") for i in range(JOBS)]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "devstack.cli", "submit", str(media["video"]), "--audio", f"a={media['a']}",
             "--audio", f"b={media['b']}", "--segment", "0.5-2.5:a", "--segment", "3-5:b@0.5-2.5", "--wait",
             "--token", token],
            env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for token in tokens
    ]
    outcomes = [run.communicate(timeout=240) for run in runs]
    for run, (out, err) in zip(runs, outcomes, strict=True):
        assert run.returncode == 0, err[-2000:]
    job_ids = [out.strip().splitlines()[-1] for out, _ in outcomes]
    assert len(set(job_ids)) == JOBS

    for token, job_id in zip(tokens, job_ids, strict=True):  # what the API says ...
        with ProSyncClient(local_stack.url, token) as client:
            assert client.status(job_id)["status"] == "completed"
    with psycopg.connect(local_stack.database_url, autocommit=True) as conn:  # ... the database holds
        rows = conn.execute(
            "SELECT id::text, status, result_key FROM video_jobs WHERE id = ANY(%s::uuid[])", (job_ids,)
        ).fetchall()
        assert sorted(r[0] for r in rows) == sorted(job_ids)
        assert all(status == "completed" and key for _, status, key in rows), rows
        events = conn.execute(
            "SELECT count(*) FROM job_events WHERE job_id = ANY(%s::uuid[]) AND to_status = 'completed'",
            (job_ids,),
        ).fetchone()[0]
        assert events == JOBS
        assert _sessions_idle_in_transaction(conn) == 0


def _sessions_idle_in_transaction(conn: psycopg.Connection, settle: float = 5.0) -> int:
    """Sessions of other backends left inside a transaction (a few ms in one is a query in flight)."""
    deadline = time.monotonic() + settle
    while True:
        count = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'"
        ).fetchone()[0]
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.2)
