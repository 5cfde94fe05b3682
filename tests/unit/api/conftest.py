import warnings

import pytest

from prosync.aws import reset_clients
from prosync.settings import api_settings


@pytest.fixture
def fake_aws(monkeypatch):
    """Fake credentials (signing is local), no endpoint override, fresh clients and settings."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    reset_clients()
    api_settings.cache_clear()
    yield
    reset_clients()
    api_settings.cache_clear()


@pytest.fixture(autouse=True)
def _quiet_empty_metrics():
    """Most requests add no metric; Powertools warns about that on every flush."""
    warnings.filterwarnings("ignore", message="No application metrics to publish")
