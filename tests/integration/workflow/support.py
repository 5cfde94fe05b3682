"""Helpers of the workflow tests: sample segments, a queued job as the API leaves it, runs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from devstack.localaws import LocalAwsServer, state_names
from prosync.db.records import NewJob
from prosync.db.repository import JobRepository
from prosync.jobs.status import JobStatus
from prosync.settings import Tier

BUCKET = "prosync-media-test"
VIDEO_SECONDS = 4.0
# (refId, audio seconds, segment start, segment end)
SEGMENTS = [("intro", 1.0, 0.0, 1.0), ("middle", 1.2, 1.5, 2.5), ("outro", 0.8, 3.0, 3.8)]


@dataclass
class Run:
    job_id: str
    execution_arn: str
    description: dict
    events: list[dict]

    @property
    def states(self) -> list[str]:
        return state_names(self.events)

    def failed_tasks(self) -> list[tuple[str, str]]:
        """(state-less) error names of every failed task attempt, in order."""
        return [(e["taskFailedEventDetails"]["error"]) for e in self.events if "taskFailedEventDetails" in e]


class JobFactory:
    def __init__(self, repo: JobRepository, local: LocalAwsServer, media: dict[str, Path]):
        self.repo, self.local, self.media = repo, local, media
        repo.set_tier("user-1", Tier.PRO, "editor@example.com")

    def create(self, *, upload: bool = True, inputs: dict | None = None,
               output_file_name: str | None = "talk_dubbed", model: str = "lipsync-2-pro",
               options: dict | None = None, versions: bool = True, user: str = "user-1") -> str:
        """A queued job as the API leaves it after /start: uploads in S3, durations and the uploads'
        version ids in `inputs` (`versions=False`: none, as a job started before they were recorded)."""
        job_id = uuid.uuid4()
        if user != "user-1":
            self.repo.set_tier(user, Tier.PRO, f"{user}@example.com")
        prefix = f"uploads/{user}/{job_id}"
        video = {"key": f"{prefix}/video", "fileName": "talk.mp4", "contentType": "video/mp4",
                 "size": self.media["video"].stat().st_size, "duration": VIDEO_SECONDS}
        audios = {ref_id: {"key": f"{prefix}/{ref_id}", "fileName": f"{ref_id}.wav",
                           "contentType": "audio/wav", "size": self.media[ref_id].stat().st_size,
                           "duration": seconds}
                  for ref_id, seconds, _, _ in SEGMENTS}
        segments = [{"startTime": start, "endTime": end, "audioInput": {"refId": ref_id}}
                    for ref_id, _, start, end in SEGMENTS]
        if upload:
            s3 = self.local.client("s3")
            s3.upload_file(str(self.media["video"]), BUCKET, video["key"],
                           ExtraArgs={"ContentType": "video/mp4"})
            for ref_id in audios:
                s3.upload_file(str(self.media[ref_id]), BUCKET, audios[ref_id]["key"])
            for entry in [video, *audios.values()] if versions else []:
                entry["versionId"] = s3.head_object(Bucket=BUCKET, Key=entry["key"])["VersionId"]
        self.repo.create_job(NewJob(
            id=job_id, user_id=user, is_pro_job=True, segments_data=segments,
            inputs=inputs if inputs is not None else {"video": video, "audios": audios},
            options=options if options is not None else {"sync_mode": "cut_off", "temperature": 0.5}, model=model,
            output_file_name=output_file_name))
        assert self.repo.transition(job_id, JobStatus.QUEUED, detail={"step": "start"})
        return str(job_id)

    def start(self, job_id: str) -> str:
        return self.local.start_execution(self.local.state_machine_arn, job_id)

    def finish(self, job_id: str, execution_arn: str, timeout: float = 60.0) -> Run:
        description = self.local.wait_execution(execution_arn, timeout=timeout)
        return Run(job_id, execution_arn, description, self.local.history(execution_arn))

    def run(self, job_id: str, timeout: float = 60.0) -> Run:
        return self.finish(job_id, self.start(job_id), timeout)

    def job(self, job_id: str):
        return self.repo.get_job(uuid.UUID(job_id))

    def events(self, job_id: str) -> list[tuple[str | None, str]]:
        return [(e.from_status and e.from_status.value, e.to_status.value)
                for e in self.repo.events(uuid.UUID(job_id))]

    def multipart_uploads(self) -> list:
        return self.local.client("s3").list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
