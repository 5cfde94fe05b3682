"""One real, time-compressed execution of the workflow (bench 4): the real ASL in moto (server mode),
the real jobstore/submit/poll/download handlers, the Sync.so emulator, a real Postgres job row.

Time compression: the emulator's generation time is G x K seconds, and moto's Wait state sleeps
`SecondsPath` x K (patched), while the state keeps the real (unscaled) waits (PROSYNC_WAIT_SCALE=1):
the execution follows the real schedule, K times faster. Lambda and HTTP overheads are not compressed;
they only make polls later, and the case run (G = 30 s, K = 1/4) keeps a margin of 7 emulated
seconds (1.75 s real) before the last poll that must not see the generation finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from unittest import mock

from bench.common import require

GENERATION = 30.0
K = 0.25


def _compressed_wait(self, env, wait_seconds):
    if wait_seconds > 0:
        env.program_state_event.wait(wait_seconds * K)


def _media(folder: Path, seconds: float) -> tuple[Path, Path]:
    from devstack.media_samples import make_tone, make_video

    return (make_video(folder / "video.mp4", seconds, fps=10, size=(96, 64)),
            make_tone(folder / "a.wav", min(2.0, seconds), 440.0))


def _job(repo, s3, bucket: str, media_seconds: float, folder: Path):
    from prosync.db.records import NewJob
    from prosync.jobs.status import JobStatus
    from prosync.settings import Tier

    user = "bench-workflow"
    repo.set_tier(user, Tier.PRO)
    job_id = uuid.uuid4()
    video, audio = _media(folder, media_seconds)
    keys = {"video": f"uploads/{user}/{job_id}/video", "a": f"uploads/{user}/{job_id}/a"}
    s3.upload_file(str(video), bucket, keys["video"], ExtraArgs={"ContentType": "video/mp4"})
    s3.upload_file(str(audio), bucket, keys["a"], ExtraArgs={"ContentType": "audio/wav"})
    inputs = {"video": {"key": keys["video"], "fileName": "video.mp4", "contentType": "video/mp4",
                        "size": video.stat().st_size, "duration": media_seconds},
              "audios": {"a": {"key": keys["a"], "fileName": "a.wav", "contentType": "audio/wav",
                               "size": audio.stat().st_size, "duration": min(2.0, media_seconds)}}}
    segments = [{"startTime": 0.0, "endTime": min(2.0, media_seconds), "audioInput": {"refId": "a"}}]
    repo.create_job(NewJob(id=job_id, user_id=user, is_pro_job=True, segments_data=segments, inputs=inputs,
                           options={"sync_mode": "cut_off"}, model="lipsync-2-pro", output_file_name="bench"))
    repo.transition(job_id, JobStatus.QUEUED)
    return job_id


def _invocations(events: list[dict]) -> Counter:
    found = Counter()
    for event in events:
        details = event.get("taskScheduledEventDetails")
        if details and details.get("resourceType") == "lambda":
            name = json.loads(details["parameters"])["FunctionName"].split(":")[-1]
            found[name.removeprefix("prosync-")] += 1
    return found


def real_execution(settings, *, quick: bool, media_for, adaptive) -> dict:
    require("devstack.localaws", "functions.poll.handler", "functions.jobstore.handler")
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

    from devstack.buckets import create_media_bucket
    from devstack.emulator import DEFAULT_API_KEY, EmulatorServer
    from devstack.localaws import LocalAwsServer, state_names
    from devstack.postgres import LocalPostgres
    from prosync.db.connection import close_all, connect
    from prosync.db.migrate import apply_migrations
    from prosync.db.repository import JobRepository
    from prosync.settings import DatabaseSettings

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's request log
    media = media_for(GENERATION)
    sim_polls, sim_seen = adaptive(media, GENERATION)
    bucket = "bench-workflow-media"
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "SYNC_API_BASE_URL", "SYNC_API_KEY", "MEDIA_BUCKET",
                                             "PROSYNC_WAIT_SCALE")}
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        pg = LocalPostgres().start()
        stack.callback(pg.stop)
        url = pg.create_database("bench_workflow")
        emu = stack.enter_context(EmulatorServer(generation_seconds=GENERATION * K))
        os.environ.update(DATABASE_URL=url, SYNC_API_BASE_URL=emu.url, SYNC_API_KEY=DEFAULT_API_KEY,
                          MEDIA_BUCKET=bucket, PROSYNC_WAIT_SCALE="1")
        stack.callback(lambda: [os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
                                for k, v in saved.items()])
        stack.callback(close_all)
        stack.enter_context(mock.patch.object(wait_function.WaitFunction, "_wait_interval", _compressed_wait))
        aws = stack.enter_context(LocalAwsServer())
        s3 = aws.client("s3")
        create_media_bucket(s3, bucket)
        machine = aws.deploy()
        with connect(DatabaseSettings(database_url=url)) as conn:
            apply_migrations(conn)
            job_id = _job(JobRepository(conn), s3, bucket, media, Path(tmp))
        emu.stats.reset()
        started = time.monotonic()
        sfn = aws.client("stepfunctions")
        arn = sfn.start_execution(stateMachineArn=machine, name=str(job_id),
                                  input=json.dumps({"jobId": str(job_id)}))["executionArn"]
        deadline = started + GENERATION * K * 4 + 60
        while (description := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution still running after {deadline - started:.0f} s")
            time.sleep(0.02)
        wall = time.monotonic() - started
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        stats = emu.stats_snapshot()["requests"]
    if description["status"] != "SUCCEEDED":
        raise RuntimeError(f"execution {description['status']}: {description.get('error')} {description.get('cause')}")
    entered = Counter(state_names(events))
    polls = stats.get("get", 0)
    loop = sorted(n for n, c in entered.items() if c == polls) if polls >= 2 else []
    invocations = _invocations(events)
    per_poll = invocations.get("poll", 0) / max(1, polls)
    return {
        "fixed_transitions": sum(entered.values()) - polls * len(loop),
        "transitions_per_poll": len(loop),
        "fixed_invocations": {fn: n for fn, n in invocations.items() if fn != "poll"},
        "polls_per_round": per_poll,
        "matches": polls == sim_polls and stats.get("create", 0) == 1 and len(loop) > 0,
        "real": {"status_calls": polls, "creates": stats.get("create", 0), "states_entered": dict(entered),
                 "invocations": dict(invocations), "wall_s": wall, "emulator_requests": stats},
        "summary": (f"G={GENERATION:.0f} s compressed x{1 / K:.0f} ({wall:.1f} s wall): {polls} Sync.so status "
                    f"calls vs {sim_polls} simulated, {sum(entered.values())} states entered, "
                    f"{sum(invocations.values())} Lambda invocations {dict(invocations)}"),
    }
