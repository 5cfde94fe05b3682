"""Database connections: one per in-flight invocation, kept warm between invocations.

A handler decorated with `per_invocation` leases a connection the first time its invocation asks
for one (`get_connection`) and gives it back when the invocation ends: rolled back if a transaction
was left open, closed if broken, otherwise kept idle for the next invocation. On Lambda one
container runs one invocation at a time, so this is the classic "one connection per container,
reused while warm". In the local stack, where moto and the gateway run invocations on several
threads at once, each in-flight invocation has its own connection, exactly as separate Lambda
containers would: no two threads ever share a psycopg connection or its transaction.

Outside a `per_invocation` scope (tests, CLI scripts) each thread gets a connection of its own.

`prepare_threshold=None`: RDS Proxy pins a session that uses prepared statements, so none are made.
On AWS the password is an RDS IAM auth token (made locally by boto3, no Secrets Manager call) and
TLS is verify-full. A dropped connection is replaced on the next `get_connection()`; an idle one
that sat longer than `db_idle_check_seconds` is pinged first (one `SELECT 1`), because RDS Proxy
closes idle client connections and psycopg only notices on the next query (a request's first).
"""

import functools
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from prosync.settings import DatabaseSettings

_lock = threading.Lock()
_idle: dict[str, list[tuple[psycopg.Connection, float]]] = {}  # key -> (connection, last given back)
_every: set[psycopg.Connection] = set()  # all open connections made here (close_all closes them)
_scope: ContextVar[dict[str, psycopg.Connection] | None] = ContextVar("prosync_db_leases", default=None)
_per_thread = threading.local()


def connect(settings: DatabaseSettings) -> psycopg.Connection:
    common = {"autocommit": True, "prepare_threshold": None, "row_factory": dict_row, "connect_timeout": 5}
    if settings.database_url:
        return psycopg.connect(settings.database_url, **common)
    if not settings.db_host:
        raise RuntimeError("set DATABASE_URL, or DB_HOST (and DB_IAM_AUTH) for RDS Proxy")
    password = None
    if settings.db_iam_auth:
        from prosync.aws import client

        password = client("rds").generate_db_auth_token(
            DBHostname=settings.db_host, Port=settings.db_port, DBUsername=settings.db_user
        )
    return psycopg.connect(
        host=settings.db_host,
        port=settings.db_port,
        dbname=settings.db_name,
        user=settings.db_user,
        password=password,
        sslmode="verify-full" if settings.db_iam_auth else "prefer",
        sslrootcert=settings.db_sslrootcert if settings.db_iam_auth else None,
        **common,
    )


def per_invocation(handler):
    """Decorate a Lambda handler: its invocation leases connections and gives them back at the end."""

    @functools.wraps(handler)
    def wrapper(event, context):
        with invocation_scope():
            return handler(event, context)

    return wrapper


@contextmanager
def invocation_scope() -> Iterator[None]:
    leases: dict[str, psycopg.Connection] = {}
    token = _scope.set(leases)
    try:
        yield
    finally:
        _scope.reset(token)
        for key, conn in leases.items():
            _give_back(key, conn)


def get_connection(settings: DatabaseSettings) -> psycopg.Connection:
    """This invocation's connection (this thread's outside an invocation), replaced when it broke."""
    leases = _scope.get()
    if leases is None:
        leases = _per_thread.__dict__.setdefault("leases", {})
    key = _key(settings)
    conn = leases.get(key)
    if not _usable(conn):
        _forget(conn)
        conn = leases[key] = _lease(settings, key)
    return conn


def run_with_reconnect(settings: DatabaseSettings, work):
    """Run `work(conn)`; when the connection dropped under it, reconnect once and run it again.

    Only safe for work that is one transaction (it either happened entirely or not at all).
    """
    conn = get_connection(settings)
    try:
        return work(conn)
    except psycopg.OperationalError:
        if not (conn.closed or conn.broken):
            raise
        return work(get_connection(settings))


def close_all() -> None:
    with _lock:
        every = list(_every)
        _every.clear()
        _idle.clear()
    for conn in every:
        conn.close()
    _per_thread.__dict__.pop("leases", None)


def _key(settings: DatabaseSettings) -> str:
    return settings.database_url or f"{settings.db_host}:{settings.db_port}/{settings.db_name}"


def _lease(settings: DatabaseSettings, key: str) -> psycopg.Connection:
    """The most recently used idle connection (pinged when idle too long), or a new one."""
    while True:
        with _lock:
            idle = _idle.get(key) or []
            conn, since = idle.pop() if idle else (None, 0.0)
        if conn is None:
            break
        if time.monotonic() - since < settings.db_idle_check_seconds:
            return conn
        try:
            conn.execute("SELECT 1")
            return conn
        except psycopg.Error:
            _forget(conn)
    conn = connect(settings)
    with _lock:
        _every.add(conn)
    return conn


def _give_back(key: str, conn: psycopg.Connection) -> None:
    """Keep `conn` for a later invocation: never with a transaction open, never when broken."""
    if _usable(conn) and conn.info.transaction_status != TransactionStatus.IDLE:
        try:
            conn.rollback()
        except psycopg.Error:
            _forget(conn)
            return
    if not _usable(conn) or conn.info.transaction_status != TransactionStatus.IDLE:
        _forget(conn)
        return
    with _lock:
        _idle.setdefault(key, []).append((conn, time.monotonic()))


def _forget(conn: psycopg.Connection | None) -> None:
    if conn is None:
        return
    with _lock:
        _every.discard(conn)
    conn.close()


def _usable(conn: psycopg.Connection | None) -> bool:
    return conn is not None and not conn.closed and not conn.broken
