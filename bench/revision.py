"""Revisions (issue 17): Sync.so seconds billed and wall time of a one-segment revision of a
10-segment, 60 s job, against running the whole job again.

Both go through the Sync.so emulator over HTTP (its renderer stands in for the model; as fast as it
renders, so its time grows with the seconds it renders, as Sync.so's does). The full run sends the
60 s video with its 10 segments; its output is the parent's result. The revision changes segment 5's
audio: `prosync.revisions` plans the changed range, cuts the clip from the parent's result (keyframe
margin, or 0.5 s re-encoded lead when the GOP is long), one generation renders it, and the splice puts
it back. Billed seconds = the generation's output duration (Sync.so bills the seconds it renders).
Bar: the revision bills <= 0.3x the full run's seconds. The same steps as the workflow's revision path
(docs/REVISIONS.md), without the API and Step Functions around them (the same for both runs).
"""

from __future__ import annotations

import functools
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.common import BenchResult

SECONDS, SEGMENTS, FPS = 60.0, 10, 25
BAR = 0.3


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _serve(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def _generate(client, body: dict, key: str, out: Path) -> tuple[float, float]:
    """(billed seconds, wall seconds) of one generation, its output saved to `out`."""
    import httpx

    from prosync.syncso import GenerateRequest

    started = time.perf_counter()
    generation = client.create_generation(GenerateRequest.model_validate(body), key)
    while not generation.status.terminal:
        time.sleep(0.05)
        generation = client.get_generation(generation.id)
    if generation.status.value != "COMPLETED":
        raise RuntimeError(f"generation {generation.status.value}: {generation.error}")
    out.write_bytes(httpx.get(generation.result_url, timeout=60).content)
    return float(generation.output_duration or 0), time.perf_counter() - started


def run(quick: bool = False) -> BenchResult:
    from devstack.emulator import EmulatorServer
    from devstack.media_samples import make_tone, make_video
    from prosync.revisions import plan
    from prosync.revisions.media import cut_clip, keyframes, splice
    from prosync.syncso import SyncClient

    result = BenchResult(name="revision", title="one-segment revision of a 10-segment 60 s job vs a full re-run",
                         bar=f"Sync.so seconds billed by the revision <= {BAR}x the full run's")
    length = SECONDS / SEGMENTS
    segments = [{"startTime": round(i * length + 0.5, 3), "endTime": round((i + 1) * length - 0.5, 3),
                 "audioInput": {"refId": f"a{i}"}} for i in range(SEGMENTS)]
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(output_dir=Path(tmp) / "outputs") as emulator:
        folder = Path(tmp)
        make_video(folder / "talk.mp4", SECONDS, fps=FPS, size=(320, 240) if quick else (640, 360))
        for i in range(SEGMENTS):
            make_tone(folder / f"a{i}.wav", length - 1.0, 300 + 60 * i)
        make_tone(folder / "new.wav", length - 1.0, 1500)
        httpd, base = _serve(folder)
        client = SyncClient(emulator.url, emulator.api_key, timeout=60)
        try:
            full = {"model": "lipsync-2", "input": [{"type": "video", "url": f"{base}/talk.mp4"}] + [
                {"type": "audio", "url": f"{base}/a{i}.wav", "refId": f"a{i}"} for i in range(SEGMENTS)],
                "segments": segments}
            full_billed, full_wall = _generate(client, full, "bench-full", folder / "parent.mp4")

            started = time.perf_counter()
            revised = [dict(s) for s in segments]
            revised[4] = {**revised[4], "audioInput": {"refId": "new"}}
            ranges = plan.changed_ranges(segments, revised)
            keys, duration = keyframes(folder / "parent.mp4")
            pieces = plan.clip_pieces(ranges, keys, duration)
            cut_clip(folder / "parent.mp4", pieces, folder / "clip.mp4")
            cut_s = time.perf_counter() - started
            body = {"model": "lipsync-2", "input": [{"type": "video", "url": f"{base}/clip.mp4"},
                                                    {"type": "audio", "url": f"{base}/new.wav", "refId": "new"}],
                    "segments": plan.clip_segments(revised, ranges, pieces)}
            rev_billed, rev_gen_wall = _generate(client, body, "bench-revision", folder / "generation.mp4")
            spliced = time.perf_counter()
            stats = splice(folder / "parent.mp4", folder / "generation.mp4", pieces, ranges, folder / "revised.mp4")
            splice_s = time.perf_counter() - spliced
            rev_wall = time.perf_counter() - started
        finally:
            httpd.shutdown()
            httpd.server_close()
    ratio = rev_billed / full_billed
    result.add("full re-run: Sync.so seconds billed", full_billed, "s", f"{SEGMENTS} segments, 60 s video")
    result.add("revision: Sync.so seconds billed", rev_billed, "s",
               f"range {ranges[0][0]:g}-{ranges[0][1]:g} s, clip {'stream copy' if pieces[0].copy else 're-encoded'}")
    result.add("billed ratio revision / full", ratio, "x", f"bar <= {BAR}x")
    result.add("full re-run: wall time", full_wall, "s", "create -> COMPLETED -> output fetched")
    result.add("revision: wall time", rev_wall, "s",
               f"cut {cut_s:.2f} s + generation {rev_gen_wall:.2f} s + splice {splice_s:.2f} s")
    result.add("wall ratio revision / full", rev_wall / full_wall, "x")
    result.add("splice: GOPs copied / re-encoded", f"{stats['gopsCopied']} / {stats['gopsEncoded']}", "",
               f"{stats['framesReplaced']} of {stats['frames']} frames replaced")
    result.passed = ratio <= BAR
    result.detail = {"ranges": ranges, "pieces": [vars(p) for p in pieces], "splice": stats}
    return result
