"""`prosync demo` (and `make demo`): the main job end to end on this machine.

Starts the local stack in-process, makes a test-card video (burnt-in timecode) and three audio
clips (distinct tones, three formats), runs a 3-segment job through the HTTP API with browser-style
presigned POST uploads, downloads the result and prints a summary: job, segments, stages with their
times (job events), the Step Functions execution's states, and the output checked with PyAV.
Exits 0 only when the output decodes with video and audio and has the input's duration.
"""

from __future__ import annotations

import time
from pathlib import Path

import av
from rich.console import Console
from rich.table import Table

from devstack.client import ApiError, ProSyncClient, build_request
from devstack.localstack import LocalStack
from devstack.media_samples import (
    decode_audio_pcm,
    make_tone,
    make_tone_sequence,
    burn_caption,
    make_video,
    media_duration,
    tone_profile,
)
from devstack.progress import print_api_error, run_job

VIDEO_SECONDS = 8.0
SEGMENTS = [  # (start, end, refId, crop)
    (0.5, 2.5, "intro", None),
    (3.0, 5.0, "middle", (0.5, 2.5)),
    (5.5, 7.5, "outro", None),
]
TONES = {"intro": 440, "middle": 660, "outro": 880}


def register(sub) -> None:
    parser = sub.add_parser("demo", help="run a 3-segment job through the local stack and check the result")
    parser.add_argument("--output-dir", type=Path, default=Path("demo-output"))
    parser.add_argument("--generation-seconds", type=float, default=2.0, help="emulated Sync.so time")
    parser.add_argument("--text-removal", action="store_true",
                        help="burn a caption into the sample video and have the job remove it (issue 16)")
    parser.set_defaults(func=run)


def make_inputs(folder: Path) -> tuple[Path, dict[str, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    video = make_video(folder / "talk.mp4", VIDEO_SECONDS, size=(320, 240))
    audios = {
        "intro": make_tone(folder / "intro.wav", 2.0, TONES["intro"]),
        "middle": make_tone_sequence(folder / "middle.mp3", [(0.5, 0), (2.0, TONES["middle"]), (0.5, 0)]),
        "outro": make_tone(folder / "outro.ogg", 2.0, TONES["outro"]),
    }
    return video, audios


def segments() -> list[dict]:
    out = []
    for start, end, ref, crop in SEGMENTS:
        audio = {"refId": ref} if crop is None else {"refId": ref, "startTime": crop[0], "endTime": crop[1]}
        out.append({"startTime": start, "endTime": end, "audioInput": audio})
    return out


def run(args) -> int:
    console = Console()
    began = time.monotonic()
    with console.status("making sample media (test-card video, three tones)…"):
        video, audios = make_inputs(args.output_dir / "inputs")
    with console.status("starting the local stack (Postgres, moto, Sync.so emulator, gateway)…"):
        stack = LocalStack(generation_seconds=args.generation_seconds, wait_scale=0.05).start()
    console.print(f"local stack up in {time.monotonic() - began:.1f} s at {stack.url}")
    try:
        with ProSyncClient(stack.url, stack.token("pro")) as client:
            limits = client.limits()
            console.print(
                f"user dev-pro, tier {limits['tier']}, max {limits['limits']['maxSegments']} segments"
            )
            request = build_request(
                video,
                audios,
                segments(),
                model="lipsync-2",
                options={"sync_mode": "cut_off"},
                output_file_name="demo_result",
            )
            if args.text_removal:
                clean_video = video
                video, caption = burn_caption(clean_video, video.with_name("talk_captioned.mp4"))
                request = {**request, "video": build_request(video, audios, segments())["video"],
                           "textRemoval": {"regions": [caption]}}
                console.print(f"caption burnt in at {caption}; textRemoval asked for")
            job = run_job(
                client,
                request,
                {"video": video, "audios": audios},
                console,
                output=args.output_dir / "result.mp4",
                live_url=stack.live.ws_url,  # the job's events printed live (WebSocket API)
            )
        if job.status.get("status") != "completed":
            error = job.status.get("error") or {}
            console.print(
                f"[red]job {job.job_id} ended {job.status.get('status')}[/]: "
                f"{error.get('code', '')} {error.get('message', '')}"
            )
            return 1
        summary(console, stack, job)
        ok = check_output(console, job.output, media_duration(video))
        if args.text_removal:
            ok = check_caption_gone(console, clean_video, video, job.output, caption) and ok
    except ApiError as exc:
        print_api_error(console, exc)
        return 1
    finally:
        stack.stop()
    console.print(
        f"[bold]{'PASS' if ok else 'FAIL'}[/] in {time.monotonic() - began:.1f} s wall: {job.output}"
    )
    return 0 if ok else 1


def summary(console: Console, stack: LocalStack, job) -> None:
    status = job.status
    console.rule(f"job {job.job_id}")
    console.print(
        f"model {status['model']}, Sync.so generation {status.get('syncGenerationId')}, "
        f"output {status.get('outputFileName')}"
    )
    table = Table("#", "video range (s)", "audio", "crop (s)", title="segments")
    for i, seg in enumerate(status["segments"], 1):
        audio = seg["audioInput"]
        crop = (
            f"{audio['startTime']:.2f}-{audio['endTime']:.2f}" if audio.get("startTime") is not None else "-"
        )
        table.add_row(str(i), f"{seg['startTime']:.2f}-{seg['endTime']:.2f}", audio["refId"], crop)
    console.print(table)
    events, execution_arn = _job_record(stack, job.job_id)
    if events:
        t0 = events[0].at
        console.print(
            "stages (job events): "
            + "  →  ".join(f"{e.to_status.value} [dim]+{(e.at - t0).total_seconds():.1f}s[/]" for e in events)
        )
    console.print("execution states (Step Functions history): " + _execution_states(stack, execution_arn))
    console.print("wall time: " + ", ".join(f"{k} {v:.1f} s" for k, v in job.seconds.items()))


def _job_record(stack: LocalStack, job_id: str):
    """The job's events and its execution ARN, from the stack's database."""
    from uuid import UUID

    from prosync.db.connection import connect
    from prosync.db.repository import JobRepository
    from prosync.settings import DatabaseSettings

    with connect(DatabaseSettings(database_url=stack.database_url)) as conn:
        repo = JobRepository(conn)
        record = repo.get_job(UUID(job_id))
        return repo.events(UUID(job_id)), record.execution_arn if record else None


def _execution_states(stack: LocalStack, arn: str | None) -> str:
    import boto3

    if not arn:
        return "(no execution recorded)"
    sfn = boto3.client("stepfunctions", endpoint_url=stack.aws.endpoint_url)
    events = (
        sfn.get_paginator("get_execution_history").paginate(executionArn=arn).build_full_result()["events"]
    )
    states: list[list] = []  # [name, times entered]
    for event in events:
        name = (event.get("stateEnteredEventDetails") or {}).get("name")
        if name:
            if states and states[-1][0] == name:
                states[-1][1] += 1
            else:
                states.append([name, 1])
    run = sfn.describe_execution(executionArn=arn)
    spent = (run["stopDate"] - run["startDate"]).total_seconds() if run.get("stopDate") else 0.0
    path = " → ".join(name + (f" ×{n}" if n > 1 else "") for name, n in states)
    return f"{path}  [dim]({run['status']}, {len(events)} events, {spent:.1f} s)[/]"


def check_output(console: Console, path: Path, expected_seconds: float) -> bool:
    """Decode every frame: a video stream, an audio stream, and the input's duration (±0.25 s)."""
    with av.open(str(path)) as container:
        video = next(iter(container.streams.video), None)
        audio = next(iter(container.streams.audio), None)
        frames = {"video": 0, "audio": 0}
        for frame in container.decode(*(s for s in (video, audio) if s is not None)):
            frames["video" if isinstance(frame, av.VideoFrame) else "audio"] += 1
    duration = media_duration(path)
    table = Table("output", "value", title="result")
    table.add_row("file", str(path))
    table.add_row("size", f"{path.stat().st_size:,} bytes")
    table.add_row("duration", f"{duration:.2f} s (input {expected_seconds:.2f} s)")
    if video is not None:
        table.add_row(
            "video",
            f"{video.codec_context.name} {video.codec_context.width}x{video.codec_context.height}, "
            f"{frames['video']} frames decoded",
        )
    if audio is not None:
        table.add_row(
            "audio",
            f"{audio.codec_context.name} {audio.codec_context.sample_rate} Hz, "
            f"{frames['audio']} frames decoded",
        )
        pcm = decode_audio_pcm(path, 8000)
        for start, end, ref, _ in SEGMENTS:  # which tone plays over each segment
            _, heard = tone_profile(pcm, 8000, start + 0.1, end - 0.1)
            table.add_row(f"{start:.1f}-{end:.1f} s", f"{heard:.0f} Hz heard ({ref}'s tone: {TONES[ref]} Hz)")
    console.print(table)
    problems = []
    if not frames["video"]:
        problems.append("no decodable video")
    if not frames["audio"]:
        problems.append("no decodable audio")
    if abs(duration - expected_seconds) > 0.25:
        problems.append(f"duration {duration:.2f} s, expected {expected_seconds:.2f} s")
    for problem in problems:
        console.print(f"[red]✗ {problem}[/]")
    return not problems


def check_caption_gone(console: Console, clean: Path, captioned: Path, result: Path, box: dict) -> bool:
    """PSNR of the caption's box against the video without caption: the captioned input's and the
    result's (text removal must gain >= 3 dB); the rest of the frame must match the input (>= 30 dB:
    the emulator re-encodes the video too)."""
    import numpy as np

    def frames(path: Path) -> list:
        with av.open(str(path)) as container:
            return [f.to_ndarray(format="bgr24").astype(np.float64) for f in container.decode(video=0)]

    def psnr(a, b) -> float:
        mse = float(np.mean((a - b) ** 2))
        return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)

    base, burnt, out = frames(clean), frames(captioned), frames(result)
    h, w = base[0].shape[:2]
    mask = np.zeros((h, w), bool)
    mask[int(box["y"] * h):int((box["y"] + box["height"]) * h), int(box["x"] * w):int((box["x"] + box["width"]) * w)] = True
    n = min(len(base), len(out))
    before = np.mean([psnr(burnt[i][mask], base[i][mask]) for i in range(n)])
    after = np.mean([psnr(out[i][mask], base[i][mask]) for i in range(n)])
    outside = min(psnr(out[i][~mask], burnt[i][~mask]) for i in range(n))
    table = Table("caption box", "PSNR vs the video without caption", title="text removal")
    table.add_row("input (caption burnt in)", f"{before:.1f} dB")
    table.add_row("result (caption removed)", f"{after:.1f} dB")
    table.add_row("rest of the frame vs input", f"{outside:.1f} dB")
    console.print(table)
    ok = after >= before + 3 and outside >= 30 and len(out) == len(burnt)
    if not ok:
        console.print("[red]✗ the caption is not gone[/]")
    return ok
