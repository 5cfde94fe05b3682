"""The one migration runner: numbered SQL files, applied in order, recorded with their checksums.

Used by `prosync migrate`, by the tests and by the CloudFormation custom resource on deploy.
An applied migration whose file changed afterwards is an error, never silently re-run.
"""

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg.rows import tuple_row

_LOCK_KEY = 727_001  # pg_advisory_xact_lock id: one runner at a time (deploys, parallel tests)
# A first deploy invokes the runner as soon as CloudFormation has the proxy and the instance; the proxy
# may still answer "no targets available" (or refuse) for a minute or two. The migrate function's
# timeout is 300 s: wait at most CONNECT_WITHIN_SECONDS, leaving the rest for the migrations.
CONNECT_WITHIN_SECONDS = 180.0
CONNECT_FIRST_DELAY_SECONDS = 1.0
CONNECT_MAX_DELAY_SECONDS = 15.0
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationChecksumMismatch(RuntimeError):
    pass


def load_migrations() -> list[Migration]:
    folder = resources.files("prosync.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, name = entry.name.removesuffix(".sql").partition("_")
            found.append(Migration(version=version, name=name, sql=entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def connect_with_retry(
    open_connection: Callable[[], psycopg.Connection],
    *,
    within_seconds: float | None = None,
    first_delay: float | None = None,
    max_delay: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> psycopg.Connection:
    """`open_connection()` until it succeeds, retrying `psycopg.OperationalError` (refused, timed out,
    the proxy without a target yet) with doubling delays up to `max_delay`, for at most `within_seconds`
    in all; then the last error is raised. Each attempt calls `open_connection` afresh (a new IAM token).
    Unset bounds are the module's CONNECT_* values."""
    deadline = clock() + (CONNECT_WITHIN_SECONDS if within_seconds is None else within_seconds)
    max_delay = CONNECT_MAX_DELAY_SECONDS if max_delay is None else max_delay
    delay, attempt = (CONNECT_FIRST_DELAY_SECONDS if first_delay is None else first_delay), 1
    while True:
        try:
            return open_connection()
        except psycopg.OperationalError as exc:
            left = deadline - clock()
            if left <= 0:
                raise
            wait = min(delay, max_delay, left)
            logger.warning("database not reachable yet (attempt %d, retry in %.1f s): %s", attempt, wait, exc)
            sleep(wait)
            delay, attempt = delay * 2, attempt + 1


def migrations_digest() -> str:
    """One hash of every migration file: the custom resource re-runs when it changes."""
    return hashlib.sha256("".join(m.checksum for m in load_migrations()).encode()).hexdigest()


def apply_migrations(conn: psycopg.Connection) -> list[str]:
    """Apply the pending migrations, each in its own transaction. Returns the versions applied."""
    applied_now = []
    cur = conn.cursor(row_factory=tuple_row)  # whatever row factory the caller's connection has
    with conn.transaction():
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
    for migration in load_migrations():
        with conn.transaction():
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            row = cur.execute(
                "SELECT checksum FROM schema_migrations WHERE version = %s", (migration.version,)
            ).fetchone()
            if row is not None:
                if row[0] != migration.checksum:
                    raise MigrationChecksumMismatch(
                        f"migration {migration.version}_{migration.name} changed after it was applied"
                    )
                continue
            cur.execute(migration.sql)
            cur.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            applied_now.append(migration.version)
    return applied_now
