"""Submit hands Sync.so the version of each input that start checked: the jobstore passes the recorded
version ids along, submit presigns each GET with `versionId` (a query parameter, so Sync.so's plain
GET fetches exactly that version). Jobs without version ids (a bucket without versioning, rows made
before they were recorded) get URLs of the key, as before."""

import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config

from prosync.db.records import JobRecord
from prosync.jobs.status import JobStatus
from prosync.settings import SubmitSettings
from prosync.storage.presign import presign_input
from prosync.workflow.jobstore import submit_request
from prosync.workflow.submit import build_request

BUCKET = "unit-media"


@pytest.fixture
def s3():
    """As `prosync.aws.client("s3")` makes it (SigV4); signing needs no network."""
    return boto3.client("s3", region_name="us-east-1", endpoint_url="https://s3.us-east-1.amazonaws.com",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(signature_version="s3v4"))


def job(versions: dict[str, str]) -> JobRecord:
    job_id = uuid.uuid4()
    prefix = f"uploads/user-1/{job_id}"

    def entry(slot: str) -> dict:
        found = {"key": f"{prefix}/{slot}", "fileName": f"{slot}.x", "contentType": "audio/wav", "size": 10}
        return {**found, "versionId": versions[slot]} if slot in versions else found

    now = datetime.now(UTC)
    return JobRecord(
        id=job_id, user_id="user-1", status=JobStatus.SUBMITTING, stage="submitting", is_pro_job=True,
        segments_data=[{"startTime": 0.0, "endTime": 1.0, "audioInput": {"refId": "a"}},
                       {"startTime": 1.0, "endTime": 2.0, "audioInput": {"refId": "b"}}],
        inputs={"video": entry("video"), "audios": {"a": entry("audio-a"), "b": entry("audio-b")}},
        options={}, model="lipsync-2", output_file_name=None, sync_generation_id=None, execution_arn=None,
        result_key=None, result_size=None, output_duration=None, error_code=None, error_message=None,
        idempotency_key=None, created_at=now, updated_at=now, started_at=now, completed_at=None)


def urls(event: dict, s3) -> dict[str, dict]:
    """{"video" | refId: {"path", "query"}} of the URLs submit would send."""
    request = build_request(event, SubmitSettings(media_bucket=BUCKET), s3)
    found = {}
    for item in request.model_dump(by_alias=True, exclude_none=True)["input"]:
        parts = urlsplit(item["url"])
        found[item.get("refId") or item["type"]] = {"path": parts.path, "query": parse_qs(parts.query)}
    return found


def test_submit_presigns_each_input_at_the_version_start_checked(s3):
    record = job({"video": "v-video-1", "audio-a": "v-a-1", "audio-b": "v-b-1"})
    event = submit_request(record)
    assert event["videoVersionId"] == "v-video-1"
    assert event["audioVersionIds"] == {"a": "v-a-1", "b": "v-b-1"}

    found = urls(event, s3)
    assert {slot: url["query"]["versionId"] for slot, url in found.items()} == {
        "video": ["v-video-1"], "a": ["v-a-1"], "b": ["v-b-1"]}
    assert found["a"]["path"].endswith(f"/{record.inputs['audios']['a']['key']}")
    assert all("X-Amz-Signature" in url["query"] for url in found.values())  # signed with the version


def test_inputs_without_a_version_id_are_presigned_as_before(s3):
    old = submit_request(job({}))  # a row made before version ids were recorded, or no versioning
    assert "videoVersionId" not in old and "audioVersionIds" not in old
    assert all("versionId" not in url["query"] for url in urls(old, s3).values())

    some = submit_request(job({"audio-b": "v-b-1"}))
    assert "videoVersionId" not in some and some["audioVersionIds"] == {"b": "v-b-1"}
    found = urls(some, s3)
    assert [slot for slot, url in found.items() if "versionId" in url["query"]] == ["b"]


def test_s3_null_version_pins_nothing(s3):
    url = presign_input(s3, bucket=BUCKET, key="uploads/k", version_id="null", expires_in=60)
    assert "versionId" not in parse_qs(urlsplit(url).query)
