"""A database outage in jobstore is retried by the state machine under a safe message: the
connection string, host and port of the database go to the logs, never into the job's error."""

import logging
import uuid

import pytest

from prosync.db.connection import close_all
from prosync.settings import JobStoreSettings
from prosync.workflow import jobstore
from prosync.workflow.errors import DatabaseUnavailable


def test_an_unreachable_database_is_database_unavailable_without_its_address(caplog):
    settings = JobStoreSettings(database_url="postgresql://prosync@127.0.0.1:9/prosync?connect_timeout=2")
    caplog.set_level(logging.WARNING, logger="prosync.jobstore")
    with pytest.raises(DatabaseUnavailable) as raised:
        jobstore.handle({"action": "mark_downloading", "jobId": str(uuid.uuid4()), "generationId": "g"}, settings)
    close_all()
    assert raised.value.code == "database_unavailable"
    shown = str(raised.value)
    assert "127.0.0.1" not in shown and "9" not in shown and "OperationalError" not in shown
    assert "127.0.0.1" in caplog.text  # the operator still has the detail
