"""Signed webhooks on terminal status, the emulated latency, and the `prosync emulator` command."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prosync.syncso import (
    GenerateRequest,
    Generation,
    GenerationStatus,
    Segment,
    SegmentAudioInput,
    SyncClient,
)
from prosync.syncso.webhooks import verify_signature

from devstack.commands import emulator as emulator_command
from devstack.emulator import EmulatorServer

REPO = Path(__file__).resolve().parents[3]


def make_request(media, webhook_url: str | None, video: str = "talk.mp4") -> GenerateRequest:
    return GenerateRequest.for_segments(
        model="lipsync-2",
        video_url=media.url(video),
        audio_urls={"intro": media.url("intro.wav")},
        segments=[Segment(start_time=0.0, end_time=1.5, audio_input=SegmentAudioInput(ref_id="intro"))],
        webhook_url=webhook_url,
    )


@pytest.mark.parametrize(("video", "status"), [("talk.mp4", "COMPLETED"), ("missing.mp4", "FAILED")])
def test_terminal_status_is_posted_with_a_valid_signature(
    emulator, client, media, webhook_receiver, video, status
):
    created = client.create_generation(make_request(media, webhook_receiver.url, video), "job-1")
    ((headers, raw),) = webhook_receiver.wait_for(1)
    assert headers["content-type"] == "application/json"
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", headers["sync-signature"])
    assert verify_signature(emulator.webhook_secret, headers["sync-signature"], raw)
    assert not verify_signature("whsec_someone_else", headers["sync-signature"], raw)
    assert not verify_signature(
        emulator.webhook_secret, headers["sync-signature"], raw.replace(b"lipsync", b"lipsynk")
    )
    assert raw == json.dumps(json.loads(raw), separators=(",", ":")).encode()  # compact, as signed
    notified = Generation.model_validate_json(raw)
    assert (notified.id, notified.status.value) == (created.id, status)
    if status == "COMPLETED":
        assert notified.output_url and httpx.get(notified.output_url).status_code == 200
    else:
        assert notified.error_code == "generation_video_missing"
    wait_for_webhook_stat(emulator, "delivered")


def wait_for_webhook_stat(emulator, name: str) -> dict:
    """The sender records the outcome after the receiver answered: wait for it."""
    deadline = time.monotonic() + 5
    while (webhooks := emulator.stats_snapshot()["webhooks"])[name] < 1:
        assert time.monotonic() < deadline, webhooks
        time.sleep(0.02)
    assert webhooks["delivered"] + webhooks["failed"] == 1
    return webhooks


def test_unreachable_webhook_is_recorded_and_does_not_block_completion(emulator, client, media, wait_done):
    created = client.create_generation(make_request(media, "http://127.0.0.1:9/hook"), "job-1")
    assert wait_done(created.id).status is GenerationStatus.COMPLETED
    webhooks = wait_for_webhook_stat(emulator, "failed")
    assert (
        webhooks["recent"][0]["generationId"] == created.id
        and "ConnectError" in webhooks["recent"][0]["error"]
    )


def test_emulated_latency_keeps_the_generation_running(tmp_path, media):
    with (
        EmulatorServer(api_key="k", generation_seconds=1.0, output_dir=tmp_path) as emu,
        SyncClient(emu.url, "k") as c,
    ):
        started = time.monotonic()
        created = c.create_generation(make_request(media, None), "job-1")
        seen = {created.status}
        while not (generation := c.get_generation(created.id)).status.terminal:
            seen.add(generation.status)
            time.sleep(0.05)
        elapsed = time.monotonic() - started
    assert generation.status is GenerationStatus.COMPLETED
    assert {GenerationStatus.PENDING, GenerationStatus.PROCESSING} <= seen
    assert 0.95 <= elapsed < 3.0


def test_register_adds_the_emulator_subcommand():
    parser = argparse.ArgumentParser()
    emulator_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "emulator",
            "--port",
            "0",
            "--api-key",
            "k",
            "--latency",
            "2.5",
            "--fault",
            "kind=rate_limit,route=create,count=3",
            "--output-url-ttl",
            "60",
            "--concurrency-limit",
            "3",
            "--concurrency-retry-after",
            "2",
        ]
    )
    assert (args.port, args.api_key, args.latency, args.output_url_ttl) == (0, "k", 2.5, 60.0)
    assert (args.concurrency_limit, args.concurrency_retry_after) == (3, 2)
    assert parser.parse_args(["emulator"]).concurrency_limit == 0  # no limit unless asked
    assert (
        args.fault[0].kind == "rate_limit" and args.fault[0].count == 3 and args.func is emulator_command.run
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["emulator", "--fault", "kind=meteor"])


def test_prosync_emulator_runs_in_the_foreground_and_stops_on_sigterm():
    command = [
        sys.executable,
        "-m",
        "devstack.cli",
        "emulator",
        "--port",
        "0",
        "--api-key",
        "cli-key",
        "--fault",
        "kind=rate_limit,route=get,count=1",
        "--concurrency-limit",
        "1",
    ]
    process = subprocess.Popen(
        command, cwd=REPO, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    try:
        banner = process.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", banner).group(0)
        first = httpx.get(f"{url}/v2/generate/x", headers={"x-api-key": "cli-key"})
        second = httpx.get(f"{url}/v2/generate/x", headers={"x-api-key": "cli-key"})
        assert (first.status_code, second.status_code) == (429, 404)
        assert httpx.get(f"{url}/_emulator/settings").json()["concurrencyLimit"] == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.stderr.close()
