"""functions/migrate/handler.py against a real Postgres database (the shared test cluster)."""

import os
from types import SimpleNamespace

import pytest
from prosync.db.migrate import load_migrations

from functions.migrate import handler

CONTEXT = SimpleNamespace(
    function_name="prosync-test-migrate",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:eu-west-1:111111111111:function:prosync-test-migrate",
    aws_request_id="req-1",
)


def _event(request_type: str, **extra) -> dict:
    return {"RequestType": request_type, "ResourceProperties": {"MigrationsHash": "x"}, **extra}


def test_create_applies_every_migration_and_update_applies_none(pg_server, monkeypatch):
    url = pg_server.create_database(f"migrate_handler_{os.getpid()}")
    monkeypatch.setenv("DATABASE_URL", url)
    created = handler.lambda_handler(_event("Create"), CONTEXT)
    versions = [m.version for m in load_migrations()]
    assert created == {
        "PhysicalResourceId": handler.PHYSICAL_ID,
        "Data": {"Applied": ",".join(versions), "Count": str(len(versions))},
    }
    updated = handler.lambda_handler(_event("Update", PhysicalResourceId=handler.PHYSICAL_ID), CONTEXT)
    assert updated["Data"] == {"Applied": "none", "Count": "0"}
    assert updated["PhysicalResourceId"] == handler.PHYSICAL_ID


def test_delete_is_a_no_op_that_never_connects(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = handler.lambda_handler(_event("Delete", PhysicalResourceId="prosync-db-migrations"), CONTEXT)
    assert result == {"PhysicalResourceId": "prosync-db-migrations"}


def test_unknown_request_type_fails(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(ValueError):
        handler.lambda_handler(_event("Poke"), CONTEXT)


def test_operator_sets_a_tier(pg_server, monkeypatch):
    url = pg_server.create_database(f"migrate_tier_{os.getpid()}", template="prosync_template")
    monkeypatch.setenv("DATABASE_URL", url)
    event = {"action": "set_tier", "userId": "sub-123", "tier": "pro", "email": "a@example.com"}
    assert handler.lambda_handler(event, CONTEXT) == {
        "userId": "sub-123",
        "email": "a@example.com",
        "tier": "pro",
    }
    again = handler.lambda_handler({**event, "tier": "enterprise", "email": None}, CONTEXT)
    assert again["tier"] == "enterprise"
    with pytest.raises(ValueError):
        handler.lambda_handler({**event, "tier": "platinum"}, CONTEXT)


def test_anything_else_is_refused(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(ValueError):
        handler.lambda_handler({"action": "drop_everything"}, CONTEXT)
