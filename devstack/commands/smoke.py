"""`prosync smoke --api URL`: one short real job against a deployed stack (or the local one).

After `cdk deploy`, this is the proof that the whole path works: the API answers, a job is created,
its tiny files (a 3 s test-card video and a 1 s tone, made on the fly) go up by their presigned
POSTs, the state machine runs it through Sync.so, and the result is an MP4 of the video's length.
Each stage is printed with the time it was reached; the exit code is 0 only when the result checks.
Signed in with `prosync login --api URL`, or `--token JWT`; without `--api`, the running local stack.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from devstack.client import TERMINAL, ApiError, ProSyncClient, UploadError, build_request
from devstack.commands.submit import api_and_token
from devstack.media_samples import make_tone, make_video, media_duration
from devstack.progress import print_api_error, upload_all
from devstack.stackstate import TIERS

VIDEO_SECONDS, TONE_SECONDS = 3.0, 1.0
SEGMENT = {"startTime": 1.0, "endTime": 2.0, "audioInput": {"refId": "tone"}}


def register(sub) -> None:
    parser = sub.add_parser("smoke", help="run one short real job against a deployed stack and time each stage",
                            description=__doc__.split("\n\n")[1])
    parser.add_argument("--api", default=None, help="the deployed API's base URL, e.g. https://d1234.cloudfront.net/api/v1")
    parser.add_argument("--token", default=None, help="bearer JWT (default: the `prosync login --api URL` sign-in)")
    parser.add_argument("--tier", choices=TIERS, default="pro", help="local stack only: the dev user's tier")
    parser.add_argument("--model", default="lipsync-2")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    parser.set_defaults(func=run)


def run(args) -> int:
    console = Console(stderr=True)
    try:
        api, token = api_and_token(args)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    stages: list[tuple[str, float, str]] = []
    started = time.monotonic()

    def reached(stage: str, note: str = "") -> None:
        stages.append((stage, time.monotonic() - started, note))
        console.print(f"  [cyan]{stage:<18}[/] +{stages[-1][1]:6.1f} s  {note}")

    try:
        with tempfile.TemporaryDirectory(prefix="prosync-smoke-") as folder, ProSyncClient(api, token) as client:
            ok = _smoke(client, Path(folder), args, console, reached)
    except ApiError as exc:
        print_api_error(console, exc)
        ok = False
    except (UploadError, httpx.HTTPError, TimeoutError) as exc:
        console.print(f"[red]{type(exc).__name__}: {exc}[/]")
        ok = False
    console.print(_summary(api, stages, ok))
    return 0 if ok else 1


def _smoke(client: ProSyncClient, folder: Path, args, console: Console, reached) -> bool:
    client.health()
    reached("api healthy", client.base)
    video = make_video(folder / "smoke.mp4", VIDEO_SECONDS, size=(320, 240))
    tone = make_tone(folder / "tone.wav", TONE_SECONDS, 440)
    request = build_request(video, {"tone": tone}, [SEGMENT], model=args.model, output_file_name="smoke")
    created = client.create_job(request, str(uuid.uuid4()))
    job_id = str(created["jobId"])
    reached("created", job_id)
    upload_all(client, created["uploads"], {"video": video, "audios": {"tone": tone}}, console)
    reached("uploaded", "2 files")
    reached("started", client.start(job_id).get("status", ""))
    status = _follow(client, job_id, args.timeout, reached)
    if status["status"] != "completed":
        error = status.get("error") or {}
        console.print(f"[red]job {job_id} {status['status']}[/]: {error.get('code', '')} {error.get('message', '')}")
        return False
    result = client.download(status["resultUrl"], folder / "result.mp4")
    seconds = media_duration(result)
    reached("result checked", f"{result.stat().st_size} bytes, {seconds:.2f} s")
    if abs(seconds - VIDEO_SECONDS) > 0.25:
        console.print(f"[red]the result lasts {seconds:.2f} s, the video {VIDEO_SECONDS:.2f} s[/]")
        return False
    return True


def _follow(client: ProSyncClient, job_id: str, timeout: float, reached) -> dict:
    """Poll the status; every status and stage the job goes through is a line."""
    deadline, seen = time.monotonic() + timeout, set()
    while True:
        status = client.status(job_id)
        key = (status["status"], status.get("stage"))
        if key not in seen:
            seen.add(key)
            reached(status["status"], f"stage {status.get('stage')}, {status.get('progress') or 0}%")
        if status["status"] in TERMINAL:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {status['status']} after {timeout:.0f} s")
        time.sleep(1.0)


def _summary(api: str, stages: list[tuple[str, float, str]], ok: bool) -> Table:
    table = Table(title=f"smoke test of {api}: {'[green]PASS[/]' if ok else '[red]FAIL[/]'}")
    table.add_column("stage")
    table.add_column("reached at", justify="right")
    table.add_column("after the previous", justify="right")
    previous = 0.0
    for stage, at, _ in stages:
        table.add_row(stage, f"{at:.1f} s", f"{at - previous:.1f} s")
        previous = at
    return table
