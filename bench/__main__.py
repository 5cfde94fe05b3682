"""`python -m bench [--quick] [--only NAME ...] [--out FILE]`: run the benches, print, write JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.common import BenchResult, Skip, machine

# name -> module; the order is the numbering (1..6), then burst (7).
BENCHES = {
    "api": "bench.api_latency",
    "coldstart": "bench.cold_start",
    "download": "bench.download_stream",
    "workflow": "bench.workflow_efficiency",
    "db": "bench.db_scale",
    "e2e": "bench.end_to_end",
    "burst": "bench.burst",
    "textremoval": "bench.text_removal",
    "live": "bench.live_events",  # issue 14: job event -> WebSocket / webhook vs the status poll
    "revision": "bench.revision",  # issue 17: one-segment revision vs a full re-run (Sync.so seconds, wall)
    "page": "bench.page_load",  # issue 13: the editor page's time to interactive (Chromium, local stack)
    "soak": "bench.soak",  # issue 15: 300 jobs under random emulator faults (minutes: only with --only soak)
}
OPT_IN = {"soak"}  # not in a default run (too long): `--only NAME`
DEFAULT_OUT = Path(__file__).parent / "results" / "latest.json"
console = Console(width=None if sys.stdout.isatty() else 160)


def run_one(name: str, quick: bool) -> BenchResult:
    started = time.perf_counter()
    try:
        module = importlib.import_module(BENCHES[name])
        result = module.run(quick=quick)
    except Skip as exc:
        result = BenchResult(name=name, title=name, skipped=str(exc))
    except Exception as exc:  # a broken bench (or product) is a FAIL with its error, never a crash of the run
        result = BenchResult(name=name, title=name, passed=False, notes=[f"error: {exc!r}"],
                             detail={"traceback": traceback.format_exc()})
        console.print(f"[red]{name} raised:[/red]\n{traceback.format_exc()}")
    result.name = name
    result.seconds = round(time.perf_counter() - started, 1)
    return result


def print_result(result: BenchResult) -> None:
    colour = {"PASS": "green", "FAIL": "red", "SKIP": "yellow"}[result.verdict]
    table = Table(title=f"{result.name}: {result.title}", title_justify="left", show_lines=False)
    table.add_column("figure")
    table.add_column("value", justify="right", overflow="fold")
    table.add_column("unit")
    table.add_column("note", overflow="fold")
    for fig in result.figures:
        value = f"{fig.value:,.3f}" if isinstance(fig.value, float) else (
            f"{fig.value:,}" if isinstance(fig.value, int) else str(fig.value))
        table.add_row(fig.name, value, fig.unit, fig.note)
    if result.figures:
        console.print(table)
    for note in result.notes:
        console.print(f"  [dim]{note}[/dim]")
    if result.skipped:
        console.print(f"  [yellow]SKIP[/yellow] {result.skipped}")
    else:
        console.print(f"  bar: {result.bar}  ->  [{colour}]{result.verdict}[/{colour}]  ({result.seconds} s)\n")


def print_summary(results: list[BenchResult], total: float) -> None:
    table = Table(title=f"ProSync benches ({total:.0f} s)", title_justify="left")
    for col in ("bench", "bar", "verdict", "s"):
        table.add_column(col, overflow="fold")
    for r in results:
        colour = {"PASS": "green", "FAIL": "red", "SKIP": "yellow"}[r.verdict]
        table.add_row(r.name, r.skipped or r.bar, f"[{colour}]{r.verdict}[/{colour}]", str(r.seconds))
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes, few samples")
    parser.add_argument("--only", action="append", choices=sorted(BENCHES), metavar="NAME",
                        help=f"run only this bench (repeatable): {', '.join(BENCHES)} "
                             f"({', '.join(sorted(OPT_IN))} only so)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    names = args.only or [name for name in BENCHES if name not in OPT_IN]
    info = machine()
    console.print(f"[bold]ProSync bench[/bold] {'(quick) ' if args.quick else ''}on {info['cpu_model']}, "
                  f"{info['cores']} cores, load {info['loadavg_at_start']}")
    started = time.perf_counter()
    results = []
    for name in names:
        console.rule(name)
        results.append(run_one(name, args.quick))
        print_result(results[-1])
    total = time.perf_counter() - started
    print_summary(results, total)
    report = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "quick": args.quick,
              "machine": info, "total_seconds": round(total, 1), "results": [r.to_json() for r in results]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    console.print(f"wrote {args.out}")
    return 1 if any(r.verdict == "FAIL" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
