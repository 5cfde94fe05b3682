"""The application role (migration 0005): the functions' login has DML on the job tables and no DDL;
only the migration runner (the owner) changes the schema. Each function's DB_USER and rds-db:connect:
tests/infra/test_infra_functions.py."""

import importlib.util
import inspect
from pathlib import Path

import psycopg
import pytest
from prosync.db.connection import connect
from prosync.db.repository import JobRepository
from prosync.settings import DatabaseSettings, Tier

from infra.database import APP_DB_USER

JOB_TABLES = ("users", "video_jobs", "job_events", "syncso_webhook_inbox")


def _as_app(database_url: str) -> psycopg.Connection:
    return connect(DatabaseSettings(database_url=database_url.replace("://postgres@", f"://{APP_DB_USER}@")))


def test_the_app_role_reads_and_writes_the_job_tables(database_url):
    with _as_app(database_url) as conn:
        assert conn.execute("SELECT current_user AS u").fetchone()["u"] == APP_DB_USER
        repo = JobRepository(conn)
        repo.ensure_user("sub-1", "a@example.com")
        assert repo.set_tier("sub-1", Tier.PRO).tier is Tier.PRO
        for table in JOB_TABLES:
            row = conn.execute(
                "SELECT has_table_privilege(current_user, %s, 'SELECT, INSERT, UPDATE, DELETE') AS ok",
                (table,),
            ).fetchone()
            assert row["ok"], table
        conn.execute("DELETE FROM users WHERE id = 'sub-1'")


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE intruder (id int)",
        "ALTER TABLE users ADD COLUMN intruder text",
        "DROP TABLE job_events",
        "TRUNCATE users",
        "CREATE INDEX intruder ON users (email)",
        "SELECT * FROM schema_migrations",
        "DELETE FROM schema_migrations",
    ],
)
def test_the_app_role_has_no_ddl_and_no_migration_table(database_url, statement):
    with _as_app(database_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_tables_of_later_migrations_get_the_same_grants(database_url):
    with psycopg.connect(database_url, autocommit=True) as owner:
        owner.execute("CREATE TABLE later_table (id bigint GENERATED ALWAYS AS IDENTITY, v text)")
    with _as_app(database_url) as conn:
        conn.execute("INSERT INTO later_table (v) VALUES ('x')")
        assert conn.execute("SELECT count(*) AS n FROM later_table").fetchone()["n"] == 1


def test_the_proxy_signs_the_app_role_in_with_iam_end_to_end(dev):
    (proxy,) = dev.resources("AWS::RDS::DBProxy").values()
    assert proxy["Properties"]["DefaultAuthScheme"] == "IAM_AUTH"
    (auth,) = proxy["Properties"]["Auth"]  # the owner keeps the generated secret
    assert auth["AuthScheme"] == "SECRETS"
    instance = dev.template["Resources"][dev.logical_id(dev.stack.database.instance)]["Properties"]
    assert instance["EnableIAMDatabaseAuthentication"] is True
    role = proxy["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    statements = dev.role_statements(role)
    (db_connect,) = [s for s in statements if s["Action"] == "rds-db:connect"]
    assert f"/{APP_DB_USER}" in str(db_connect["Resource"]) and "dbuser:" in str(db_connect["Resource"])


# The repository and queue suites (tests/integration/db), run as the application role: every query the
# functions make works without the owner's rights.
SUITES = {
    path.stem: path
    for path in (Path(__file__).parents[1] / "integration" / "db").glob("test_*.py")
    if path.stem in ("test_repository", "test_queue")
}


def _module(stem: str):
    spec = importlib.util.spec_from_file_location(f"as_app_{stem}", SUITES[stem])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODULES = {stem: _module(stem) for stem in SUITES}
CASES = [
    (stem, name)
    for stem, module in MODULES.items()
    for name, fn in vars(module).items()
    if name.startswith("test_") and callable(fn) and not hasattr(fn, "pytestmark")
    and set(inspect.signature(fn).parameters) <= {"repo", "database_url"}
]


@pytest.mark.parametrize("stem, name", CASES)
def test_the_repository_and_queue_suites_pass_as_the_app_role(stem, name, database_url, monkeypatch):
    app_url = database_url.replace("://postgres@", f"://{APP_DB_USER}@")
    monkeypatch.setenv("DATABASE_URL", app_url)
    test = getattr(MODULES[stem], name)
    with _as_app(database_url) as conn:
        repo = JobRepository(conn)
        for user in ("u1", "u2", "u3"):  # what the suites' `repo` fixtures set up
            repo.set_tier(user, Tier.PRO)
        given = {"repo": repo, "database_url": app_url}
        test(**{param: given[param] for param in inspect.signature(test).parameters})


def test_the_suites_were_found():
    assert set(SUITES) == {"test_repository", "test_queue"} and len(CASES) >= 15
