"""Shared fixtures: one real PostgreSQL cluster per test session, a migrated template database,
and a fresh database per test made from that template (fast, and no test sees another's rows)."""

import itertools
import os

import psycopg
import pytest

from devstack.postgres import LocalPostgres
from prosync.db.connection import close_all, connect
from prosync.db.migrate import apply_migrations
from prosync.settings import DatabaseSettings

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server():
    server = LocalPostgres().start()
    url = server.create_database("prosync_template")
    with psycopg.connect(url, autocommit=True) as conn:
        apply_migrations(conn)
    yield server
    close_all()
    server.stop()


@pytest.fixture
def database_url(pg_server, monkeypatch) -> str:
    """A migrated, empty database for this test; DATABASE_URL points at it."""
    url = pg_server.create_database(f"t{os.getpid()}_{next(_counter)}", template="prosync_template")
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    close_all()


@pytest.fixture
def db(database_url):
    """A connection to this test's database (autocommit, dict rows, as the Lambdas use it)."""
    with connect(DatabaseSettings(database_url=database_url)) as conn:
        yield conn
