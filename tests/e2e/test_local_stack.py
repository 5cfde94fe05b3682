"""The whole local stack over HTTP: `prosync token` and `prosync submit` against a running
`prosync up`, the same run through devstack/client.py, and what a 4xx looks like to a CLI user."""

from __future__ import annotations

import subprocess
import sys

import jwt
from rich.console import Console

from devstack.client import ApiError, ProSyncClient, build_request
from devstack.media_samples import decode_audio_pcm, media_duration, tone_profile
from devstack.progress import run_job

PROSYNC = [sys.executable, "-m", "devstack.cli"]


def prosync(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*PROSYNC, *args], env=env, capture_output=True, text=True, timeout=150, check=False
    )


def assert_tone(path, start: float, end: float, freq: float) -> None:
    pcm = decode_audio_pcm(path, 8000)
    level, found = tone_profile(pcm, 8000, start + 0.1, end - 0.1)
    assert level > 1000, f"silence in {start}-{end} s, expected {freq} Hz"
    assert abs(found - freq) < freq * 0.1, f"{found:.0f} Hz in {start}-{end} s, expected {freq} Hz"


def test_token_is_printed_alone_and_accepted(local_stack, cli_env):
    done = prosync("token", "--tier", "enterprise", "--user", "e2e-ent", env=cli_env)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert done.stdout.count("\n") == 1 and token.count(".") == 2
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == "e2e-ent"
    with ProSyncClient(local_stack.url, token) as client:
        limits = client.limits()
    assert limits["tier"] == "enterprise" and limits["limits"]["maxSegments"] == 10


def test_prosync_submit_runs_a_job_to_the_end(local_stack, cli_env, media, tmp_path):
    out = tmp_path / "result.mp4"
    done = prosync(
        "submit",
        str(media["video"]),
        "--audio",
        f"a={media['a']}",
        "--audio",
        f"b={media['b']}",
        "--segment",
        "0.5-2.5:a",
        "--segment",
        "3-5:b@0.5-2.5",
        "--output",
        str(out),
        env=cli_env,
    )
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    assert len(job_id) == 36  # the job id alone on stdout
    assert abs(media_duration(out) - media_duration(media["video"])) < 0.25
    assert_tone(out, 0.5, 2.5, 440)
    assert_tone(out, 3.0, 5.0, 660)  # the crop skipped b's leading silence


def test_client_run_with_three_formats(local_stack, media, tmp_path):
    files = {"video": media["video"], "audios": {"a": media["a"], "b": media["b"], "c": media["c"]}}
    segments = [
        {"startTime": 4.5, "endTime": 6.0, "audioInput": {"refId": "c"}},  # any order is fine
        {"startTime": 0.0, "endTime": 2.0, "audioInput": {"refId": "a"}},
        {"startTime": 2.0, "endTime": 4.0, "audioInput": {"refId": "b", "startTime": 0.5, "endTime": 2.5}},
    ]
    request = build_request(
        media["video"],
        files["audios"],
        segments,
        model="lipsync-2-pro",
        options={"sync_mode": "cut_off"},
        output_file_name="e2e_three",
    )
    with ProSyncClient(local_stack.url, local_stack.issue_token("pro")) as client:
        run = run_job(client, request, files, Console(quiet=True), output=tmp_path / "three.mp4")
        assert run.status["status"] == "completed", run.status
        history = [h["toStatus"] for h in client.status(run.job_id).get("history") or []]
    if history:
        assert history[-1] == "completed" and "processing" in history
    assert [s["startTime"] for s in run.status["segments"]] == [0.0, 2.0, 4.5]
    assert_tone(run.output, 0.0, 2.0, 440)
    assert_tone(run.output, 2.0, 4.0, 660)
    assert_tone(run.output, 4.5, 6.0, 880)


def test_validation_errors_name_the_field(local_stack, cli_env, media):
    done = prosync(
        "submit",
        str(media["video"]),
        "--audio",
        f"a={media['a']}",
        "--segment",
        "0-3:a",
        "--segment",
        "2-4:a",
        "--api",  # as against a deployed API: no state file needed
        local_stack.api_url,
        "--token",
        local_stack.issue_token("pro"),
        env={**cli_env, "PROSYNC_HOME": "/nonexistent"},
    )
    assert done.returncode == 1
    assert "422" in done.stderr and "segments.1" in done.stderr, done.stderr
    assert done.stdout == ""  # no job id: no job
    free = ProSyncClient(local_stack.url, local_stack.issue_token("free"))
    request = build_request(
        media["video"], {"a": media["a"]}, [{"startTime": 0, "endTime": 1, "audioInput": {"refId": "a"}}]
    )
    try:
        free.create_job(request)
        raise AssertionError("a free user created a job")
    except ApiError as exc:
        assert exc.status == 403 and "Pro" in exc.message
    finally:
        free.close()
