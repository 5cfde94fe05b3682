"""7. Burst: many concurrent creates from many users (some repeating an Idempotency-Key), then the
starts of every job created, through the local stack (`prosync up` in its own process, real Postgres,
moto, the emulator, the HTTP gateway), against the health route at the same concurrency as the floor.

What must hold: 0 server errors (5xx or no answer); 0 duplicate jobs (one job per user and key, in
the answers and in the database); tier limits exact: each user gets min(distinct keys, maxAwaitingUpload)
jobs and a 429 with Retry-After for each other key, min(jobs, maxActiveJobs) starts and a 429 for the
rest; every started job completes. Database connections (pg_stat_activity, client backends of the
stack's database) are sampled every 20 ms during each phase: the peak, next to the requests in flight.
`run_burst` is shared with tests/e2e/test_burst.py (a shorter burst).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import BenchResult

BROWSER_CONNECTIONS = 6  # per user: what a browser opens to one origin over HTTP/1.1
SEGMENTS = [{"startTime": 0.2, "endTime": 1.0, "audioInput": {"refId": "a"}}]


@dataclass
class Call:
    user: str
    key: str
    status: int
    seconds: float
    retry_after: str | None = None
    job_id: str | None = None
    uploads: dict | None = None
    sent: float = 0.0  # epoch seconds, comparable with the database's clock_timestamp() (same machine)
    answered: float = 0.0
    retried: int = 0


@dataclass
class BurstReport:
    health: list[Call] = field(default_factory=list)
    creates: list[Call] = field(default_factory=list)
    starts: list[Call] = field(default_factory=list)
    wall: dict[str, float] = field(default_factory=dict)
    peak_connections: dict[str, int] = field(default_factory=dict)
    opened_connections: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)  # what the API does not do yet (reported, not failed)
    most_active: dict[str, int] = field(default_factory=dict)  # user -> most jobs active at once
    final: dict[str, str] = field(default_factory=dict)  # started job -> final status
    expected: dict[str, tuple[int, int]] = field(default_factory=dict)  # user -> (jobs, maxActiveJobs)

    def latency(self, phase: str, q: float) -> float:
        values = sorted(c.seconds for c in getattr(self, phase))
        return values[min(len(values) - 1, int(q / 100 * len(values)))] * 1000 if values else 0.0

    def rate(self, phase: str) -> float:
        return len(getattr(self, phase)) / self.wall[phase]


class ConnectionWatch:
    """Samples the stack database's client connections (not its own) every 20 ms: the peak per phase,
    and how many were opened during it (backends not seen before the phase)."""

    def __init__(self, database_url: str):
        import psycopg

        self.conn = psycopg.connect(database_url, autocommit=True)
        self.phase, self.peaks, self.opened = "idle", Counter(), Counter()
        self._seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.wait(0.02):
            pids = {row[0] for row in self.conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND datname = current_database() AND pid <> pg_backend_pid()")}
            self.peaks[self.phase] = max(self.peaks[self.phase], len(pids))
            self.opened[self.phase] += len(pids - self._seen)
            self._seen |= pids

    def close(self):
        self._stop.set()
        self._thread.join()
        self.conn.close()


def make_media(folder: Path) -> tuple[Path, Path]:
    from devstack.media_samples import make_tone, make_video

    return (make_video(folder / "burst.mp4", 2.0, fps=12, size=(96, 64)),
            make_tone(folder / "burst.wav", 1.0, 440.0, sample_rate=16000))


def _call(http: httpx.Client, method: str, path: str, user: str, key: str, **kwargs) -> Call:
    """One API call; a connection broken before the answer is retried once (same Idempotency-Key,
    as a client would), and counted (`Call.retried`)."""
    sent, started, retried = time.time(), time.perf_counter(), 0
    while True:
        try:
            response = http.request(method, path, **kwargs)
            break
        except httpx.TransportError as exc:
            if retried:
                return Call(user, key, 0, time.perf_counter() - started, job_id=f"{type(exc).__name__}: {exc}",
                            retried=retried)
            retried += 1
    seconds = time.perf_counter() - started
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    body = body if isinstance(body, dict) else {}
    return Call(user, key, response.status_code, seconds, response.headers.get("retry-after"),
                body.get("jobId"), body.get("uploads"), sent, time.time(), retried)


def _all_at_once(calls: list, concurrency: int) -> tuple[list[Call], float]:
    """Run the zero-argument `calls` on `concurrency` threads released together; (results, wall s)."""
    gate = threading.Barrier(min(concurrency, len(calls)) + 1)

    def gated(call):
        if gated.first.pop() if gated.first else False:
            gate.wait()
        return call()

    gated.first = [True] * min(concurrency, len(calls))
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(gated, call) for call in calls]
        gate.wait()
        started = time.perf_counter()
        results = [f.result() for f in futures]
    return results, time.perf_counter() - started


def run_burst(info, plan: list[tuple[str, int]], repeats: int, folder: Path,
              wait_timeout: float = 600.0) -> BurstReport:
    """`plan`: (tier, creates) per user. All the creates go at once, the last `repeats` of each
    user's reusing the keys (and body) of its first ones; then every job is uploaded, then all the
    starts go at once; then every started job is waited for."""
    from devstack.client import ProSyncClient, build_request

    report, tag = BurstReport(), uuid.uuid4().hex[:8]
    video, audio = make_media(folder)
    body = build_request(video, {"a": audio}, SEGMENTS, output_file_name="burst")
    users = {f"burst-{tag}-{i}": info.issue_token(tier, f"burst-{tag}-{i}") for i, (tier, _) in enumerate(plan)}
    count = {f"burst-{tag}-{i}": creates for i, (_, creates) in enumerate(plan)}
    clients = {u: ProSyncClient(info.api_url, token, timeout=120) for u, token in users.items()}
    for client in clients.values():  # as a browser: at most 6 connections to the API's origin
        client.http.close()
        client.http = httpx.Client(base_url=client.base, timeout=120, headers=dict(client.http.headers),
                                   limits=httpx.Limits(max_connections=BROWSER_CONNECTIONS,
                                                       max_keepalive_connections=BROWSER_CONNECTIONS))
    limits = {u: clients[u].limits()["limits"] for u in users}
    concurrency = sum(count.values())
    watch = ConnectionWatch(info.database_url)
    try:
        watch.phase = "health"
        health = [lambda u=u: _call(clients[u].http, "GET", "/health", u, "") for u in users
                  for _ in range(count[u])]
        for u in users:  # opens each user's keep-alive connections, a few at a time: not measured
            _all_at_once([lambda u=u: _call(clients[u].http, "GET", "/health", u, "")] * BROWSER_CONNECTIONS,
                         BROWSER_CONNECTIONS)
        report.health, report.wall["health"] = _all_at_once(health, concurrency)

        keys = {u: [f"{u}-k{j % (count[u] - repeats)}" for j in range(count[u])] for u in users}
        watch.phase = "creates"
        creates = [lambda u=u, k=k: _call(clients[u].http, "POST", "/sync/pro-sync-process", u, k, json=body,
                                          headers={"idempotency-key": k}) for u in users for k in keys[u]]
        report.creates, report.wall["creates"] = _all_at_once(creates, concurrency)

        jobs: dict[str, dict[str, str]] = defaultdict(dict)  # user -> key -> job id
        targets: dict[str, dict] = {}  # job id -> its presigned POSTs
        for c in report.creates:
            if c.status == 201:
                if jobs[c.user].setdefault(c.key, c.job_id) != c.job_id:
                    report.problems.append(f"duplicate job for {c.user} key {c.key}")
                targets.setdefault(c.job_id, c.uploads)
        for u in users:
            cap = limits[u]["maxAwaitingUpload"]
            report.expected[u] = (min(count[u] - repeats, cap), limits[u]["maxActiveJobs"])
        watch.phase = "uploads"
        with ThreadPoolExecutor(max_workers=8) as pool:  # uploads go to S3 (moto), not through the API
            list(pool.map(lambda uj: _upload(clients[uj[0]], targets[uj[1]], video, audio),
                          [(u, j) for u in users for j in jobs[u].values()]))
        watch.phase = "starts"
        starts = [lambda u=u, k=k, j=j: _call(clients[u].http, "POST", f"/sync/pro-job/{j}/start", u, k)
                  for u in users for k, j in jobs[u].items()]
        report.starts, report.wall["starts"] = _all_at_once(starts, max(1, len(starts)))
        watch.phase = "workflow"
        started = [(c.user, next(j for k, j in jobs[c.user].items() if k == c.key))
                   for c in report.starts if c.status in (200, 202)]
        deadline = time.monotonic() + wait_timeout
        for user, job_id in started:
            status = clients[user].wait(job_id, interval=0.5, timeout=max(1.0, deadline - time.monotonic()))
            report.final[job_id] = status["status"]
        report.peak_connections, report.opened_connections = dict(watch.peaks), dict(watch.opened)
        _check(report, jobs, info.database_url)
    finally:
        watch.close()
        for client in clients.values():
            client.close()
    return report


def _upload(client, targets: dict, video: Path, audio: Path) -> None:
    """Upload a job's files to the presigned POSTs its create answer gave."""
    client.upload(targets["video"], video)
    for target in targets["audios"].values():
        client.upload(target, audio)


def _check(report: BurstReport, jobs: dict[str, dict[str, str]], database_url: str) -> None:
    import psycopg

    for phase in ("health", "creates", "starts"):
        errors = [c for c in getattr(report, phase) if c.status == 0 or c.status >= 500]
        if errors:
            report.problems.append(f"{len(errors)} server errors in {phase}: {errors[0]}")
    with psycopg.connect(database_url) as conn:
        rows = dict(conn.execute("SELECT user_id, count(*) FROM video_jobs WHERE user_id = ANY(%s) GROUP BY 1",
                                 (list(report.expected),)).fetchall())
        spans = conn.execute(  # when each job became active (first queued) and stopped being (terminal)
            "SELECT j.user_id, extract(epoch FROM min(e.at) FILTER (WHERE e.to_status = 'queued'))::float8,"
            " extract(epoch FROM min(e.at) FILTER (WHERE e.to_status IN ('completed', 'failed', 'canceled')))::float8"
            " FROM job_events e JOIN video_jobs j ON j.id = e.job_id WHERE j.user_id = ANY(%s) GROUP BY j.user_id, e.job_id",
            (list(report.expected),)).fetchall()
    active: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for user, begin, end in spans:
        if begin is not None:
            active[user].append((begin, end if end is not None else float("inf")))
    for user, (want_jobs, cap) in report.expected.items():
        if len(jobs[user]) != want_jobs or rows.get(user, 0) != want_jobs:
            report.problems.append(f"{user}: {len(jobs[user])} jobs answered, {rows.get(user, 0)} rows, "
                                   f"the plan allows {want_jobs}")
        creates = [c for c in report.creates if c.user == user]
        if any(c.retry_after is None for c in creates if c.status == 429):
            report.problems.append(f"{user}: a 429 of create without Retry-After")
        starts = [c for c in report.starts if c.user == user]
        if any(c.retry_after is None for c in starts if c.status == 429) and not report.gaps:
            report.gaps.append("a start refused with 429 (too_many_active_jobs) has no Retry-After")
        other = Counter(c.status for c in creates + starts if c.status not in (201, 202, 429))
        if other:
            report.problems.append(f"{user}: unexpected answers {dict(other)}")
        edges = sorted({t for span in active[user] for t in span if t != float("inf")})
        report.most_active[user] = max((_active_at(active[user], t) for t in edges), default=0)
        if report.most_active[user] > cap:
            report.problems.append(f"{user}: {report.most_active[user]} jobs active at once, the plan allows {cap}")
        for c in (c for c in starts if c.status == 429):  # refused only while the user was at the limit
            moments = [c.sent, c.answered, *(t for t in edges if c.sent <= t <= c.answered)]
            if max(_active_at(active[user], t) for t in moments) < cap:
                report.problems.append(f"{user}: a start refused while fewer than {cap} jobs were active")
    unfinished = Counter(s for s in report.final.values() if s != "completed")
    if unfinished:
        report.problems.append(f"started jobs not completed: {dict(unfinished)}")


def _active_at(spans: list[tuple[float, float]], moment: float) -> int:
    return sum(begin <= moment < end for begin, end in spans)


def run(quick: bool = False) -> BenchResult:
    """The bench: 20 users x 10 creates (quick: 10 x 5), 2 of each user's repeating a key."""
    import tempfile

    from bench.api_latency import RunningStack
    from bench.common import require

    require("devstack.client", "devstack.stackstate")
    per_user, users = (5, 10) if quick else (10, 20)
    plan = [("pro", per_user)] * (users * 7 // 10) + [("enterprise", per_user)] * (users - users * 7 // 10)
    result = BenchResult(name="burst", title=f"{users * per_user} concurrent creates from {users} users, then starts",
                         bar="0 server errors, 0 duplicate jobs, tier limits exact (429 + Retry-After), "
                             "every started job completes")
    with RunningStack(generation_seconds=0.5) as stack, tempfile.TemporaryDirectory() as folder:
        report = run_burst(stack.info, plan, repeats=2, folder=Path(folder), wait_timeout=900)
    for phase in ("health", "creates", "starts"):
        calls = getattr(report, phase)
        statuses = dict(sorted(Counter(c.status for c in calls).items()))
        result.add(f"{phase}: answers per second", report.rate(phase), "/s", f"{len(calls)} at once: {statuses}")
        floor = report.latency("health", 50), report.latency("health", 99)
        p50, p99 = report.latency(phase, 50), report.latency(phase, 99)
        result.add(f"{phase}: p50 / p99", f"{p50:.0f} / {p99:.0f}", "ms",
                   f"{p50 / floor[0]:.1f}x / {p99 / floor[1]:.1f}x the health floor" if phase != "health" else "floor")
    for phase, peak in report.peak_connections.items():
        note = "api only (1 invocation in flight: the gateway's lock)" if phase == "creates" else ""
        result.add(f"database connections during {phase}: peak / opened", f"{peak} / "
                   f"{report.opened_connections.get(phase, 0)}", "", note)
    retried = sum(c.retried for phase in ("health", "creates", "starts") for c in getattr(report, phase))
    result.add("connections broken before the answer, retried once", retried, "",
               "same Idempotency-Key; a second break counts as a server error")
    completed = sum(s == "completed" for s in report.final.values())
    result.add("jobs started / completed", f"{len(report.final)} / {completed}")
    result.add("most jobs active at once, pro / enterprise",
               f"{max(v for u, v in report.most_active.items() if report.expected[u][1] == 3)} / "
               f"{max(v for u, v in report.most_active.items() if report.expected[u][1] != 3)}")
    result.notes.extend(f"problem: {p}" for p in report.problems[:10])
    result.notes.extend(f"gap: {g}" for g in report.gaps)
    result.passed = not report.problems
    result.detail = {"wall": report.wall, "peak_connections": report.peak_connections,
                     "opened_connections": report.opened_connections,
                     "problems": report.problems, "gaps": report.gaps, "most_active": report.most_active}
    return result
