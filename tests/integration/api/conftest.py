"""The api handler against real Postgres (one fresh database per test) and moto S3 + Step Functions.

The bucket is versioned, as the stack's (devstack.buckets); `@pytest.mark.unversioned_bucket` gives a
test a bucket without versioning (the fallback: no version ids, the probe pinned by ETag only)."""

import itertools
import json
import os
import warnings
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from devstack.buckets import create_media_bucket
from devstack.media_samples import make_tone, make_video
from prosync.aws import reset_clients
from prosync.db.connection import close_all, connect
from prosync.db.repository import JobRepository
from prosync.settings import DatabaseSettings, Tier, api_settings
from tests.unit.api.apitest import call, job_request
from tests.unit.api.samples import silent_wav

BUCKET = "prosync-media-test"
_shared = itertools.count()
TRIVIAL_MACHINE = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


def set_aws_env(monkeypatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                        "MEDIA_BUCKET": BUCKET}.items():
        monkeypatch.setenv(name, value)


def pytest_configure(config):
    config.addinivalue_line("markers", "unversioned_bucket: the media bucket without versioning")


def make_bucket_and_machine(monkeypatch, *, versioned: bool = True) -> SimpleNamespace:
    s3, sfn = boto3.client("s3"), boto3.client("stepfunctions")
    create_media_bucket(s3, BUCKET, versioned=versioned)
    arn = sfn.create_state_machine(name="prosync-test", definition=json.dumps(TRIVIAL_MACHINE),
                                   roleArn="arn:aws:iam::123456789012:role/prosync-sfn")["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    return SimpleNamespace(s3=s3, sfn=sfn, bucket=BUCKET, state_machine_arn=arn)


@pytest.fixture
def aws(monkeypatch, request):
    set_aws_env(monkeypatch)
    with mock_aws():
        reset_clients()
        versioned = request.node.get_closest_marker("unversioned_bucket") is None
        yield make_bucket_and_machine(monkeypatch, versioned=versioned)
    reset_clients()


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """The files of `job_request()`: a 4 s video, a 2 s wav (intro), a 2 s mp3 (outro), plus extras."""
    folder = tmp_path_factory.mktemp("api-media")
    return {
        "video": make_video(folder / "talk.mp4", 4),
        "intro": make_tone(folder / "intro.wav", 2, 440),
        "outro": make_tone(folder / "outro.mp3", 2, 660),
        "long": silent_wav(folder / "long.wav", 301),
    }


class Api:
    """Calls the handler as a user and reads what it wrote."""

    def __init__(self, aws, db, media):
        self.aws, self.db, self.media = aws, db, media
        self.repo = JobRepository(db)
        tiers = {"pro": Tier.PRO, "ent": Tier.ENTERPRISE, "free": Tier.FREE, "other": Tier.PRO}
        for user, tier in tiers.items():
            self.repo.set_tier(user, tier, f"{user}@example.com")

    def create(self, body=None, user="pro", key=None):
        headers = {"Idempotency-Key": key} if key else None
        return call("POST", "/sync/pro-sync-process", user=user, body=body or job_request(), headers=headers)

    def start(self, job_id, user="pro"):
        return call("POST", f"/sync/pro-job/{job_id}/start", user=user)

    def status(self, job_id, user="pro"):
        return call("GET", f"/sync/pro-job/{job_id}/status", user=user)

    def cancel(self, job_id, user="pro"):
        return call("POST", f"/sync/pro-job/{job_id}/cancel", user=user)

    def upload(self, created, files=None, content_types=None):
        """Put the job's files where its presigned POSTs point (`files`: slot -> path or bytes)."""
        uploads = created.body["uploads"]
        targets = {"video": uploads["video"], **uploads["audios"]}
        files = {**{"video": self.media["video"], "intro": self.media["intro"], "outro": self.media["outro"]},
                 **(files or {})}
        for slot, target in targets.items():
            data = files.get(slot)
            if data is None:
                continue
            body = data if isinstance(data, bytes) else data.read_bytes()
            content_type = (content_types or {}).get(slot, target["fields"]["Content-Type"])
            self.aws.s3.put_object(Bucket=BUCKET, Key=target["key"], Body=body, ContentType=content_type)

    def declared(self, **sizes):
        """job_request() declaring the real sizes of the sample files (or `sizes` per slot)."""
        body = job_request()
        body["video"]["size"] = sizes.get("video", self.media["video"].stat().st_size)
        for audio in body["audios"]:
            audio["size"] = sizes.get(audio["refId"], self.media[audio["refId"]].stat().st_size)
        return body

    def job_rows(self) -> int:
        return self.db.execute("SELECT count(*) AS n FROM video_jobs").fetchone()["n"]

    def objects(self) -> list[str]:
        return [o["Key"] for o in self.aws.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]

    def executions(self) -> list[dict]:
        return self.aws.sfn.list_executions(stateMachineArn=self.aws.state_machine_arn)["executions"]


@pytest.fixture(scope="module")
def module_database(pg_server):
    """One migrated database per test module; `api` empties it before each test (TRUNCATE takes
    milliseconds where a new database from the template takes ~0.6 s)."""
    yield pg_server.create_database(f"api{os.getpid()}_{next(_shared)}", template="prosync_template")
    close_all()


@pytest.fixture
def api(aws, module_database, media, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", module_database)
    api_settings.cache_clear()
    with connect(DatabaseSettings(database_url=module_database)) as db:
        db.execute("TRUNCATE job_events, video_jobs, users RESTART IDENTITY CASCADE")
        yield Api(aws, db, media)
    api_settings.cache_clear()


@pytest.fixture(scope="module")
def shared_api(pg_server, media):
    """One database and one moto for a whole module whose tests write no job (refused requests):
    a fresh database costs ~0.6 s, so sharing keeps the suite fast."""
    url = pg_server.create_database(f"shared{os.getpid()}_{next(_shared)}", template="prosync_template")
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setenv("DATABASE_URL", url)
        set_aws_env(patch)
        reset_clients()
        api_settings.cache_clear()
        with connect(DatabaseSettings(database_url=url)) as db:
            yield Api(make_bucket_and_machine(patch), db, media)
    close_all()
    reset_clients()
    api_settings.cache_clear()


@pytest.fixture(autouse=True)
def _quiet_empty_metrics():
    """Most requests add no metric; Powertools warns about that on every flush."""
    warnings.filterwarnings("ignore", message="No application metrics to publish")
