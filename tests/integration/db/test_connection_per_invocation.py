"""`per_invocation`: each in-flight invocation has its own connection, reused while warm, never
handed on with a transaction open."""

from __future__ import annotations

import threading

from prosync.db.connection import get_connection, per_invocation
from prosync.settings import DatabaseSettings


def test_invocations_in_flight_at_once_never_share_a_connection(database_url):
    settings = DatabaseSettings(database_url=database_url)
    inside, release = threading.Barrier(5), threading.Event()  # four invocations and this test
    pids: list[int] = []

    @per_invocation
    def handler(event, context):
        conn = get_connection(settings)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock_shared(1)")
            pids.append(conn.info.backend_pid)
            inside.wait(timeout=10)  # all four hold their transaction at the same time
            release.wait(timeout=10)
        return conn.info.backend_pid

    threads = [threading.Thread(target=handler, args=({}, None)) for _ in range(4)]
    for thread in threads:
        thread.start()
    inside.wait(timeout=10)
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(set(pids)) == 4


def test_a_warm_invocation_reuses_the_last_connection(database_url):
    settings = DatabaseSettings(database_url=database_url)
    handler = per_invocation(lambda event, context: get_connection(settings).info.backend_pid)
    assert handler({}, None) == handler({}, None)


def test_a_transaction_left_open_is_rolled_back_before_the_next_invocation(database_url, db):
    settings = DatabaseSettings(database_url=database_url)
    db.execute("CREATE TABLE notes (body text)")

    @per_invocation
    def leaves_a_transaction_open(event, context):
        conn = get_connection(settings)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO notes VALUES ('half-written')")
        return conn.info.backend_pid

    pid = leaves_a_transaction_open({}, None)
    idle_in_transaction = db.execute(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = %s AND state LIKE 'idle in transaction%%'",
        (pid,)).fetchone()["n"]
    assert idle_in_transaction == 0
    assert db.execute("SELECT count(*) AS n FROM notes").fetchone()["n"] == 0

    @per_invocation
    def writes(event, context):
        conn = get_connection(settings)
        conn.execute("INSERT INTO notes VALUES ('kept')")
        return conn.info.backend_pid

    assert writes({}, None) == pid  # the same connection, clean again
    assert [r["body"] for r in db.execute("SELECT body FROM notes")] == ["kept"]


def test_a_failed_invocation_gives_its_connection_back_clean(database_url, db):
    settings = DatabaseSettings(database_url=database_url)

    @per_invocation
    def fails(event, context):
        conn = get_connection(settings)
        conn.execute("BEGIN")
        conn.execute("SELECT 1/0")

    try:
        fails({}, None)
        raise AssertionError("division by zero was not raised")
    except Exception as exc:  # psycopg's DivisionByZero
        assert "division by zero" in str(exc)
    handler = per_invocation(lambda event, context: get_connection(settings).execute("SELECT 7 AS n").fetchone())
    assert handler({}, None)["n"] == 7
