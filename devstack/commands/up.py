"""`prosync up [--port 8080]`: the local stack in the foreground until Ctrl-C."""

from __future__ import annotations

import signal
import socket
import threading
from pathlib import Path

from rich.console import Console
from rich.table import Table

from devstack.localstack import LocalStack
from devstack.stackstate import STATE_FILE, TIERS, StackInfo, default_state_dir, reap_stale


def register(sub) -> None:
    parser = sub.add_parser(
        "up",
        help="run the local stack (API, web page, AWS emulation, Sync.so emulator)",
        description="Postgres + moto (S3, Step Functions, Secrets Manager) + Sync.so emulator "
        "+ the HTTP gateway serving the API and web/. Ctrl-C stops everything.",
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="gateway port (default 8080; 0 = any free port)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where devstack.json and the dev JWT key live (default $PROSYNC_HOME or ~/.prosync)",
    )
    parser.add_argument(
        "--generation-seconds",
        type=float,
        default=3.0,
        help="emulated Sync.so generation time per job (default 3)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every request, and the handlers' INFO logs"
    )
    parser.set_defaults(func=run)


def run(args) -> int:
    console = Console()
    state_dir = args.state_dir or default_state_dir()
    running = StackInfo.read(state_dir)
    if running:
        console.print(
            f"[red]a local stack already runs[/] (pid {running.pid}) at {running.url}; stop it first"
        )
        return 1
    cleaned = reap_stale(state_dir)
    if cleaned:
        console.print(cleaned)
    if args.port and not _port_free(args.port):
        console.print(f"[red]port {args.port} is in use[/]: pick another with --port (0 = any free port)")
        return 1
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    with console.status("starting Postgres, moto, the Sync.so emulator and the gateway…"):
        stack = LocalStack(
            args.port, state_dir=state_dir, generation_seconds=args.generation_seconds, verbose=args.verbose
        ).start()
    try:
        show(console, stack, state_dir)
        while not stopped.wait(0.5):
            pass
        console.print("stopping…")
    finally:
        stack.stop()
    console.print("stopped: no process or database left behind")
    return 0


def show(console: Console, stack: LocalStack, state_dir: Path) -> None:
    info = stack.info
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("web page", f"[bold]{info.url}/[/]")
    table.add_row("API", f"{info.api_url}   (Swagger UI: {info.api_url}/swagger)")
    table.add_row("live events", f"{info.ws_url}?token=JWT   (WebSocket; docs/LIVE_EVENTS.md)")
    table.add_row("AWS (moto)", f"{info.aws_endpoint_url}   bucket {info.bucket}")
    table.add_row("state machine", info.state_machine_arn)
    sync = "emulator" if stack.emulator else "real Sync.so (SYNC_API_KEY)"
    table.add_row("Sync.so", f"{info.sync_api_base_url}   ({sync})")
    table.add_row("Postgres", info.database_url)
    table.add_row("state file", str(state_dir / STATE_FILE))
    console.print("[bold green]ProSync local stack is up[/]")
    console.print(table)
    console.print("\ndev tokens (12 h; or `prosync token --tier pro`):")
    for tier in TIERS:
        console.print(f"[bold]{tier}[/]  {stack.token(tier)}", soft_wrap=True)
    console.print("\ntry: prosync submit VIDEO --audio a=FILE --segment 0-2:a --wait --output result.mp4")
    console.print("Ctrl-C stops everything.")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
