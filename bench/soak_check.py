"""The soak's checker (issue 15), shared by bench/soak.py and tests/e2e/test_soak.py.

Reads what the run left behind, never what the clients were told: the database (video_jobs,
job_events), S3 (moto: the results/ objects, the open multipart uploads) and the emulator's own
records (`GET /_emulator/generations`: each generation's Idempotency-Key `{jobId}-{attempt}`, status
and error code; `GET /_emulator/stats`: billing per Idempotency-Key).

A fault lands on whichever generation comes next, so the state each job must end in is derived from
the generations Sync.so (the emulator) actually made for it: its last generation COMPLETED ->
`completed`; FAILED/REJECTED with a code that is not retryable -> `failed` with that code; retryable
and the retries spent (1 + SYNC_GENERATION_RETRIES generations) -> `failed` with that code. A job
that gave up a retryable failure with retries left, or retried a non-retryable one, is a problem.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import httpx

TERMINAL = {"completed", "failed", "canceled", "expired"}
RETRYABLE = {"generation_timeout", "generation_pipeline_failed", "generation_database_error"}  # settings' default
GENERATIONS_PER_JOB = 1 + 2  # 1 + sync_generation_retries (default 2)


@dataclass
class SoakCheck:
    jobs: int = 0
    final: Counter = field(default_factory=Counter)  # final status (+ error code) -> jobs
    expected_mismatch: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # started, no terminal event
    stuck: list[str] = field(default_factory=list)  # row not terminal at the end
    duplicates: list[str] = field(default_factory=list)  # an attempt key billed != 1, or 2 generations
    beyond_attempts: list[str] = field(default_factory=list)
    orphan_uploads: int = 0
    result_problems: list[str] = field(default_factory=list)
    generations: int = 0
    billed: int = 0
    generation_outcomes: Counter = field(default_factory=Counter)

    @property
    def problems(self) -> list[str]:
        out = []
        for name in ("expected_mismatch", "lost", "stuck", "duplicates", "beyond_attempts", "result_problems"):
            items = getattr(self, name)
            if items:
                out.append(f"{len(items)} {name.replace('_', ' ')}: " + "; ".join(items[:5]))
        if self.orphan_uploads:
            out.append(f"{self.orphan_uploads} orphan multipart uploads")
        return out


def expected_outcome(generations: list[dict]) -> tuple[str, str | None, str | None]:
    """(status, error code, problem) the job must end in, from its generations (attempt order)."""
    if not generations:
        return "failed", None, None  # nothing created: only a refused create can do that (checked by code)
    for g in generations[:-1]:
        if g["status"] == "COMPLETED" or g.get("errorCode") not in RETRYABLE:
            return "?", None, f"a new attempt after generation {g['id']} {g['status']} {g.get('errorCode')}"
    last = generations[-1]
    if last["status"] == "COMPLETED":
        return "completed", None, None
    if last["status"] in ("FAILED", "REJECTED"):
        code = last.get("errorCode")
        if code in RETRYABLE and len(generations) < GENERATIONS_PER_JOB:
            return "failed", code, f"gave up a retryable {code} after {len(generations)} generations"
        return "failed", code, None
    return "?", None, f"last generation {last['id']} still {last['status']}"


def check(info, job_ids: list[str], started: set[str]) -> SoakCheck:
    """`job_ids`: every job the soak created; `started`: those whose start was accepted."""
    import boto3
    import psycopg

    out = SoakCheck(jobs=len(job_ids))
    with psycopg.connect(info.database_url) as conn:
        rows = {str(r[0]): r[1:] for r in conn.execute(
            "SELECT id, status, error_code, result_key, result_size FROM video_jobs WHERE id = ANY(%s::uuid[])",
            (job_ids,)).fetchall()}
        terminal_events = {str(r[0]) for r in conn.execute(
            "SELECT DISTINCT job_id FROM job_events WHERE job_id = ANY(%s::uuid[]) AND to_status = ANY(%s)",
            (job_ids, list(TERMINAL))).fetchall()}
    emulator = info.sync_api_base_url.rstrip("/")
    records = httpx.get(f"{emulator}/_emulator/generations", timeout=60).json()["generations"]
    billing = httpx.get(f"{emulator}/_emulator/stats", timeout=60).json()["billing"]["byIdempotencyKey"]
    wanted = set(job_ids)
    by_job: dict[str, list[dict]] = defaultdict(list)
    by_key: Counter = Counter()
    for g in records:
        key = g.get("idempotencyKey") or ""
        job, _, attempt = key.rpartition("-")
        if job in wanted and attempt.isdigit():
            by_job[job].append({**g, "attempt": int(attempt)})
            by_key[key] += 1
    for key, n in by_key.items():
        if n != 1 or billing.get(key) != 1:
            out.duplicates.append(f"{key}: {n} generations, billed {billing.get(key)}")
    for job in job_ids:
        gens = sorted(by_job.get(job, []), key=lambda g: g["attempt"])
        out.generations += len(gens)
        out.billed += sum(billing.get(f"{job}-{g['attempt']}", 0) for g in gens)
        for g in gens:
            out.generation_outcomes[g["status"] if g["status"] == "COMPLETED" else f"{g['status']} {g.get('errorCode')}"] += 1
        if len(gens) > GENERATIONS_PER_JOB:
            out.beyond_attempts.append(f"{job}: {len(gens)} generations")
        status, code = rows[job][:2] if job in rows else (None, None)
        out.final[status if status != "failed" else f"failed {code}"] += 1
        if job in started and job not in terminal_events:
            out.lost.append(f"{job} ({status})")
        if status not in TERMINAL:
            out.stuck.append(f"{job} {status}")
            continue
        if job not in started:
            continue
        want, want_code, problem = expected_outcome(gens)
        if problem:
            out.expected_mismatch.append(f"{job}: {problem}")
        elif status != want or (want == "failed" and want_code is not None and code != want_code):
            out.expected_mismatch.append(f"{job}: {status} {code}, its generations call for {want} {want_code}")
    s3 = boto3.client("s3", endpoint_url=info.aws_endpoint_url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    out.orphan_uploads = len(s3.list_multipart_uploads(Bucket=info.bucket).get("Uploads", []))
    results: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=info.bucket, Prefix="results/"):
        results.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    for job in job_ids:
        if job not in rows:
            continue
        status, _, key, size = rows[job]
        if status == "completed" and (key is None or results.get(key) != size or not size):
            out.result_problems.append(f"{job}: completed, result {key} is {results.get(key)} bytes, row says {size}")
        if status != "completed" and any(job in k for k in results):
            out.result_problems.append(f"{job}: {status} but a results/ object names it")
    return out
