"""A short soak (issue 15; `python -m bench --only soak` runs the 300-job one, bench/soak.py): 30 jobs
from 6 users through a local stack (its own `prosync up`, fast timings) with the emulator's faults armed
at random (seeded); the shared checker (bench/soak_check.py) reads the database, S3 and the emulator's
records: every job in the state its generations call for, 0 lost, 0 stuck, 0 orphan multipart
uploads, exactly 1 billed generation per attempt key."""

from __future__ import annotations

import pytest

from bench.soak import run_soak
from bench.soak_check import expected_outcome


def _gen(status: str, code: str | None = None) -> dict:
    return {"id": "g", "status": status, "errorCode": code}


@pytest.mark.parametrize(("generations", "want"), [
    ([_gen("COMPLETED")], ("completed", None, None)),
    ([_gen("FAILED", "generation_timeout"), _gen("COMPLETED")], ("completed", None, None)),
    ([_gen("FAILED", "generation_audio_length_exceeded")], ("failed", "generation_audio_length_exceeded", None)),
    ([_gen("FAILED", "generation_timeout")] * 3, ("failed", "generation_timeout", None)),
])
def test_the_expected_outcome_follows_the_generations(generations, want):
    assert expected_outcome(generations) == want


def test_the_checker_flags_a_retry_too_few_or_too_many():
    assert expected_outcome([_gen("FAILED", "generation_timeout")])[2]  # retries were left
    assert expected_outcome([_gen("FAILED", "generation_audio_length_exceeded"), _gen("COMPLETED")])[2]


@pytest.fixture(scope="module")
def fast_stack():
    from bench.api_latency import RunningStack

    with RunningStack(generation_seconds=0.3, wait_scale="0.02") as stack:
        yield stack.info


def test_a_short_soak_under_random_faults_loses_nothing_and_bills_once(fast_stack, tmp_path):
    report = run_soak(fast_stack, 30, tmp_path, seed=15, users=6, wave=10, wave_timeout=120)
    assert report.problems == []
    check = report.check
    assert len(report.jobs) == len(report.started) == 30
    assert sum(check.final.values()) == 30 and set(check.final) <= {"completed"} | {
        k for k in check.final if k.startswith("failed ")}
    assert check.generations == check.billed >= 30
    assert sum(report.fired.values()) > 0  # faults did fire
    assert check.final["failed generation_timeout"] >= 1  # the last job: its retries spent
