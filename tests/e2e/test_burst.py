"""A short burst on the local stack (`make bench` runs the 200-create one, bench/burst.py): 50 creates
at once from 8 users, some repeating an Idempotency-Key, then every job's start at once. No server
error, no duplicate job (answers and rows), tier limits held exactly (a 429 with Retry-After for each
create beyond the plan's jobs awaiting upload; a start refused only while the user had the plan's
active jobs, never more active than that), every started job completes."""

from __future__ import annotations

import httpx
import pytest

from bench.burst import run_burst

# 6 pro users x 7 creates (6 keys + 1 repeat: 5 jobs and one 429 each), 2 enterprise x 4 (3 keys + 1 repeat)
PLAN = [("pro", 7)] * 6 + [("enterprise", 4)] * 2


@pytest.fixture
def quick_generations(local_stack):
    """Generations of 0.5 s while the burst runs (the stack's own setting is restored after)."""
    url = f"{local_stack.sync_api_base_url}/_emulator/settings"
    before = httpx.get(url).json()["generationSeconds"]
    httpx.put(url, json={"generationSeconds": 0.5}).raise_for_status()
    yield
    httpx.put(url, json={"generationSeconds": before}).raise_for_status()


def test_a_burst_of_creates_and_starts_keeps_every_limit_and_completes_every_job(
        local_stack, quick_generations, tmp_path):
    report = run_burst(local_stack, PLAN, repeats=1, folder=tmp_path, wait_timeout=120)
    assert report.problems == []
    assert len(report.creates) == 50 and {c.status for c in report.health} == {200}
    pro = {u for u, (jobs, cap) in report.expected.items() if cap == 3}
    assert len(pro) == 6 and all(report.expected[u][0] == 5 for u in pro)
    for user in report.expected:  # pro: one key of six refused (429, its repeat too); enterprise: none
        refused = {c.key for c in report.creates if c.user == user and c.status == 429}
        created = {c.key for c in report.creates if c.user == user and c.status == 201}
        assert (len(refused), refused & created) == ((1 if user in pro else 0), set())
    assert len(report.final) >= 6 * 3 + 2 * 3 and set(report.final.values()) == {"completed"}
    assert all(report.most_active[u] <= 3 for u in pro)
