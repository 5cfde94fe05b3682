"""The workflow end to end: moto (over HTTP, in this process) runs the real ASL with the real handlers,
against this test's Postgres database and the Sync.so emulator over real HTTP.

Waits are 0 through data (`PROSYNC_WAIT_SCALE=0`); Retry back-off is skipped by the harness's no-sleep
patch of moto. `@pytest.mark.emulator(generation_seconds=..., output_url_ttl=...)` sets up the emulator.
Sync.so's webhooks reach the api Lambda behind the local gateway (`webhook_gateway`), as on AWS: submit
sends its URL as `webhookUrl`, and the emulator signs with the secret the api checks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.buckets import create_media_bucket
from devstack.emulator import EmulatorServer
from devstack.localaws import LocalAwsServer
from devstack.media_samples import make_tone, make_video
from prosync.db.repository import JobRepository

from .support import BUCKET, SEGMENTS, VIDEO_SECONDS, JobFactory


def pytest_configure(config):
    config.addinivalue_line("markers", "emulator(**kwargs): EmulatorServer options for a workflow test")


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("workflow-media")
    files = {"video": make_video(folder / "talk.mp4", VIDEO_SECONDS, fps=12, size=(96, 64))}
    for index, (ref_id, seconds, _, _) in enumerate(SEGMENTS):
        files[ref_id] = make_tone(folder / f"{ref_id}.wav", seconds, 220.0 * (index + 2), sample_rate=16000)
    return files


@pytest.fixture
def emulator(request):
    marker = request.node.get_closest_marker("emulator")
    with EmulatorServer(**(marker.kwargs if marker else {})) as server:
        yield server


@pytest.fixture(scope="module")
def moto_server():
    with LocalAwsServer(no_sleep=True) as server:
        yield server


@pytest.fixture(scope="module")
def webhook_gateway():
    """The api Lambda behind the local gateway: `POST /api/v1/webhooks/syncso` needs no JWT."""
    from devstack.gateway import DEV_AUDIENCE, DEV_ISSUER, DevKeys, Gateway, JwtAuthorizer
    from functions.api.handler import lambda_handler

    keys = DevKeys.generate()
    gateway = Gateway(lambda_handler, JwtAuthorizer(keys.jwks(), DEV_ISSUER, [DEV_AUDIENCE]))
    gateway.start()
    yield gateway
    gateway.stop()


@pytest.fixture
def local(database_url, emulator, moto_server, webhook_gateway, monkeypatch):
    """moto emptied, with the bucket (versioned, as the stack's) and the state machine; the handlers
    see this test's env."""
    from prosync.settings import api_settings

    monkeypatch.setenv("WEBHOOK_URL", f"{webhook_gateway.url}/api/v1/webhooks/syncso")
    monkeypatch.setenv("SYNC_WEBHOOK_SECRET", emulator.webhook_secret)
    api_settings.cache_clear()
    monkeypatch.setenv("PROSYNC_WAIT_SCALE", "0")
    monkeypatch.setenv("MEDIA_BUCKET", BUCKET)
    monkeypatch.setenv("SYNC_API_BASE_URL", emulator.url)
    monkeypatch.setenv("SYNC_API_KEY", emulator.api_key)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    moto_server.reset()  # also a cold start of every handler: settings and clients read this env
    create_media_bucket(moto_server.client("s3"), BUCKET)
    moto_server.state_machine_arn = moto_server.deploy()
    monkeypatch.setenv("STATE_MACHINE_ARN", moto_server.state_machine_arn)
    yield moto_server
    api_settings.cache_clear()


@pytest.fixture
def jobs(db, local, media):
    return JobFactory(JobRepository(db), local, media)
