"""What each Lambda handler imports at cold start: only the libraries its own work needs (DESIGN §6).

Each import runs in a fresh interpreter, as a cold start does. psycopg costs ~40 ms and is dead
weight outside the VPC; httpx is dead weight in the job store; PyAV is imported by the first probe.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["psycopg", "httpx", "av", "aws_lambda_powertools.event_handler"]
NEEDED = {
    "api": {"psycopg", "aws_lambda_powertools.event_handler"},
    "jobstore": {"psycopg"},
    "migrate": {"psycopg"},
    "submit": {"httpx"},
    "poll": {"httpx"},
    "download": {"httpx"},
    "sweeper": {"psycopg"},
    "textremoval": set(),  # PyAV, OpenCV and onnxruntime are imported by the step that uses them
    # live events (issue 14): in the VPC only Postgres; outside it no psycopg (the notifier only boto3)
    "websocket": {"psycopg"},
    "eventfeed": {"psycopg"},
    "notifier": set(),
    "webhooks": {"httpx"},
    "wsauth": {"httpx"},
}


@pytest.mark.parametrize("name", sorted(NEEDED))
def test_a_handler_imports_only_what_it_uses(name):
    code = (f"import json, sys; import functions.{name}.handler; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    # as on Lambda: Powertools' Tracer is live there and X-Ray patches libraries at import
    env = {**os.environ, "LAMBDA_TASK_ROOT": str(ROOT / "functions" / name),
           "AWS_LAMBDA_FUNCTION_NAME": f"prosync-{name}", "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"}
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    assert set(json.loads(out.stdout.strip().splitlines()[-1])) == NEEDED[name]
