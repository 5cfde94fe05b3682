"""`prosync submit VIDEO --audio REF=FILE ... --segment START-END:REF[@CROPSTART-CROPEND] ...`

Creates the job, uploads every file by its presigned POST, starts it, and with --wait (or --output)
follows it to the end and downloads the result. Works against the local stack (API URL and a dev
token come from its state file) or any deployed API (--api URL, signed in with `prosync login --api URL`
or with --token JWT; or $PROSYNC_API_URL and $PROSYNC_TOKEN)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
from rich.console import Console

from devstack.client import ApiError, ProSyncClient, UploadError, build_request
from devstack.progress import print_api_error, run_job
from devstack.stackstate import TIERS, StackInfo, default_state_dir

_NUMBER = r"(\d+(?:\.\d+)?)"
SEGMENT = re.compile(rf"^{_NUMBER}-{_NUMBER}:([A-Za-z0-9_-]+)(?:@{_NUMBER}-{_NUMBER})?$")


def parse_segment(text: str) -> dict:
    """`0-2.5:intro` or `4-6:outro@0.5-2.5` -> the API's segment object."""
    found = SEGMENT.match(text.strip())
    if not found:
        raise ValueError(
            f"bad segment {text!r}: use START-END:REF or START-END:REF@CROPSTART-CROPEND (seconds)"
        )
    start, end, ref, crop_start, crop_end = found.groups()
    audio = {"refId": ref}
    if crop_start is not None:
        audio.update(startTime=float(crop_start), endTime=float(crop_end))
    return {"startTime": float(start), "endTime": float(end), "audioInput": audio}


def parse_audio(text: str) -> tuple[str, Path]:
    ref, sep, path = text.partition("=")
    if not sep or not ref or not path:
        raise ValueError(f"bad audio {text!r}: use REF=FILE")
    return ref, Path(path)


def register(sub) -> None:
    parser = sub.add_parser(
        "submit",
        help="submit a lip-sync job (local stack or deployed API)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    parser.add_argument("video", type=Path)
    parser.add_argument("--audio", action="append", default=[], metavar="REF=FILE", required=True)
    parser.add_argument(
        "--segment", action="append", default=[], metavar="START-END:REF[@CS-CE]", required=True
    )
    parser.add_argument("--model", default=None, help="lipsync-2 (default), lipsync-2-pro, ...")
    parser.add_argument("--sync-mode", default=None, help="bounce, loop, cut_off, silence, remap")
    parser.add_argument("--temperature", type=float, default=None)
    parser.add_argument("--output-name", default=None, help="outputFileName of the result")
    parser.add_argument(
        "--api",
        default=os.environ.get("PROSYNC_API_URL"),
        help="API base URL (default: the running local stack)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("PROSYNC_TOKEN"),
        help="bearer JWT (default: the `prosync login` sign-in of --api, else a local stack's dev token)",
    )
    parser.add_argument("--tier", choices=TIERS, default="pro", help="local stack only: the dev user's tier")
    parser.add_argument("--idempotency-key", default=None)
    parser.add_argument("--wait", action="store_true", help="follow the job to the end")
    parser.add_argument("--output", type=Path, default=None, help="download the result here (implies --wait)")
    parser.set_defaults(func=run)


def run(args) -> int:
    console = Console(stderr=True)
    try:
        audios = dict(parse_audio(a) for a in args.audio)
        segments = [parse_segment(s) for s in args.segment]
        for path in [args.video, *audios.values()]:
            if not path.is_file():
                raise ValueError(f"{path}: no such file")
        options = {
            k: v
            for k, v in (("sync_mode", args.sync_mode), ("temperature", args.temperature))
            if v is not None
        }
        request = build_request(
            args.video, audios, segments, model=args.model, options=options, output_file_name=args.output_name
        )
        api, token = api_and_token(args)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    try:
        with ProSyncClient(api, token) as client:
            run = run_job(
                client,
                request,
                {"video": args.video, "audios": audios},
                console,
                wait=args.wait,
                output=args.output,
                idempotency_key=args.idempotency_key,
                live_url=_live_url(args, api),
            )
    except ApiError as exc:
        print_api_error(console, exc)
        return 1
    except (UploadError, httpx.HTTPError, TimeoutError) as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    status = run.status.get("status")
    if status in (None, "completed") or not (args.wait or args.output):
        if run.output:
            console.print(f"[green]done[/]: {run.output} ({run.output.stat().st_size} bytes)")
        print(run.job_id)
        return 0
    error = run.status.get("error") or {}
    console.print(f"[red]job {run.job_id} {status}[/]: {error.get('code', '')} {error.get('message', '')}")
    return 1


def _live_url(args, api: str) -> str | None:
    """The WebSocket API that `--wait` follows the job on: $PROSYNC_WS_URL, or the local stack's
    (when following the local stack's API). None: poll the status."""
    if os.environ.get("PROSYNC_WS_URL"):
        return os.environ["PROSYNC_WS_URL"]
    info = StackInfo.read(default_state_dir())
    return info.ws_url if info is not None and api.rstrip("/").startswith(info.url) and info.ws_url else None


def api_and_token(args) -> tuple[str, str]:
    """The API to call and the bearer token: --api/--token, a `prosync login` sign-in, or the local stack."""
    if args.api and args.token:
        return args.api, args.token
    if args.api:  # signed in with `prosync login --api URL`: its access token, refreshed when needed
        from devstack import signin  # noqa: PLC0415 (Authlib only for a deployed API)

        try:
            token = signin.access_token(args.api)
        except signin.SignInError as exc:
            raise ValueError(str(exc)) from exc
        if token:
            return args.api, token
    info = StackInfo.read(default_state_dir())
    if info is None:
        raise ValueError("no local stack is running (start `prosync up`), or give --api URL and sign in "
                         "with `prosync login --api URL` (or give --token JWT)")
    return args.api or info.url, args.token or info.issue_token(args.tier)
