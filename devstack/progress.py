"""Running one job through the API with rich progress: a bar per upload (presigned POSTs in
parallel, as the browser does them), the job's stages while it runs, and the download.
Shared by `prosync submit` and `prosync demo`."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from devstack.client import ApiError, ProSyncClient


@dataclass
class JobRun:
    job_id: str
    status: dict = field(default_factory=dict)
    output: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> wall seconds


def transfer_bars(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=False,
    )


def upload_all(client: ProSyncClient, uploads: dict, files: dict, console: Console) -> None:
    """uploads: the create answer's `uploads`; files: {"video": path, "audios": {refId: path}}."""
    pairs = [(f"video  {Path(files['video']).name}", uploads["video"], Path(files["video"]))]
    pairs += [(f"audio  {ref}", uploads["audios"][ref], Path(path)) for ref, path in files["audios"].items()]
    with transfer_bars(console) as bars, ThreadPoolExecutor(max_workers=4) as pool:

        def one(label, target, path):
            task = bars.add_task(label, total=path.stat().st_size)
            client.upload(target, path, lambda done, total: bars.update(task, completed=done))

        for future in [pool.submit(one, *pair) for pair in pairs]:
            future.result()


def follow(client: ProSyncClient, job_id: str, console: Console, interval: float = 0.5,
           live_url: str | None = None) -> dict:
    """Follow the job until it is terminal: a bar for the progress, one line per stage reached. With
    `live_url` (the WebSocket API) every event is printed as it happens; polling when it is unavailable."""
    if live_url:
        from devstack.live_client import LiveUnavailable  # noqa: PLC0415

        try:
            return follow_live(client, job_id, console, live_url)
        except LiveUnavailable as exc:
            console.print(f"  [yellow]live events unavailable ({exc}): polling the status[/]")
    seen: list[str] = []
    started = time.monotonic()
    columns = (
        TextColumn("job  {task.fields[status]:<16}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("job", total=100, status="starting")

        def on_status(status: dict) -> None:
            if status["status"] not in seen:
                seen.append(status["status"])
                bar.console.print(
                    f"  [cyan]{status['status']:<16}[/] stage {status['stage']:<12} "
                    f"+{time.monotonic() - started:5.1f} s"
                )
            bar.update(task, completed=status.get("progress") or 0, status=status["status"])

        return client.wait(job_id, on_status, interval=interval)


def follow_live(client: ProSyncClient, job_id: str, console: Console, live_url: str) -> dict:
    """The job's events over the WebSocket API (resumed after the last id on a reconnect), then its
    final status (the result URL) from the status route."""
    from devstack.live_client import follow_job  # noqa: PLC0415

    token = client.http.headers["authorization"].removeprefix("Bearer ")
    started = time.monotonic()
    with Progress(TextColumn("job  {task.fields[status]:<16}"), BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("job", total=100, status="starting")

        def on_event(event: dict) -> None:
            bar.console.print(f"  [magenta]#{event['id']:<6}[/] {event['type']:<18} [cyan]{event['status']:<16}[/]"
                              f" stage {event['stage']:<12} {event['progress']:>3}%  +{time.monotonic() - started:5.1f} s")
            bar.update(task, completed=event["progress"], status=event["status"])

        follow_job(live_url, token, job_id, on_event)
    return client.status(job_id)


def run_job(
    client: ProSyncClient,
    request: dict,
    files: dict,
    console: Console,
    *,
    wait: bool = True,
    output: Path | None = None,
    idempotency_key: str | None = None,
    live_url: str | None = None,
) -> JobRun:
    clock = time.monotonic()
    created = client.create_job(request, idempotency_key or str(uuid.uuid4()))
    run = JobRun(job_id=str(created["jobId"]))
    console.print(
        f"job [bold]{run.job_id}[/] created ({created['status']}); uploading {1 + len(files['audios'])} files"
    )
    if created.get("uploads"):  # null: a replayed Idempotency-Key whose job was already started
        upload_all(client, created["uploads"], files, console)
    run.seconds["upload"] = time.monotonic() - clock
    clock = time.monotonic()
    started = client.start(run.job_id)
    console.print(f"started: {started.get('status', '')}")
    if not (wait or output):
        run.status = started
        return run
    run.status = follow(client, run.job_id, console, live_url=live_url)
    run.seconds["processing"] = time.monotonic() - clock
    if run.status["status"] != "completed":
        return run
    if output:
        clock = time.monotonic()
        with transfer_bars(console) as bars:
            task = bars.add_task(f"result {output.name}", total=None)
            run.output = client.download(
                run.status["resultUrl"],
                output,
                lambda done, total: bars.update(task, completed=done, total=total),
            )
        run.seconds["download"] = time.monotonic() - clock
    return run


def print_api_error(console: Console, error: ApiError) -> None:
    """A 4xx/5xx answer: its code and message, and each detail with the field it names."""
    console.print(f"[bold red]{error.status} {error.code}[/]: {error.message}")
    for detail in error.details:
        loc = detail.get("loc") or []
        where = ".".join(str(part) for part in loc if part != "body") or "(request)"
        console.print(f"  [red]•[/] [bold]{where}[/]: {detail.get('msg', '')}")
