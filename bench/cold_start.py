"""2. Cold start: what importing each Lambda handler costs in a fresh interpreter, against a bare one.

Each handler is imported the way the Lambda runtime does it: `import handler` with the working
directory (and sys.path[0]) = functions/<name>/ and the prosync layer installed, with the environment
variables Lambda sets (LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME), so Powertools' Tracer is live
and patches what it patches on AWS. Figures:
- import cost = best-of-N wall time of `python -c "import handler"` minus best-of-N `python -c pass`;
- `-X importtime` cumulative time of the handler module and the heaviest packages (by self time);
- a separate probe run counts botocore clients created during the import (Session.create_client is
  wrapped before the import), prosync.aws cached clients, open database connections, and lists
  packages a handler must not load (DESIGN: submit/poll/download never touch the database; only
  the api reads media; no handler loads the dev stack or test tools).
- the layer as packaged (`scripts/build_layer.py`, built for this interpreter's version and platform
  with the same pinned requirements), imported with the sources only vs with the bytecode the build
  ships, read-only like Lambda's /opt (PYTHONDONTWRITEBYTECODE: nothing is cached between runs), for
  the api handler; bar: compiled <= 0.7x sources.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import defaultdict

from bench.common import PY, ROOT, BenchResult, Skip, bench_env

NEVER = {"moto", "devstack", "pytest", "tests", "bench", "sync"}  # dev stack, test tools, syncsdk
MUST_NOT = {  # per handler, on top of NEVER (packages it has no business loading)
    "submit": {"psycopg", "av"}, "poll": {"psycopg", "av"}, "download": {"psycopg", "av"},
    "jobstore": {"av", "httpx"}, "migrate": {"av", "httpx"}, "api": set(),
}
PROBE = r"""
import json, sys, time
import botocore.session
created = []
_orig = botocore.session.Session.create_client
def _counting(self, service_name, *a, **k):
    created.append(service_name)
    return _orig(self, service_name, *a, **k)
botocore.session.Session.create_client = _counting
t = time.perf_counter()
import handler
elapsed = time.perf_counter() - t
loaded = set(sys.modules)
cached = sys.modules["prosync.aws"]._client.cache_info().currsize if "prosync.aws" in loaded else 0
conns = 0
if "prosync.db.connection" in sys.modules:
    conns = len(sys.modules["prosync.db.connection"]._every)  # every connection it opened
print(json.dumps({"elapsed": elapsed, "clients": created, "cached": cached,
                  "db_connections": conns,
                  "entry": callable(getattr(handler, "lambda_handler", None))}))
"""


BYTECODE_BAR = 0.7  # compiled layer import time <= 0.7x the sources-only layer (api handler)


def packaged_layer_import(name: str, repeats: int) -> dict[str, float]:
    """Best-of-N `import handler` with the layer as built, sources only vs bytecode, never writing a cache
    (runs interleaved, so load on the machine spreads over both)."""
    from scripts import build_layer

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    envs = {}
    for kind, bytecode in (("sources", False), ("bytecode", True)):
        out = build_layer.build_layer(ROOT / ".build" / f"bench-layer-{kind}", bytecode=bytecode,
                                      python_version=version, platforms=None)
        if build_layer.shipped_bytecode(out) != bytecode:
            raise Skip(f"no Python {version} interpreter to compile the layer with")
        env = lambda_env(name)
        env["PYTHONPATH"] = f"{env['PYTHONPATH']}:{out / 'python'}"
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # /opt is read-only on Lambda
        envs[kind] = env
    cwd = str(ROOT / "functions" / name)
    best = {kind: float("inf") for kind in envs}
    for _ in range(max(repeats, 5)):
        for kind, env in envs.items():
            best[kind] = min(best[kind], wall([PY, "-c", "import handler"], env, cwd))
    return best


def handlers() -> list[str]:
    found = sorted(p.parent.name for p in (ROOT / "functions").glob("*/handler.py"))
    if not found:
        raise Skip("no functions/*/handler.py yet")
    return found


def lambda_env(name: str) -> dict[str, str]:
    task_root = str(ROOT / "functions" / name)
    env = bench_env(
        LAMBDA_TASK_ROOT=task_root, AWS_LAMBDA_FUNCTION_NAME=f"prosync-{name}",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512", AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR",
        POWERTOOLS_SERVICE_NAME=f"prosync-{name}", DATABASE_URL="postgresql://bench@127.0.0.1:9/none",
        MEDIA_BUCKET="bench-media", SYNC_API_KEY="bench", SYNC_API_BASE_URL="http://127.0.0.1:9",
        STATE_MACHINE_ARN="arn:aws:states:us-east-1:123456789012:stateMachine:bench",
    )
    env["PYTHONPATH"] = task_root  # only the asset root; prosync comes from the installed layer
    env.pop("AWS_ENDPOINT_URL", None)
    return env


def wall(args: list[str], env: dict, cwd: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"rc {proc.returncode}")
    return took


def importtime(env: dict, cwd: str) -> tuple[float, list[tuple[str, float]], set[str]]:
    """(cumulative ms of `handler`, heaviest root packages by summed self ms, every root package
    imported) from -X importtime."""
    proc = subprocess.run([PY, "-X", "importtime", "-c", "import handler"], env=env, cwd=cwd,
                          capture_output=True, text=True, check=True)
    total, by_root = 0.0, defaultdict(float)
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, module = line[len("import time:"):].split("|")
        name = module.strip()
        by_root[name.split(".")[0]] += int(self_us) / 1000
        if name == "handler":
            total = int(cumulative_us) / 1000
    return total, sorted(by_root.items(), key=lambda kv: -kv[1])[:4], set(by_root)


def run(quick: bool = False) -> BenchResult:
    names = handlers()
    repeats = 3 if quick else 5
    result = BenchResult(name="coldstart", title=f"handler import in a fresh interpreter, best of {repeats}",
                         bar="each handler imports < 1 s over a bare interpreter; no AWS client, DB "
                             "connection or unneeded package at import; the api with the packaged layer's "
                             f"bytecode <= {BYTECODE_BAR}x its sources only (read-only)")
    bare_env = lambda_env(names[0])
    problems: list[str] = []
    # interleave: bare, h1, h2, ..., bare, h1, ... so noise spreads over all of them
    best = {n: float("inf") for n in ["<bare>", *names]}
    errors = {}
    for _ in range(repeats):
        best["<bare>"] = min(best["<bare>"], wall([PY, "-c", "pass"], bare_env, str(ROOT)))
        for name in names:
            if name in errors:
                continue
            try:
                cwd = str(ROOT / "functions" / name)
                best[name] = min(best[name], wall([PY, "-c", "import handler"], lambda_env(name), cwd))
            except RuntimeError as exc:
                errors[name] = str(exc)
    result.add("bare interpreter (python -c pass)", best["<bare>"] * 1000, "ms", "the floor")
    for name in names:
        if name in errors:
            problems.append(f"{name}: import failed: {errors[name]}")
            result.add(f"{name}: import", "error", "", errors[name][:120])
            continue
        cwd = str(ROOT / "functions" / name)
        cost = best[name] - best["<bare>"]
        cumulative, heavy, roots = importtime(lambda_env(name), cwd)
        probe = json.loads(subprocess.run([PY, "-c", PROBE], env=lambda_env(name), cwd=cwd, capture_output=True,
                                          text=True, check=True).stdout)
        bad = sorted((NEVER | MUST_NOT.get(name, set())) & roots)
        result.add(f"{name}: import cost", cost * 1000, "ms",
                   f"{best[name] / best['<bare>']:.1f}x bare; -X importtime {cumulative:.0f} ms; heaviest "
                   + ", ".join(f"{pkg} {ms:.0f}" for pkg, ms in heavy))
        result.add(f"{name}: clients / connections at import",
                   f"{len(probe['clients'])} / {probe['db_connections']}", "",
                   f"loads: {', '.join(r for r in sorted(roots) if r in {'boto3', 'botocore', 'psycopg', 'httpx', 'av', 'pydantic', 'aws_xray_sdk'})}")
        result.detail[name] = {"best_s": best[name], "importtime_ms": cumulative, "heavy_ms": heavy, **probe, "roots": sorted(roots)}
        if cost >= 1.0:
            problems.append(f"{name}: import costs {cost:.2f} s")
        if probe["clients"] or probe["cached"]:
            problems.append(f"{name}: boto clients created at import: {probe['clients']}")
        if probe["db_connections"]:
            problems.append(f"{name}: database connection opened at import")
        if bad:
            problems.append(f"{name}: loads {', '.join(bad)} at import")
        if not probe["entry"]:
            problems.append(f"{name}: no lambda_handler")
    result.detail["bare_s"] = best["<bare>"]
    if "api" in names and "api" not in errors:
        layer = packaged_layer_import("api", repeats)
        ratio = (layer["bytecode"] - best["<bare>"]) / (layer["sources"] - best["<bare>"])
        result.add("api: packaged layer, sources only", (layer["sources"] - best["<bare>"]) * 1000, "ms",
                   "read-only: every module compiled on each cold start")
        result.add("api: packaged layer, with bytecode", (layer["bytecode"] - best["<bare>"]) * 1000, "ms",
                   f"{ratio:.2f}x sources (bar <= {BYTECODE_BAR})")
        result.detail["packaged_layer_s"] = layer
        if ratio > BYTECODE_BAR:
            problems.append(f"api: the layer's bytecode saves too little ({ratio:.2f}x > {BYTECODE_BAR}x)")
    result.notes += problems or ["no handler creates a client, opens a connection or loads a forbidden package"]
    result.notes.append(f"handlers found: {', '.join(names)}")
    if any("rich" in d.get("roots", []) for d in result.detail.values() if isinstance(d, dict)):
        result.notes.append("rich/pygments in a figure come from httpx's optional CLI import, present because the dev "
                            "venv has rich; the Lambda layer has no rich, so there that import is skipped")
    result.passed = not problems
    return result
