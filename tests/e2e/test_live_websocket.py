"""Live progress over the local WebSocket API: every transition in order without gaps, a reconnect
that gets the missed events once, and nothing of one user's job on another user's socket."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from websockets.exceptions import InvalidStatus

from devstack.client import ProSyncClient
from devstack.live_client import LiveUnavailable, follow_job, open_socket
from prosync.db.connection import get_connection
from prosync.db.repository import JobRepository
from prosync.settings import DatabaseSettings
from tests.e2e.live_support import TERMINAL, Reader, live_stack, sample_media, start_job


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("live-home")


@pytest.fixture(scope="module")
def stack(home):
    with live_stack(state_dir=home) as running:
        yield running


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return sample_media(tmp_path_factory.mktemp("live-media"))


def table_events(job_id: str) -> list[int]:
    return [e.id for e in JobRepository(get_connection(DatabaseSettings())).events(job_id)]


def test_a_job_stream_has_every_transition_in_order(stack, files):
    token = stack.token("pro", "live-a")
    everything = Reader(stack.live.ws_url, token)  # all of live-a's jobs, from now
    with ProSyncClient(stack.url, token) as client:
        job_id = start_job(client, files)
        seen: list[dict] = []
        follow_job(stack.live.ws_url, token, job_id, seen.append, deadline=120)
    statuses = [e["status"] for e in seen if e["type"] != "job.progress"]
    assert statuses[0] == "awaiting_upload" and statuses[-1] == "completed", statuses
    for wanted in ("queued", "submitting", "processing", "downloading"):
        assert wanted in statuses
    ids = [e["id"] for e in seen]
    assert ids == sorted(set(ids)) and ids == table_events(job_id)  # every row, in order, once
    assert [e["progress"] for e in seen] == sorted(e["progress"] for e in seen)
    everything.wait_for(lambda e: e["jobId"] == job_id and e["status"] in TERMINAL)
    mine = [e["id"] for e in everything.events if e["jobId"] == job_id]
    assert mine == [i for i in ids if i > everything.ack["after"]]
    everything.close()


def test_a_reconnect_gets_the_missed_events_once(stack, files):
    token = stack.token("pro", "live-b")
    with ProSyncClient(stack.url, token) as client:
        job_id = start_job(client, files)
        first = Reader(stack.live.ws_url, token, job_id)
        first.wait_for(lambda e: e["status"] == "queued")
        first.close()  # drops mid-job
        last = first.events[-1]["id"]
        second = Reader(stack.live.ws_url, token, job_id, after=last)
        second.wait_for(lambda e: e["status"] in TERMINAL, timeout=120)
        second.close()
    got = [e["id"] for e in first.events] + [e["id"] for e in second.events]
    assert got == table_events(job_id)  # nothing lost, nothing twice


def test_another_users_socket_gets_nothing(stack, files):
    owner, other = stack.token("pro", "live-c"), stack.token("pro", "live-d")
    spy = Reader(stack.live.ws_url, other)  # all of live-d's jobs
    with ProSyncClient(stack.url, owner) as client:
        job_id = start_job(client, files)
        with pytest.raises(LiveUnavailable, match="not_found"):  # live-c's job, asked for by id
            Reader(stack.live.ws_url, other, job_id)
        follow_job(stack.live.ws_url, owner, job_id, lambda e: None, deadline=120)
    assert spy.events == []
    spy.close()


def test_connect_needs_a_valid_token(stack):
    with pytest.raises(LiveUnavailable) as refused:
        open_socket(stack.live.ws_url, "not-a-token")
    assert isinstance(refused.value.__cause__, InvalidStatus)
    assert refused.value.__cause__.response.status_code == 401


def submit(home, files, **env) -> subprocess.CompletedProcess:
    audios = [arg for ref, path in files["audios"].items() for arg in ("--audio", f"{ref}={path}")]
    segments = ["--segment", "0-1.5:a", "--segment", "2-3.5:b", "--segment", "4-5.5:c"]
    return subprocess.run(
        [sys.executable, "-m", "devstack.cli", "submit", str(files["video"]), *audios, *segments, "--wait"],
        env={**os.environ, "PROSYNC_HOME": str(home), "COLUMNS": "200", **env},
        capture_output=True, text=True, timeout=180, check=False)


def test_submit_wait_follows_the_socket_and_falls_back_to_polling(stack, home, files):
    live = submit(home, files)
    assert live.returncode == 0, live.stderr
    assert "job.completed" in live.stderr and "job.queued" in live.stderr  # the events, as they came
    polled = submit(home, files, PROSYNC_WS_URL="ws://127.0.0.1:9/nothing")
    assert polled.returncode == 0, polled.stderr
    assert "live events unavailable" in polled.stderr and "job.completed" not in polled.stderr
