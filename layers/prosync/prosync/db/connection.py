"""One psycopg 3 connection per Lambda container, reused across warm invocations.

`prepare_threshold=None`: RDS Proxy pins a session that uses prepared statements, so none are made.
On AWS the password is an RDS IAM auth token (made locally by boto3, no Secrets Manager call) and
TLS is verify-full. A dropped connection is replaced once, on the next `get_connection()`; one that
sat idle longer than `db_idle_check_seconds` is pinged first (one `SELECT 1`), because RDS Proxy
closes idle client connections and psycopg only notices on the next query (a request's first).
"""

import threading
import time

import psycopg
from psycopg.rows import dict_row

from prosync.settings import DatabaseSettings

_lock = threading.Lock()
_shared: dict[str, psycopg.Connection] = {}
_last_used: dict[str, float] = {}


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


def get_connection(settings: DatabaseSettings) -> psycopg.Connection:
    """The container's connection, reconnecting when the previous one was closed or broken."""
    key = settings.database_url or f"{settings.db_host}:{settings.db_port}/{settings.db_name}"
    with _lock:
        conn = _shared.get(key)
        now = time.monotonic()
        if _usable(conn) and now - _last_used.get(key, now) >= settings.db_idle_check_seconds:
            try:
                conn.execute("SELECT 1")
            except psycopg.OperationalError:
                conn.close()
        if not _usable(conn):
            conn = _shared[key] = connect(settings)
        _last_used[key] = now
        return conn


def _usable(conn: psycopg.Connection | None) -> bool:
    return conn is not None and not conn.closed and not conn.broken


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
        for conn in _shared.values():
            conn.close()
        _shared.clear()
        _last_used.clear()
