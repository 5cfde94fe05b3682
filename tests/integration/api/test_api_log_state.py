"""A warm container serves one request after another: the log keys one request adds (`job_id`) must not
show up in the next request's log lines (`inject_lambda_context(clear_state=True)` in every handler)."""

import io
import json
import logging
from pathlib import Path

import pytest

from prosync.settings import api_settings
from tests.unit.api.apitest import call

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def api_log():
    """The api handler's JSON log lines, as its Powertools logger formats them."""
    from functions.api.handler import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    logger.removeHandler(handler)


def test_a_jobs_log_key_does_not_reach_the_next_request(api, api_log, monkeypatch):
    created = api.create()
    assert created.status == 201
    job_id = created.body["jobId"]
    # the next request, in the same container, has no job and logs a warning: the database is gone
    monkeypatch.setenv("DATABASE_URL", "postgresql://prosync@127.0.0.1:9/prosync")
    api_settings.cache_clear()
    answer = call("GET", "/sync/limits", user="pro")
    assert answer.status == 503 and answer.code == "database_unavailable"
    [warning] = [line for line in api_log() if line["message"] == "database unavailable"]
    assert "job_id" not in warning and job_id not in json.dumps(warning)
    assert warning["correlation_id"] == "req-1"  # the keys each request sets are still there


def test_every_handler_clears_its_log_state_per_invocation():
    checked = 0
    for handler in sorted((ROOT / "functions").glob("*/handler.py")):
        text = handler.read_text()
        if "aws_lambda_powertools" not in text:
            # plain `logging` (the media Lambdas, whose layers leave no room for Powertools) keeps no
            # keys between invocations; it must not grow any either
            assert "append_keys" not in text, handler
            continue
        decorators = [line for line in text.splitlines() if line.startswith("@logger.inject_lambda_context(")]
        assert decorators and all("clear_state=True" in d for d in decorators), handler
        checked += 1
    assert checked >= 7  # api, jobstore, submit, poll, download, migrate, sweeper at least
