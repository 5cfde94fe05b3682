"""What every bench shares: the result record, percentiles, timers, machine facts."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


@dataclass
class Figure:
    name: str
    value: float | int | str
    unit: str = ""
    note: str = ""


@dataclass
class BenchResult:
    name: str
    title: str
    bar: str = ""
    passed: bool | None = None  # None: skipped (see `skipped`)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str = ""
    seconds: float = 0.0
    detail: dict = field(default_factory=dict)  # raw numbers, plans, ... (JSON only)

    def add(self, name: str, value, unit: str = "", note: str = "") -> None:
        if isinstance(value, float):
            value = round(value, 4)
        self.figures.append(Figure(name, value, unit, note))

    @property
    def verdict(self) -> str:
        if self.skipped:
            return "SKIP"
        return "PASS" if self.passed else "FAIL"

    def to_json(self) -> dict:
        out = asdict(self)
        out["verdict"] = self.verdict
        return out


class Skip(Exception):
    """A piece the bench needs is not there (yet): the bench is left out, with this reason."""


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of the samples."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {"n": len(ms), "p50": percentile(ms, 50), "p90": percentile(ms, 90), "p99": percentile(ms, 99),
            "mean": statistics.fmean(ms), "max": max(ms)}


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def machine() -> dict:
    model = platform.processor() or ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except FileNotFoundError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0, 0, 0)
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu_model": model, "cores": os.cpu_count(), "mem_gib": round(mem_gib, 1),
            "python": platform.python_version(), "kernel": platform.release(),
            "loadavg_at_start": [round(x, 2) for x in load]}


def module_available(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def require(*modules: str) -> None:
    missing = [m for m in modules if not module_available(m)]
    if missing:
        raise Skip(f"not in the repo yet: {', '.join(missing)}")


def bench_env(**extra: str) -> dict[str, str]:
    """Environment for child processes: the repo on the path, dummy AWS credentials."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.setdefault("AWS_ACCESS_KEY_ID", "bench")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("AWS_REGION", "us-east-1")
    env.update(extra)
    return env
