"""The migration runner waits, bounded and with backoff, for a database that is not up yet (a first
deploy invokes it as soon as the proxy exists, before the proxy reaches the instance)."""

import threading
import time

import psycopg
import pytest
from prosync.db import migrate
from prosync.db.migrate import connect_with_retry, load_migrations

from devstack.postgres import LocalPostgres, free_port
from functions.migrate import handler
from test_infra_migrate_handler import CONTEXT, _event


class FakeTime:
    def __init__(self):
        self.now, self.sleeps = 0.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _refusing(times: int):
    calls = []

    def open_connection():
        calls.append(1)
        if len(calls) <= times:
            raise psycopg.OperationalError("connection refused")
        return "connection"

    return open_connection, calls


def test_retries_with_doubling_delays_capped():
    fake = FakeTime()
    open_connection, calls = _refusing(6)
    got = connect_with_retry(open_connection, within_seconds=120, first_delay=1, max_delay=8,
                             sleep=fake.sleep, clock=fake.clock)
    assert got == "connection" and len(calls) == 7
    assert fake.sleeps == [1, 2, 4, 8, 8, 8]


def test_gives_up_after_the_bound_with_the_last_error():
    fake = FakeTime()
    open_connection, calls = _refusing(10**6)
    with pytest.raises(psycopg.OperationalError):
        connect_with_retry(open_connection, within_seconds=30, first_delay=1, max_delay=8,
                           sleep=fake.sleep, clock=fake.clock)
    assert sum(fake.sleeps) == pytest.approx(30)  # never sleeps past the bound
    assert fake.sleeps[-1] <= 8 and len(calls) == len(fake.sleeps) + 1


def test_other_errors_are_not_retried():
    def broken():
        raise psycopg.ProgrammingError("bad dsn option")

    with pytest.raises(psycopg.ProgrammingError):
        connect_with_retry(broken, sleep=pytest.fail)


def test_the_handler_waits_for_a_postgres_that_starts_late(monkeypatch):
    pg = LocalPostgres(port=free_port())
    monkeypatch.setenv("DATABASE_URL", pg.url())
    monkeypatch.setattr(migrate, "CONNECT_FIRST_DELAY_SECONDS", 0.2)
    starter = threading.Timer(1.5, pg.start)  # initdb + start: the server listens a few seconds later
    began = time.monotonic()
    starter.start()
    try:
        result = handler.lambda_handler(_event("Create"), CONTEXT)
        waited = time.monotonic() - began
    finally:
        starter.join()
        pg.stop()
    assert result["Data"]["Count"] == str(len(load_migrations()))
    assert waited >= 1.5


def test_the_handler_fails_the_deploy_when_the_database_never_comes(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    monkeypatch.setattr(migrate, "CONNECT_WITHIN_SECONDS", 1.0)
    monkeypatch.setattr(migrate, "CONNECT_FIRST_DELAY_SECONDS", 0.2)
    began = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        handler.lambda_handler(_event("Create"), CONTEXT)
    assert 0.9 <= time.monotonic() - began < 10
