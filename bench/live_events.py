"""Live events: how long from a job event (its job_events row) to the WebSocket message and to the
webhook delivery, against the lag of the status-polling page (web/job.js polls every 1 s).

An in-process local stack (the same notifier, WebSocket server and delivery queue as `prosync up`).
A few jobs are created through the API, put in `processing` and their Sync.so percent is moved
step by step (each step: one job_events row, written by the migration's trigger, as jobstore's
progress writes make them) at random 10-60 ms intervals. Latency = arrival time - the row's `at`
(clock_timestamp() of the same machine). A poller at the page's interval records when it first sees
each job's progress value; events overwritten before a poll are counted as never seen.
"""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from bench.common import BenchResult, percentile, require

PAGE_POLL_SECONDS = 1.0
BAR_MS = 1000.0


def _receiver(arrivals: list[tuple[float, dict]]):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            arrivals.append((time.time(), json.loads(body)["data"]))
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def _at(event: dict) -> float:
    return datetime.fromisoformat(event["at"].replace("Z", "+00:00")).timestamp()


def run(quick: bool = False) -> BenchResult:
    require("devstack.live", "websockets", "standardwebhooks")
    from devstack.client import ProSyncClient, build_request
    from devstack.media_samples import make_tone, make_video
    from prosync.db.connection import get_connection
    from prosync.settings import DatabaseSettings
    from tests.e2e.live_support import Reader, live_stack

    events_wanted = 60 if quick else 240
    jobs, steps = 4, events_wanted // 4
    result = BenchResult(name="live", title=f"job event -> WebSocket / webhook, {events_wanted} events",
                         bar=f"p99 <= {BAR_MS:.0f} ms for both (local stack), vs the 1 s status poll")
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="bench-live-"))
    video, audio = make_video(folder / "v.mp4", 2.0, size=(64, 48)), make_tone(folder / "a.wav", 1.0, 440)
    hooks: list[tuple[float, dict]] = []
    receiver = _receiver(hooks)
    with live_stack() as stack:
        token = stack.token("pro", "bench-live")
        reader = Reader(stack.live.ws_url, token)  # all of the user's jobs, from now
        polled: dict[str, list[tuple[float, int]]] = {}
        with ProSyncClient(stack.url, token) as client:
            client._call("POST", "/webhooks/endpoints", json={
                "url": f"http://127.0.0.1:{receiver.server_address[1]}/hook", "eventTypes": ["job.progress"]})
            request = build_request(video, {"a": audio}, [{"startTime": 0.0, "endTime": 1.0,
                                                           "audioInput": {"refId": "a"}}])
            ids = [str(client.create_job(request)["jobId"]) for _ in range(jobs)]
            conn = get_connection(DatabaseSettings())
            conn.execute("UPDATE video_jobs SET status = 'processing', stage = 'lipsync' WHERE id = ANY(%s)",
                         (ids,))  # (no event: the bench measures the progress events below)
            stop = threading.Event()

            def poll(job_id: str) -> None:  # the page: GET status every second
                with httpx.Client(headers={"authorization": f"Bearer {token}"}, timeout=10) as http:
                    while not stop.is_set():
                        answer = http.get(f"{stack.url}/api/v1/sync/pro-job/{job_id}/status").json()
                        polled.setdefault(job_id, []).append((time.time(), answer.get("syncProgressPercent")))
                        stop.wait(PAGE_POLL_SECONDS)

            pollers = [threading.Thread(target=poll, args=(j,), daemon=True) for j in ids]
            for thread in pollers:
                thread.start()
            rng = random.Random(14)
            for step in range(1, steps + 1):
                for job_id in ids:
                    conn.execute("UPDATE video_jobs SET progress_percent = %s WHERE id = %s",
                                 (min(100, step * 100 // steps), job_id))
                    time.sleep(rng.uniform(0.010, 0.060))
            time.sleep(2.5)
            stop.set()
            for thread in pollers:
                thread.join(timeout=5)
        reader.close()
    receiver.shutdown()
    ws = [(arrived - _at(e)) * 1000 for arrived, e in reader.messages if e.get("type") == "job.progress"]
    wh = [(arrived - _at(e)) * 1000 for arrived, e in hooks]
    emitted = [e for _, e in reader.messages if e.get("type") == "job.progress"]
    lags, missed = [], 0
    for event in emitted:
        seen = [t for t, pct in polled.get(event["jobId"], []) if pct is not None and
                pct >= event["detail"]["progressPercent"] and t >= _at(event)]
        first = min(seen) if seen else None
        exact = [t for t, pct in polled.get(event["jobId"], []) if pct == event["detail"]["progressPercent"]]
        if not exact:
            missed += 1
        if first is not None:
            lags.append((first - _at(event)) * 1000)
    for name, samples in (("websocket", ws), ("webhook", wh), ("status poll (1 s)", lags)):
        if samples:
            result.add(f"{name} p50", round(percentile(samples, 50), 1), "ms")
            result.add(f"{name} p99", round(percentile(samples, 99), 1), "ms")
            result.add(f"{name} n", len(samples))
    result.add("events the poll never showed", missed, note=f"of {len(emitted)} (overwritten within 1 s)")
    result.passed = (len(ws) >= events_wanted and len(wh) >= events_wanted
                     and percentile(ws, 99) <= BAR_MS and percentile(wh, 99) <= BAR_MS)
    result.detail = {"websocket_ms": ws, "webhook_ms": wh, "poll_ms": lags}
    return result
