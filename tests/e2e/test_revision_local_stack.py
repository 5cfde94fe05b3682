"""A revision on the local stack over HTTP (issue 17): a 5-segment job, then one segment revised with a
new audio through POST /revise, its presigned upload and /start. The generation Sync.so (the emulator)
gets covers at most that segment plus the keyframe margins; the result has the parent's duration and
frame count, the parent's frames (PSNR >= 40 dB, identical where stream-copied) and audio outside the
range, and the new tone inside."""

from __future__ import annotations

import math

import av
import httpx
import numpy as np
from rich.console import Console

from devstack.client import ProSyncClient, build_request
from devstack.media_samples import decode_audio_pcm, make_tone, tone_profile
from devstack.progress import run_job
from tests.e2e.test_browser import browser  # noqa: F401

TONES = {"t0": 330.0, "t1": 440.0, "t2": 550.0, "t3": 660.0, "t4": 770.0}
RANGES = [(0.2, 1.0), (1.2, 2.0), (2.4, 3.4), (3.6, 4.6), (4.8, 5.8)]
NEW = 1200.0


def frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray") for f in c.decode(video=0)]


def psnr(a, b) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def test_a_one_segment_revision_of_a_five_segment_job(local_stack, media, tmp_path, browser):  # noqa: F811
    audios = {ref: make_tone(tmp_path / f"{ref}.wav", 1.0, f) for ref, f in TONES.items()}
    segments = [{"startTime": a, "endTime": b, "audioInput": {"refId": ref}} for (a, b), ref in zip(RANGES, TONES)]
    request = build_request(media["video"], audios, segments, model="lipsync-2-pro",
                            options={"sync_mode": "cut_off"}, output_file_name="five")
    files = {"video": media["video"], "audios": audios}
    emulator = local_stack.sync_api_base_url.rstrip("/")
    with ProSyncClient(local_stack.url, local_stack.issue_token("pro")) as client:
        parent = run_job(client, request, files, Console(quiet=True), output=tmp_path / "parent.mp4")
        assert parent.status["status"] == "completed", parent.status
        fresh = make_tone(tmp_path / "fresh.wav", 1.0, NEW)
        revised = [dict(s) for s in parent.status["segments"]]
        revised[2] = {**revised[2], "audioInput": {"refId": "fresh"}}
        answer = client._call("POST", f"/sync/pro-job/{parent.job_id}/revise", json={
            "segments": revised, "audios": [{"refId": "fresh", "fileName": "fresh.wav", "contentType": "audio/wav",
                                             "size": fresh.stat().st_size}]})
        assert answer["parentJobId"] == parent.job_id and answer["revision"]["changedRanges"] == [[2.4, 3.4]]
        client.upload(answer["uploads"]["fresh"], fresh)
        client.start(answer["jobId"])
        status = client.wait(answer["jobId"], timeout=120)
        assert status["status"] == "completed", status
        assert status["parentJobId"] == parent.job_id and status["revision"]["exact"] is True
        client.download(status["resultUrl"], tmp_path / "revised.mp4")
        listed = {j["jobId"]: j.get("parentJobId") for j in client.jobs()["jobs"]}
        assert listed[answer["jobId"]] == parent.job_id

    asked = httpx.get(f"{emulator}/_emulator/generations", timeout=10).json()["generations"]
    generation = asked[-1]
    assert [s["audioInput"]["refId"] for s in generation["segments"]] == ["fresh"]
    billed = generation["outputDuration"]
    assert billed == status["revision"]["revisionSeconds"] or abs(billed - status["revision"]["revisionSeconds"]) < 0.1
    assert billed <= (3.4 - 2.4) + 1.0 + 0.5 + 0.1, billed  # the segment + at most the keyframe margins
    assert billed < 0.5 * asked[-2]["outputDuration"]  # against the parent's full run

    before, after = frames(tmp_path / "parent.mp4"), frames(tmp_path / "revised.mp4")
    assert len(after) == len(before)
    with av.open(str(tmp_path / "parent.mp4")) as a, av.open(str(tmp_path / "revised.mp4")) as b:
        assert abs(a.duration - b.duration) / av.time_base < 0.05
        fps = float(a.streams.video[0].average_rate)
    outside = [psnr(x, y) for i, (x, y) in enumerate(zip(before, after)) if not 2.4 <= i / fps < 3.4]
    assert min(outside) >= 40, min(outside)
    print(f"revision billed {billed:.2f} s (parent {asked[-2]['outputDuration']:.2f} s), "
          f"{len(after)} frames, worst PSNR outside {min(outside):.1f} dB")
    old, new = decode_audio_pcm(tmp_path / "parent.mp4"), decode_audio_pcm(tmp_path / "revised.mp4")
    for (a, b), ref in zip(RANGES, TONES):
        level, freq = tone_profile(new, 8000, a + 0.15, b - 0.15)
        expected = NEW if ref == "t2" else TONES[ref]
        assert level > 1000 and abs(freq - expected) < expected * 0.05, (ref, level, freq)
        if ref != "t2":
            assert (level, freq) == tone_profile(old, 8000, a + 0.15, b - 0.15)  # the parent's packets

    # the page's history shows the chain: the revision's row links to its parent, with the saving
    browser.goto(f"{local_stack.url}/?poll=300")
    browser.wait_for("document.querySelector('#limits').textContent.includes('Tier pro')", timeout=20)
    browser.wait_for(f"!!document.querySelector('#history-list li[data-job=\"{answer['jobId']}\"] a.parent')",
                     timeout=20)
    shown = browser.evaluate(f"document.querySelector('#history-list li[data-job=\"{answer['jobId']}\"] a.parent')"
                             ".textContent")
    assert shown.startswith(f"revision of {parent.job_id[:8]}") and "re-rendered" in shown, shown
