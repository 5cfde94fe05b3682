"""`prosync sweep`: one sweeper run against the running local stack (found by its state file)."""

import json
import os
import time

from devstack.cli import main as cli_main
from devstack.localaws import local_aws
from devstack.stackstate import STATE_FILE
from prosync.jobs.status import JobStatus
from tests.integration.sweeper.sweepkit import BUCKET, Jobs


def _state_file(folder, database_url, state_machine_arn) -> None:
    info = {"pid": os.getpid(), "url": "http://127.0.0.1:1", "api_url": "http://127.0.0.1:1/api/v1",
            "database_url": database_url, "key_path": "", "issuer": "", "audience": "",
            "aws_endpoint_url": "", "sync_api_base_url": "", "bucket": BUCKET,
            "state_machine_arn": state_machine_arn, "started_at": time.time()}
    (folder / STATE_FILE).write_text(json.dumps(info))


def test_prosync_sweep_runs_the_sweeper_on_the_local_stack(db, database_url, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with local_aws(no_sleep=False) as aws:
        jobs = Jobs(db, aws)
        abandoned = jobs.make(JobStatus.AWAITING_UPLOAD, age_minutes=30, upload=True)
        _state_file(tmp_path, database_url, jobs.machines["running"])
        assert cli_main(["sweep", "--state-dir", str(tmp_path), "--expire-after", "900"]) == 0
        assert json.loads(capsys.readouterr().out)["expired"] == 1
        assert jobs.row(abandoned)["status"] == "expired" and jobs.keys() == []
        assert cli_main(["sweep", "--state-dir", str(tmp_path), "--expire-after", "5"]) == 2
        assert "sweep_expire_after_seconds" in capsys.readouterr().err


def test_prosync_sweep_without_a_stack(tmp_path, capsys):
    assert cli_main(["sweep", "--state-dir", str(tmp_path)]) == 1
    assert "no local stack" in capsys.readouterr().err
