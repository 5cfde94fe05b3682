"""`prosync emulator`: run the Sync.so emulator in the foreground."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from devstack.emulator import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, EmulatorServer, Fault


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="run the Sync.so v2 API emulator",
        description="Serve Sync.so's v2 generation API locally: real MP4 output, signed webhooks, faults.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SYNC_EMULATOR_PORT", "8790")))
    parser.add_argument(
        "--api-key",
        default=os.environ.get("SYNC_EMULATOR_API_KEY", DEFAULT_API_KEY),
        help="the x-api-key clients must send",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="emulated generation time per job (default 0)",
    )
    parser.add_argument(
        "--webhook-secret", default=os.environ.get("SYNC_WEBHOOK_SECRET", DEFAULT_WEBHOOK_SECRET)
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_fault,
        metavar="SPEC",
        help="e.g. kind=rate_limit,route=create,count=3 ; kind=http_error,status=503,count=always ; "
        "kind=delay,route=get,seconds=2 ; kind=generation_failure,count=2,error_code=generation_timeout ; "
        "kind=lost_create_answer,mode=504 ; kind=unknown_status,route=get,count=3 ; "
        "kind=webhook,mode=duplicate,seconds=1 ; kind=broken_output,after_bytes=1000 (repeatable; "
        "all kinds in devstack/emulator/faults.py)",
    )
    parser.add_argument(
        "--output-url-ttl",
        type=float,
        default=None,
        metavar="SECONDS",
        help="outputUrl lifetime; expired URLs answer 403 (default: never expire)",
    )
    parser.add_argument(
        "--output-dir", default=None, help="where rendered outputs are kept (default: a temp dir)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=2, help="generations the emulator renders at once (its threads)"
    )
    parser.add_argument(
        "--concurrency-limit",
        type=int,
        default=int(os.environ.get("SYNC_EMULATOR_CONCURRENCY_LIMIT", "0")),
        metavar="N",
        help="the organisation's limit of generations PENDING/PROCESSING; over it create answers 429 "
        "concurrency_limit_reached (default 0 = no limit; Sync.so plans: 1, 3, 6, 15)",
    )
    parser.add_argument(
        "--concurrency-retry-after",
        type=int,
        default=5,
        metavar="SECONDS",
        help="Retry-After of that 429 (default 5)",
    )
    parser.add_argument(
        "--public-url", default=None, help="base URL put in outputUrl (default: the bound address)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    server = EmulatorServer(
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        generation_seconds=args.latency,
        webhook_secret=args.webhook_secret,
        faults=args.fault,
        output_dir=args.output_dir,
        output_url_ttl=args.output_url_ttl,
        concurrency=args.concurrency,
        public_url=args.public_url,
        concurrency_limit=args.concurrency_limit,
        concurrency_retry_after=args.concurrency_retry_after,
    )
    stopped = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    print(
        f"Sync.so emulator on {server.url} (x-api-key: {args.api_key}, latency {args.latency}s, "
        f"{len(args.fault)} fault(s), concurrency limit {args.concurrency_limit or 'none'}); control: "
        f"{server.url}/_emulator/faults, /_emulator/stats, /_emulator/settings",
        file=sys.stderr,
        flush=True,
    )
    while not stopped.wait(0.5):
        pass
    server.stop()
    return 0


def _fault(spec: str) -> Fault:
    try:
        return Fault.parse(spec)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
