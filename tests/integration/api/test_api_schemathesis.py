"""Schemathesis against the served OpenAPI document, through the local gateway (JWT check, routing, the
api Lambda handler in-process, real Postgres, moto S3 + Step Functions), with a Pro user's token: its
coverage phase (boundary and wrong-type values of every field, header and parameter) and its fuzzing
phase must get no server error (5xx) in at least 1,000 requests.

The CLI runs as a child process, like any outside client; the gateway and the handler run here, and
count every answer the handler gives. `job_id` is drawn half of the time from real jobs (one awaiting
its uploads, one with its files uploaded, a failed one, another user's), so that the job routes get
past their 404. `test-artifacts/schemathesis/` keeps the CLI's output and JSON report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from moto import mock_aws

from devstack.gateway import DEV_AUDIENCE, DEV_ISSUER, DevKeys, Gateway, JwtAuthorizer
from devstack.media_samples import make_tone, make_video
from devstack.stackstate import dev_token
from prosync.aws import reset_clients
from prosync.db.connection import close_all, connect
from prosync.db.repository import JobRepository
from prosync.jobs.status import JobStatus
from prosync.settings import DatabaseSettings, Tier, api_settings
from tests.integration.api.conftest import make_bucket_and_machine, set_aws_env
from tests.unit.api.apitest import call, job_request

ROOT = Path(__file__).resolve().parents[3]
REPORTS = ROOT / "test-artifacts" / "schemathesis"
USER = "fuzz-pro"
MIN_CASES = 1000
MAX_SECONDS = 90


def make_jobs(database_url: str, aws, folder: Path) -> list[str]:
    """The ids schemathesis may use as `job_id`: the Pro user's jobs in several states, another's."""
    media = {"video": make_video(folder / "talk.mp4", 4), "intro": make_tone(folder / "intro.wav", 2, 440),
             "outro": make_tone(folder / "outro.mp3", 2, 660)}
    created = [call("POST", "/sync/pro-sync-process", user=user, body=job_request()).body
               for user in (USER, USER, USER, "fuzz-other")]
    waiting, uploaded, failed, others = (answer["jobId"] for answer in created)
    targets = created[1]["uploads"]
    for slot, target in {"video": targets["video"], **targets["audios"]}.items():
        aws.s3.put_object(Bucket=aws.bucket, Key=target["key"], Body=media[slot].read_bytes(),
                          ContentType=target["fields"]["Content-Type"])
    with connect(DatabaseSettings(database_url=database_url)) as conn:
        repo = JobRepository(conn)
        repo.transition(failed, JobStatus.QUEUED)
        repo.transition(failed, JobStatus.FAILED, detail={"step": "failed", "code": "database_unavailable"},
                        error_code="database_unavailable", error_message="OperationalError: port 5432")
    return [waiting, uploaded, failed, others]


@pytest.fixture(scope="module")
def stack(pg_server, tmp_path_factory):
    """The gateway's URL, a Pro user's token, real job ids, and the status of every handler answer.
    Jobs awaiting uploads are not capped here, so that valid creates keep reaching the insert."""
    url = pg_server.create_database(f"fuzz{os.getpid()}", template="prosync_template")
    statuses: list[int] = []
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        set_aws_env(patch)
        patch.setenv("DATABASE_URL", url)
        patch.setenv("PROSYNC_TIERS__PRO__MAX_AWAITING_UPLOAD", "100000")
        reset_clients()
        api_settings.cache_clear()
        aws = make_bucket_and_machine(patch)
        from functions.api.handler import lambda_handler

        def counted(event, context):
            answer = lambda_handler(event, context)
            statuses.append(answer["statusCode"])
            return answer

        keys = DevKeys.generate()
        token = dev_token(keys, url, DEV_ISSUER, DEV_AUDIENCE, "pro", USER)
        with connect(DatabaseSettings(database_url=url)) as conn:
            JobRepository(conn).set_tier("fuzz-other", Tier.PRO)
        job_ids = make_jobs(url, aws, tmp_path_factory.mktemp("fuzz-media"))
        server = Gateway(counted, JwtAuthorizer(keys.jwks(), DEV_ISSUER, [DEV_AUDIENCE]), jwks=keys.jwks())
        server.start()
        try:
            yield {"url": server.url, "token": token, "job_ids": job_ids, "statuses": statuses}
        finally:
            server.stop()
            close_all()
            reset_clients()
            api_settings.cache_clear()


def config_file(job_ids: list[str], path: Path) -> Path:
    values = ", ".join(json.dumps(i) for i in job_ids)
    path.write_text('[cache]\nenabled = false\n\n'  # no state kept between runs (none in the repo)
                    f'[dictionaries.jobs]\nvalues = [{values}]\n\n'
                    '[parameters]\n"path.job_id" = { dictionary = "jobs", probability = 0.5 }\n')
    return path


def run_schemathesis(stack: dict, config: Path, report: Path) -> subprocess.CompletedProcess:
    base = stack["url"]
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
        f"{base}/api/v1/openapi.json", "--url", base, "--phases", "coverage,fuzzing",
        "--checks", "not_a_server_error", "--header", f"Authorization: Bearer {stack['token']}",
        "--max-examples", "120", "--seed", "20261127", "--workers", "1", "--continue-on-failure",
        "--suppress-health-check", "all", "--generation-database", "none",
        "--report", "json", "--report-json-path", str(report), "--no-color",
    ]
    env = {**os.environ, "SCHEMATHESIS_TELEMETRY": "false", "NO_COLOR": "1", "COLUMNS": "160"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_schemathesis_finds_no_server_error(stack, tmp_path):
    REPORTS.mkdir(parents=True, exist_ok=True)
    report = REPORTS / "report.json"
    report.unlink(missing_ok=True)
    started = time.monotonic()
    run = run_schemathesis(stack, config_file(stack["job_ids"], tmp_path / "schemathesis.toml"), report)
    seconds = time.monotonic() - started
    (REPORTS / "output.txt").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    summary = json.loads(report.read_text())
    cases, statuses = summary["test_cases"]["generated"], stack["statuses"]
    assert summary["complete"] and summary["failures"] == [] and summary["errors"] == []
    assert {summary["phases"][p]["status"] for p in ("coverage", "fuzzing")} == {"success"}
    assert cases >= MIN_CASES and len(statuses) >= MIN_CASES, (cases, len(statuses))
    assert [s for s in statuses if s >= 500] == []  # counted at the handler, not only by schemathesis
    assert {200, 201, 202, 404, 422} <= set(statuses)  # the job routes were reached with real jobs
    assert seconds < MAX_SECONDS, f"{cases} cases took {seconds:.0f} s"
    print(f"\nschemathesis: {cases} cases, {len(statuses)} handler answers, {seconds:.1f} s")
