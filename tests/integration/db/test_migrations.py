import psycopg
import pytest

from devstack.cli import main as cli_main
from prosync.db import migrate
from prosync.db.migrate import MigrationChecksumMismatch, apply_migrations, load_migrations


def test_template_database_has_every_migration_recorded_with_its_checksum(db):
    rows = db.execute("SELECT version, checksum FROM schema_migrations ORDER BY version").fetchall()
    assert [(r["version"], r["checksum"]) for r in rows] == [(m.version, m.checksum) for m in load_migrations()]


def test_second_run_applies_nothing(db):
    assert apply_migrations(db) == []


def test_cli_migrates_an_empty_database(pg_server, capsys):
    url = pg_server.create_database("cli_fresh")
    assert cli_main(["migrate", "--database-url", url]) == 0
    assert "applied: 0001, 0002, 0003, 0004" in capsys.readouterr().out
    with psycopg.connect(url) as conn:
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'video_jobs'")}
    assert {"idx_video_jobs_segments_data", "idx_video_jobs_is_pro_job", "uq_video_jobs_user_idempotency"} <= indexes
    assert cli_main(["migrate", "--database-url", url]) == 0
    assert "up to date" in capsys.readouterr().out


def test_an_applied_migration_that_changed_is_refused(db, monkeypatch):
    changed = [migrate.Migration(m.version, m.name, m.sql + "\n-- edited") for m in load_migrations()]
    monkeypatch.setattr(migrate, "load_migrations", lambda: changed)
    with pytest.raises(MigrationChecksumMismatch):
        apply_migrations(db)


def test_seed_indexes_are_gin_and_btree(db):
    defs = {r["indexname"]: r["indexdef"] for r in db.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'video_jobs'").fetchall()}
    assert "USING gin (segments_data)" in defs["idx_video_jobs_segments_data"]
    assert "USING btree (is_pro_job)" in defs["idx_video_jobs_is_pro_job"]
