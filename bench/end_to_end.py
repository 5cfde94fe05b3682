"""6. End to end: the wall time of one job through the whole local pipeline (API -> presigned uploads
-> start -> a Sync.so slot -> submit (cost estimate + create) -> the state machine waits for Sync.so's
webhook -> download step -> status completed -> result fetched), against a plain script doing the same
work with the official `syncsdk` client (`from sync import Sync`): upload the inputs to the same S3
(moto), presign them, create the generation, poll every second, fetch the output. Both use the same
emulator (the local stack's) with the same generation time; the script and the ProSync CLI client
(waiting on our status route) poll once a second. ProSync runs in callback mode: the emulator's signed
webhook reaches the local gateway's `POST /api/v1/webhooks/syncso` and resumes the execution, so the
workflow makes no status call of its own (checked from the emulator's counters).

Timing as deployed: PROSYNC_WAIT_SCALE=1, and the emulator's generation time is the model's own
estimate for the media (lipsync-2-pro, 3 s of video), so the adaptive first wait is right. --quick
runs the local stack's dev timing instead (waits x0.1, 3 s generation): a smoke run only.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import BenchResult, require

MODEL = "lipsync-2-pro"
MEDIA_SECONDS = 3.0
SEGMENTS = [{"startTime": 0.0, "endTime": 1.0, "audioInput": {"refId": "a"}},
            {"startTime": 1.5, "endTime": 2.5, "audioInput": {"refId": "b"}}]


def _media(folder: Path) -> tuple[Path, dict[str, Path]]:
    from devstack.media_samples import make_tone, make_video

    video = make_video(folder / "talk.mp4", MEDIA_SECONDS, fps=25, size=(160, 120))
    return video, {"a": make_tone(folder / "a.wav", 1.0, 440.0), "b": make_tone(folder / "b.mp3", 1.0, 660.0)}


def baseline(info, video: Path, audios: dict[str, Path], out: Path) -> dict[str, float]:
    """The plain script: S3 uploads + syncsdk create + poll every 1 s + fetch the output."""
    import boto3
    import httpx
    from sync import Sync
    from sync.common import Audio, GenerationSegment, SegmentAudioInput, Video

    from devstack.emulator import DEFAULT_API_KEY

    t0 = time.perf_counter()
    s3 = boto3.client("s3", endpoint_url=info.aws_endpoint_url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    urls = {}
    for name, path in {"video": video, **audios}.items():
        key = f"bench-baseline/{time.time_ns()}/{path.name}"
        s3.upload_file(str(path), info.bucket, key)
        urls[name] = s3.generate_presigned_url("get_object", Params={"Bucket": info.bucket, "Key": key}, ExpiresIn=600)
    sdk = Sync(base_url=info.sync_api_base_url, api_key=DEFAULT_API_KEY)
    created = sdk.generations.create(
        model=MODEL, input=[Video(url=urls["video"]), *(Audio(url=urls[r], ref_id=r) for r in audios)],
        segments=[GenerationSegment(start_time=s["startTime"], end_time=s["endTime"],
                                    audio_input=SegmentAudioInput(ref_id=s["audioInput"]["refId"])) for s in SEGMENTS],
        output_file_name="baseline")
    t_submitted = time.perf_counter()
    while (generation := sdk.generations.get(created.id)).status not in ("COMPLETED", "FAILED", "REJECTED"):
        time.sleep(1.0)
    if generation.status != "COMPLETED":
        raise RuntimeError(f"baseline generation {generation.status}: {generation.error}")
    t_completed = time.perf_counter()
    out.write_bytes(httpx.get(generation.output_url, timeout=60).content)
    t_done = time.perf_counter()
    return {"total": t_done - t0, "submit": t_submitted - t0, "completed": t_completed - t0, "fetch": t_done - t_completed}


def emulator_stats(info) -> dict:
    import httpx

    return httpx.get(f"{info.sync_api_base_url}/_emulator/stats", timeout=10).json()


def prosync(info, video: Path, audios: dict[str, Path], out: Path) -> dict[str, float]:
    """One job through the local stack over HTTP, as `prosync submit --wait --output` does it."""
    from devstack.client import ProSyncClient, build_request

    token = info.issue_token("pro", user="bench-e2e")
    t0 = time.perf_counter()
    with ProSyncClient(info.api_url, token) as client:
        created = client.create_job(build_request(video, audios, SEGMENTS, model=MODEL, output_file_name="e2e"))
        client.upload(created["uploads"]["video"], video)
        for ref, path in audios.items():
            client.upload(created["uploads"]["audios"][ref], path)
        client.start(created["jobId"])
        t_started = time.perf_counter()
        final = client.wait(created["jobId"], interval=1.0, timeout=600)
        if final["status"] != "completed":
            raise RuntimeError(f"job {final['status']}: {final.get('error')}")
        t_completed = time.perf_counter()
        client.download(final["resultUrl"], out)
    t_done = time.perf_counter()
    return {"total": t_done - t0, "submit": t_started - t0, "completed": t_completed - t0, "fetch": t_done - t_completed}


def run(quick: bool = False) -> BenchResult:
    require("functions.api.handler", "devstack.localstack", "devstack.localaws", "sync")
    from bench.api_latency import RunningStack
    from prosync.settings import WorkflowTimingSettings
    from prosync.workflow.polling import expected_generation_seconds

    if quick:
        generation, scale = 3.0, "0.1"
    else:
        generation, scale = round(expected_generation_seconds(MODEL, MEDIA_SECONDS, WorkflowTimingSettings()), 1), "1"
    result = BenchResult(name="e2e", title=f"one job end to end vs syncsdk script, generation {generation:g} s, "
                                           f"wait scale {scale}, callback mode",
                         bar="ProSync total <= 1.05x baseline + 1 s; no status call by the workflow")
    with tempfile.TemporaryDirectory() as tmp, RunningStack(generation_seconds=generation, wait_scale=scale) as stack:
        folder = Path(tmp)
        video, audios = _media(folder)
        base = baseline(stack.info, video, audios, folder / "baseline.mp4")
        before = emulator_stats(stack.info)
        ours = prosync(stack.info, video, audios, folder / "prosync.mp4")
        after = emulator_stats(stack.info)
    gets = after["requests"].get("get", 0) - before["requests"].get("get", 0)
    webhooks = after["webhooks"]["delivered"] - before["webhooks"]["delivered"]
    for name, r in (("baseline (syncsdk script)", base), ("ProSync local pipeline", ours)):
        result.add(f"{name}: total", r["total"], "s",
                   f"submitted {r['submit']:.2f} s, completion seen {r['completed']:.2f} s, fetch {r['fetch']:.2f} s")
    allowed = 1.05 * base["total"] + 1.0
    result.add("ProSync / baseline", ours["total"] / base["total"], "x", f"allowed {allowed:.1f} s")
    result.add("ProSync: workflow status calls / webhooks delivered", f"{gets} / {webhooks}", "",
               "callback mode: the webhook ends the wait")
    result.passed = ours["total"] <= allowed and gets == 0 and webhooks >= 1
    result.detail = {"baseline": base, "prosync": ours, "generation_seconds": generation, "wait_scale": scale,
                     "workflow_status_calls": gets, "webhooks_delivered": webhooks}
    result.notes.append(f"media: {MEDIA_SECONDS:g} s 160x120 video, two 1 s audios, 2 segments; both poll every 1 s; "
                        "same emulator and S3 (the local stack's)")
    return result
