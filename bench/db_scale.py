"""5. Database at scale: status (get_job) and list (list_jobs) latency with 1,000,000 job rows against the
same queries on 1,000 rows, in one dedicated local cluster, and the query plans (EXPLAIN ANALYZE).

Both databases have 100 jobs per user (so a user's list looks the same at both scales); their samples
are interleaved (small, large, small, ...) so machine noise hits both alike. The queries timed and
explained are the ones `JobRepository` itself sends (captured from a recording connection), and the
timings include building the pydantic `JobRecord`s, as the API pays for them.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid

import psycopg
from psycopg import sql

from bench.common import BenchResult, percentile, summary_ms
from devstack.postgres import LocalPostgres
from prosync.db.connection import connect
from prosync.db.migrate import apply_migrations
from prosync.db.repository import JobRepository
from prosync.jobs.status import STAGE, JobStatus
from prosync.settings import DatabaseSettings

JOBS_PER_USER = 100
# share of rows per status, in percent (a service that has been running a while: mostly finished jobs)
STATUS_MIX = [("completed", 85), ("failed", 5), ("canceled", 3), ("expired", 2), ("processing", 2),
              ("awaiting_upload", 3)]


def job_id(i: int) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(f"job{i}".encode()).hexdigest())  # = md5('job' || i)::uuid in SQL


def _status_case() -> tuple[str, str]:
    status, stage, upto = ["CASE"], ["CASE"], 0
    for name, share in STATUS_MIX:
        upto += share
        status.append(f" WHEN i % 100 < {upto} THEN '{name}'")
        stage.append(f" WHEN i % 100 < {upto} THEN '{STAGE[JobStatus(name)][0]}'")
    return "".join(status) + " END", "".join(stage) + " END"


def load(conn: psycopg.Connection, rows: int) -> float:
    """Users and jobs with generate_series, then ANALYZE. Returns the seconds it took.

    Bulk-load practice: the secondary indexes the migrations made are dropped before the load and
    re-created from their own definitions (pg_indexes.indexdef) after it, so the schema is unchanged.
    """
    users = max(1, rows // JOBS_PER_USER)
    status, stage = _status_case()
    started = time.perf_counter()
    indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'video_jobs'"
                           " AND indexname <> 'video_jobs_pkey'").fetchall()
    for index in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index["indexname"])))
    conn.execute("INSERT INTO users (id, email, tier) SELECT 'bench-user-' || u, 'u' || u || '@bench.test', 'pro'"
                 " FROM generate_series(0, %s - 1) u", (users,))
    conn.execute(f"""
        INSERT INTO video_jobs (id, user_id, status, stage, is_pro_job, segments_data, inputs, options, model,
            output_file_name, sync_generation_id, result_key, result_size, output_duration,
            created_at, updated_at, started_at, completed_at)
        SELECT md5('job' || i)::uuid, 'bench-user-' || (i % {users}), {status}, {stage}, true,
            jsonb_build_array(
                jsonb_build_object('startTime', 0.0, 'endTime', 2.5, 'audioInput', jsonb_build_object('refId', 'intro')),
                jsonb_build_object('startTime', 4.0, 'endTime', 4.0 + (i % 50) / 10.0,
                    'audioInput', jsonb_build_object('refId', 'outro', 'startTime', 0.5, 'endTime', 2.5))),
            jsonb_build_object(
                'video', jsonb_build_object('key', 'uploads/u/' || i || '/video', 'fileName', 'talk.mp4',
                    'contentType', 'video/mp4', 'size', 10485760 + i, 'duration', 12.0),
                'audios', jsonb_build_object(
                    'intro', jsonb_build_object('key', 'uploads/u/' || i || '/intro', 'fileName', 'intro.wav',
                        'contentType', 'audio/wav', 'size', 480000, 'duration', 2.5),
                    'outro', jsonb_build_object('key', 'uploads/u/' || i || '/outro', 'fileName', 'outro.mp3',
                        'contentType', 'audio/mpeg', 'size', 120000, 'duration', 3.0))),
            '{{"sync_mode": "cut_off", "temperature": 0.5}}'::jsonb, 'lipsync-2-pro', 'talk_dubbed',
            'gen-' || i, 'results/' || i || '/talk_dubbed.mp4', 20000000 + i, 12.0,
            ts, ts + interval '3 minutes', ts + interval '10 seconds', ts + interval '3 minutes'
        FROM generate_series(0, {int(rows) - 1}) i,
             LATERAL (SELECT timestamptz '2024-01-01 00:00:00+00' + i * interval '30 seconds' AS ts) t
    """)
    conn.execute("SET maintenance_work_mem = '256MB'")
    for index in indexes:
        conn.execute(index["indexdef"])
    conn.execute("ANALYZE users")
    conn.execute("ANALYZE video_jobs")
    return time.perf_counter() - started


class Recorder:
    """A connection stand-in that remembers the last statement the repository sent."""

    def __init__(self, conn: psycopg.Connection):
        self.conn, self.last = conn, None

    def execute(self, query, params=None):
        self.last = (query, params)
        return self.conn.execute(query, params)

    def transaction(self):
        return self.conn.transaction()


def explain(conn: psycopg.Connection, query, params) -> str:
    prefix = "EXPLAIN (ANALYZE, BUFFERS) "
    statement = prefix + query if isinstance(query, str) else sql.SQL(prefix) + query
    return "\n".join(r["QUERY PLAN"] for r in conn.execute(statement, params).fetchall())


class Scale:
    def __init__(self, conn: psycopg.Connection, rows: int):
        self.rows, self.conn, self.users = rows, conn, max(1, rows // JOBS_PER_USER)
        self.rec = Recorder(conn)
        self.repo = JobRepository(self.rec)
        self.rng = random.Random(rows)

    def ops(self):
        """name -> a callable doing one call of the repository with a random job / user."""
        def status():
            i = self.rng.randrange(self.rows)
            assert self.repo.get_job(job_id(i), f"bench-user-{i % self.users}") is not None
        def user():
            return f"bench-user-{self.rng.randrange(self.users)}"
        def list_first():
            assert len(self.repo.list_jobs(user(), limit=20)) == 20
        def list_completed():
            self.repo.list_jobs(user(), status=JobStatus.COMPLETED, limit=20)
        def list_page2():
            first = self.repo.list_jobs(user(), limit=20)
            self.repo.list_jobs(first[0].user_id, limit=20, after=(first[-1].created_at, first[-1].id))
        return {"status": status, "list": list_first, "list?status=completed": list_completed,
                "list page 2": list_page2}

    def plans(self) -> dict[str, str]:
        out = {}
        for name, op in self.ops().items():
            op()
            out[name] = explain(self.conn, *self.rec.last)
        return out


def run(quick: bool = False) -> BenchResult:
    big_rows, small_rows, samples = (100_000, 1_000, 200) if quick else (1_000_000, 1_000, 2_000)
    result = BenchResult(
        name="db", title=f"Postgres at scale: {big_rows:,} vs {small_rows:,} job rows (JobRepository)",
        bar=f"no Seq Scan in the {big_rows:,}-row plans; status p99 <= 2x the {small_rows:,}-row p99")
    server = LocalPostgres().start()
    try:
        scales = {}
        for rows in (small_rows, big_rows):
            url = server.create_database(f"bench_{rows}")
            conn = connect(DatabaseSettings(database_url=url))
            apply_migrations(conn)
            seconds = load(conn, rows)
            size = conn.execute("SELECT pg_total_relation_size('video_jobs') AS b").fetchone()["b"]
            result.add(f"load {rows:,} rows (generate_series, re-index, ANALYZE)", seconds, "s",
                       f"video_jobs with indexes {size / 2**20:,.0f} MiB")
            scales[rows] = Scale(conn, rows)
        small, big = scales[small_rows], scales[big_rows]
        names = list(small.ops())
        ops = {rows: scale.ops() for rows, scale in scales.items()}
        timings = {(rows, n): [] for rows in scales for n in names}
        for rows in scales:  # warm-up: connection, catalog caches
            for n in names:
                for _ in range(50):
                    ops[rows][n]()
        for _ in range(samples):
            for n in names:
                for rows in (small_rows, big_rows):
                    start = time.perf_counter()
                    ops[rows][n]()
                    timings[(rows, n)].append(time.perf_counter() - start)
        for n in names:
            s, b = summary_ms(timings[(small_rows, n)]), summary_ms(timings[(big_rows, n)])
            result.add(f"{n} p50 / p99 @ {small_rows:,}", f"{s['p50']:.3f} / {s['p99']:.3f}", "ms")
            result.add(f"{n} p50 / p99 @ {big_rows:,}", f"{b['p50']:.3f} / {b['p99']:.3f}", "ms",
                       f"p99 ratio {b['p99'] / s['p99']:.2f}x")
            result.detail[n] = {"small": s, "big": b}
        status_ratio = percentile(timings[(big_rows, 'status')], 99) / percentile(timings[(small_rows, 'status')], 99)
        result.add("status p99 ratio (large / small)", status_ratio, "x", "bar <= 2")
        plans_big, plans_small = big.plans(), small.plans()
        result.detail["plans"] = {"big": plans_big, "small": plans_small}
        seq = [n for n, plan in plans_big.items() if "Seq Scan" in plan]
        for n, plan in plans_big.items():
            nodes = [line.strip().split("  (")[0].lstrip("-> ") for line in plan.splitlines()
                     if "Scan" in line or "Limit" in line or "Sort" in line]
            result.notes.append(f"plan {n} @ {big_rows:,}: " + "; ".join(nodes))
        result.passed = not seq and status_ratio <= 2.0
        if seq:
            result.notes.append(f"Seq Scan in: {', '.join(seq)}")
        result.notes.append(f"{samples} samples per query per scale, interleaved; timings include JobRecord parsing")
        for scale in scales.values():
            scale.conn.close()
    finally:
        server.stop()
    return result
