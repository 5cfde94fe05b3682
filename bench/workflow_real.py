"""Real, time-compressed executions of the workflow (bench 4): the real ASL in moto (server mode), the
real jobstore/submit/poll/download handlers, the Sync.so emulator, a real Postgres job row, and in
callback mode the api handler behind the local gateway receiving the emulator's signed webhooks.

Modes: `poll` (no webhook: every wait ends at its timeout and polls, `SYNC_WEBHOOKS=false`) and
`callback` (the webhook ends the wait; the poll is the fallback).

Time compression: the emulator's generation time is G x K seconds, and moto's Wait states and the
callback wait's `TimeoutSecondsPath` last their seconds x K (patched), while the state keeps the real
(unscaled) waits (PROSYNC_WAIT_SCALE=1): the execution follows the real schedule, K times faster.
Lambda, HTTP and webhook overheads are not compressed; they only make polls later, and the case run
(G = 30 s, K = 1/4) keeps a margin of several emulated seconds around every poll. The lag from the
generation's end (the emulator's clock) to the job's `downloading` (the database's) is real time.
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
ROUND_STATES = ("Wait for generation", "Check generation status", "Generation status?")  # one per poll
ROUND_LAMBDAS = ("jobstore", "poll")  # await_generation and the status call, per poll


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


def _compression_patches():
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSecondsPath
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

    real_seconds = TimeoutSecondsPath._eval_seconds
    return [mock.patch.object(wait_function.WaitFunction, "_wait_interval", _compressed_wait),
            mock.patch.object(TimeoutSecondsPath, "_eval_seconds", lambda self, env: real_seconds(self, env) * K)]


def _gateway(stack: contextlib.ExitStack) -> str:
    """The api Lambda behind the local gateway (Sync.so's webhook route); its URL."""
    from devstack.gateway import DEV_AUDIENCE, DEV_ISSUER, DevKeys, Gateway, JwtAuthorizer
    from functions.api.handler import lambda_handler

    keys = DevKeys.generate()
    gateway = Gateway(lambda_handler, JwtAuthorizer(keys.jwks(), DEV_ISSUER, [DEV_AUDIENCE]))
    gateway.start()
    stack.callback(gateway.stop)
    return gateway.url


def real_execution(settings, *, mode: str, media_for, simulate) -> dict:
    """One compressed execution in `mode` ("poll" or "callback"); `simulate(media, generation)` gives the
    (status calls, seconds seen) the schedule predicts, compared with the real count."""
    require("devstack.localaws", "functions.poll.handler", "functions.jobstore.handler", "functions.api.handler")
    from devstack.buckets import create_media_bucket
    from devstack.emulator import DEFAULT_API_KEY, EmulatorServer
    from devstack.localaws import LocalAwsServer, state_names
    from devstack.postgres import LocalPostgres
    from prosync.db.connection import close_all, connect
    from prosync.db.migrate import apply_migrations
    from prosync.db.repository import JobRepository
    from prosync.settings import DatabaseSettings, api_settings

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's request log
    media = media_for(GENERATION)
    sim_polls, _ = simulate(media, GENERATION)
    bucket = "bench-workflow-media"
    names = ("DATABASE_URL", "SYNC_API_BASE_URL", "SYNC_API_KEY", "MEDIA_BUCKET", "PROSYNC_WAIT_SCALE",
             "SYNC_WEBHOOKS", "WEBHOOK_URL", "SYNC_WEBHOOK_SECRET", "STATE_MACHINE_ARN")
    saved = {k: os.environ.get(k) for k in names}
    ended: dict[str, float] = {}
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        stack.callback(lambda: [os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
                                for k, v in saved.items()])
        stack.callback(api_settings.cache_clear)
        pg = LocalPostgres().start()
        stack.callback(pg.stop)
        url = pg.create_database("bench_workflow")
        emu = stack.enter_context(EmulatorServer(generation_seconds=GENERATION * K))
        transition = emu.store.transition

        def timed(generation_id, status, allowed_from, **fields):  # the generation's end, on our clock
            moved = transition(generation_id, status, allowed_from, **fields)
            if moved and status in ("COMPLETED", "FAILED", "REJECTED"):
                ended[generation_id] = time.time()
            return moved

        emu.store.transition = timed
        for name in ("WEBHOOK_URL", "SYNC_WEBHOOK_SECRET", "STATE_MACHINE_ARN"):
            os.environ.pop(name, None)
        os.environ.update(DATABASE_URL=url, SYNC_API_BASE_URL=emu.url, SYNC_API_KEY=DEFAULT_API_KEY,
                          MEDIA_BUCKET=bucket, PROSYNC_WAIT_SCALE="1",
                          SYNC_WEBHOOKS="true" if mode == "callback" else "false")
        stack.callback(close_all)
        for patch in _compression_patches():
            stack.enter_context(patch)
        aws = stack.enter_context(LocalAwsServer())
        s3 = aws.client("s3")
        create_media_bucket(s3, bucket)
        machine = aws.deploy()
        if mode == "callback":
            os.environ.update(STATE_MACHINE_ARN=machine, SYNC_WEBHOOK_SECRET=emu.webhook_secret,
                              WEBHOOK_URL=f"{_gateway(stack)}/api/v1/webhooks/syncso")
            api_settings.cache_clear()
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
        stats = emu.stats_snapshot()
        with connect(DatabaseSettings(database_url=url)) as conn:
            job = JobRepository(conn).get_job(job_id)
            downloading = [e.at.timestamp() for e in JobRepository(conn).events(job_id)
                           if e.to_status.value == "downloading"]
    if description["status"] != "SUCCEEDED":
        raise RuntimeError(f"execution {description['status']}: {description.get('error')} {description.get('cause')}")
    requests = stats["requests"]
    entered = Counter(state_names(events))
    polls = requests.get("get", 0)
    invocations = _invocations(events)
    fixed_invocations = {fn: n - (polls if fn in ROUND_LAMBDAS else 0) for fn, n in invocations.items()}
    if mode == "callback":
        fixed_invocations["api"] = sum(1 for d in stats["webhooks"]["recent"] if d.get("httpStatus") == 200)
    lag = downloading[0] - ended[job.sync_generation_id] if downloading and job.sync_generation_id in ended else None
    return {
        "mode": mode,
        "fixed_transitions": sum(entered.values()) - polls * len(ROUND_STATES),
        "transitions_per_poll": len(ROUND_STATES),
        "fixed_invocations": fixed_invocations,
        "invocations_per_poll": {fn: 1 for fn in ROUND_LAMBDAS},
        "status_calls": polls,
        "lag_s": lag,
        "matches": polls == sim_polls and requests.get("create", 0) == 1,
        "real": {"status_calls": polls, "simulated_status_calls": sim_polls, "creates": requests.get("create", 0),
                 "states_entered": dict(entered), "invocations": dict(invocations), "wall_s": wall,
                 "emulator_requests": requests, "webhooks": stats["webhooks"]["delivered"]},
        "summary": (f"{mode}: G={GENERATION:.0f} s compressed x{1 / K:.0f} ({wall:.1f} s wall): {polls} Sync.so "
                    f"status calls vs {sim_polls} simulated, {sum(entered.values())} states entered, "
                    f"{sum(invocations.values())} Lambda invocations {dict(invocations)}"
                    + (f", generation end -> downloading {lag:.2f} s" if lag is not None else "")),
    }
