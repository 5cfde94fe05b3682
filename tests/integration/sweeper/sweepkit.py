"""Jobs in every status with executions in every state, for the sweeper tests (moto via
`devstack.localaws.local_aws(no_sleep=False)`: executions run in real time)."""

from __future__ import annotations

import json
import uuid

from devstack.buckets import create_media_bucket
from prosync.db.records import NewJob
from prosync.db.repository import JobRepository
from prosync.jobs import sweep
from prosync.jobs.status import JobStatus
from prosync.settings import SweeperSettings, Tier

BUCKET = "prosync-sweep-test"
MACHINES = {  # what an execution of each does (real time: no_sleep=False)
    "running": {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}},
    "failed": {"StartAt": "F", "States": {"F": {
        "Type": "Fail", "Error": "DatabaseUnavailable",
        "Cause": json.dumps({"errorType": "DatabaseUnavailable", "errorMessage": "db down"})}}},
    "succeeded": {"StartAt": "S", "States": {"S": {"Type": "Succeed"}}},
    "timed_out": {"StartAt": "W", "TimeoutSeconds": 1,
                  "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}},
}
_RUNNING = [JobStatus.QUEUED, JobStatus.SUBMITTING, JobStatus.PROCESSING]
PATHS = {  # the transitions that bring a new job to each status
    JobStatus.AWAITING_UPLOAD: [],
    JobStatus.QUEUED: [JobStatus.QUEUED],
    JobStatus.SUBMITTING: _RUNNING[:2],
    JobStatus.PROCESSING: _RUNNING,
    JobStatus.DOWNLOADING: [*_RUNNING, JobStatus.DOWNLOADING],
    JobStatus.COMPLETED: [*_RUNNING, JobStatus.DOWNLOADING, JobStatus.COMPLETED],
    JobStatus.FAILED: [JobStatus.QUEUED, JobStatus.FAILED],
    JobStatus.CANCELED: [JobStatus.QUEUED, JobStatus.CANCELED],
    JobStatus.EXPIRED: [JobStatus.EXPIRED],
}


class Jobs:
    def __init__(self, db, aws):
        self.db, self.aws, self.repo = db, aws, JobRepository(db)
        self.sfn, self.s3 = aws.client("stepfunctions"), aws.client("s3")
        create_media_bucket(self.s3, BUCKET)  # versioned, as the stack's
        self.machines = {name: aws.deploy(name=f"sweep-{name}", definition=json.dumps(d))
                         for name, d in MACHINES.items()}
        self.repo.set_tier("user-1", Tier.PRO)
        self.settings = SweeperSettings(database_url="unused", media_bucket=BUCKET)
        self.executions: list[str] = []

    def make(self, status: JobStatus, *, age_minutes: float, execution: str | None = None,
             upload: bool = False) -> uuid.UUID:
        """A job in `status`, last changed `age_minutes` ago; `execution`: a machine of MACHINES
        (started now), "missing" (an ARN with no execution) or None (no ARN stored)."""
        job_id = uuid.uuid4()
        inputs = {"video": {"key": f"uploads/user-1/{job_id}/video.mp4"},
                  "audios": {"a": {"key": f"uploads/user-1/{job_id}/audio-a.wav"}}}
        self.repo.create_job(NewJob(id=job_id, user_id="user-1", is_pro_job=True, segments_data=[],
                                    inputs=inputs, options={}, model="lipsync-2"))
        if upload:
            for entry in (inputs["video"], inputs["audios"]["a"]):
                self.s3.put_object(Bucket=BUCKET, Key=entry["key"], Body=b"media")
        arn = None
        if execution == "missing":
            arn = self.machines["running"].replace(":stateMachine:", ":execution:") + f":{job_id}"
        elif execution:
            arn = self.sfn.start_execution(stateMachineArn=self.machines[execution], name=str(job_id),
                                           input="{}")["executionArn"]
            self.executions.append(arn)
            if execution != "running":
                self.aws.wait_execution(arn, timeout=30)
        for step in PATHS[status]:
            assert self.repo.transition(job_id, step, **({"execution_arn": arn} if arn else {})) is not None
        self.db.execute("UPDATE video_jobs SET updated_at = now() - make_interval(mins => %s) WHERE id = %s",
                        (age_minutes, job_id))
        return job_id

    def sweep(self, **settings) -> dict[str, int]:
        config = self.settings.model_copy(update=settings)
        return sweep.run(self.repo, config, self.sfn, self.s3)

    def row(self, job_id) -> dict:
        return self.db.execute("SELECT * FROM video_jobs WHERE id = %s", (job_id,)).fetchone()

    def keys(self) -> list[str]:
        return sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))

    def last_event(self, job_id):
        return self.repo.events(job_id)[-1]
