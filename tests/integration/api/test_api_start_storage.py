"""Start when S3 fails or an upload changes while it is checked.

S3 failing (HeadObject 403/5xx, throttling, unreachable; a GetObject of the probe failing) is our
side: 503 `storage_unavailable`, safe to retry. In the versioned bucket (the stack's) the probe reads
the version its HeadObject saw, so an upload replaced, cut short or deleted meanwhile changes nothing:
that version is checked, recorded and later sent to Sync.so. In a bucket without versioning such an
upload is the user's doing: 422 naming the file. Either way a refused job keeps awaiting its uploads.
Failures are made on the boto3 client only (botocore's Stubber, or one of its events doing what a
concurrent user or operator would do); our code is never patched.
"""

import json
import threading
from uuid import UUID

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from prosync.aws import client, reset_clients
from prosync.jobs.status import JobStatus
from tests.integration.api.conftest import BUCKET


def uploaded_job(api) -> str:
    answer = api.create(api.declared())
    assert answer.status == 201, answer.body
    api.upload(answer)
    return answer.body["jobId"]


def still_awaiting(api, job_id: str) -> None:
    assert api.repo.get_job(UUID(job_id)).status is JobStatus.AWAITING_UPLOAD
    assert api.executions() == []


@pytest.mark.parametrize("code, http", [
    ("403", 403),  # HEAD answers carry no error body: the code is the status
    ("500", 500),
    ("503", 503),
    ("SlowDown", 503),
    ("Throttling", 400),
])
def test_head_object_failures_are_503(api, code, http):
    job_id = uploaded_job(api)
    with Stubber(client("s3")) as stub:
        for _ in range(3):  # video + two audios, checked in parallel
            stub.add_client_error("head_object", service_error_code=code, http_status_code=http)
        result = api.start(job_id)
        stub.assert_no_pending_responses()
    assert result.status == 503, result.body
    assert result.code == "storage_unavailable" and "again" in result.body["error"]["message"]
    still_awaiting(api, job_id)


def test_s3_unreachable_is_503(api, monkeypatch):
    job_id = uploaded_job(api)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no retries with backoff in a test
    reset_clients()

    def unreachable(request, **_):
        raise EndpointConnectionError(endpoint_url=request.url)

    client("s3").meta.events.register("before-send.s3.HeadObject", unreachable)
    result = api.start(job_id)
    assert result.status == 503 and result.code == "storage_unavailable", result.body
    still_awaiting(api, job_id)


def _on_first_get(api, key_part: str, action) -> None:
    """Run `action` once, just before the probe's first GetObject of a key containing `key_part`
    (after that file's HeadObject): what a user re-uploading or an operator would do meanwhile. The
    probes run in threads: every GetObject waits until `action` is done."""
    done, lock = [], threading.Lock()

    def hook(params, **_):
        with lock:
            if key_part in params.get("Key", "") and not done:
                done.append(True)
                action(params["Key"])

    client("s3").meta.events.register("before-parameter-build.s3.GetObject", hook)


@pytest.mark.unversioned_bucket
@pytest.mark.parametrize("keep, next_start", [(5000, 422), (None, 202)],
                         ids=["cut-short", "same-size-other-bytes"])
def test_an_upload_replaced_between_head_and_probe_is_422_naming_it(api, keep, next_start):
    job_id = uploaded_job(api)
    video = api.media["video"].read_bytes()
    replaced = video[:keep] if keep else video[:-1] + bytes([video[-1] ^ 1])
    _on_first_get(api, "/video", lambda key: api.aws.s3.put_object(
        Bucket=BUCKET, Key=key, Body=replaced, ContentType="video/mp4"))
    result = api.start(job_id)
    assert result.status == 422, result.body
    assert result.code == "upload_changed" and result.locs == [["video"]]
    assert "talk.mp4" in result.body["error"]["message"]
    still_awaiting(api, job_id)
    assert api.start(job_id).status == next_start  # the replacement is checked as any upload


@pytest.mark.unversioned_bucket
def test_an_upload_deleted_between_head_and_probe_is_422(api):
    job_id = uploaded_job(api)
    _on_first_get(api, "/audio-intro", lambda key: api.aws.s3.delete_object(Bucket=BUCKET, Key=key))
    result = api.start(job_id)
    assert result.status == 422 and result.code == "upload_changed", result.body
    assert result.locs == [["audios", "intro"]] and "intro.wav" in json.dumps(result.body)
    still_awaiting(api, job_id)


def test_the_bucket_gone_while_probing_is_503(api):
    job_id = uploaded_job(api)

    def remove_bucket(_key):
        listed = api.aws.s3.list_object_versions(Bucket=BUCKET)
        for item in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]:
            api.aws.s3.delete_object(Bucket=BUCKET, Key=item["Key"], VersionId=item["VersionId"])
        api.aws.s3.delete_bucket(Bucket=BUCKET)

    _on_first_get(api, "/", remove_bucket)
    result = api.start(job_id)
    assert result.status == 503 and result.code == "storage_unavailable", result.body
    assert api.repo.get_job(UUID(job_id)).status is JobStatus.AWAITING_UPLOAD


@pytest.mark.parametrize("change", ["replaced", "cut-short", "deleted"])
def test_in_the_versioned_bucket_a_change_mid_check_leaves_the_checked_version(api, change):
    job_id = uploaded_job(api)
    video = api.media["video"].read_bytes()
    key = api.repo.get_job(UUID(job_id)).inputs["video"]["key"]
    checked = api.aws.s3.head_object(Bucket=BUCKET, Key=key)["VersionId"]
    other = {"replaced": video[:-1] + bytes([video[-1] ^ 1]), "cut-short": video[:5000]}.get(change)

    def meanwhile(key):
        if other is None:
            api.aws.s3.delete_object(Bucket=BUCKET, Key=key)  # a delete marker on top
        else:
            api.aws.s3.put_object(Bucket=BUCKET, Key=key, Body=other, ContentType="video/mp4")

    _on_first_get(api, "/video", meanwhile)
    result = api.start(job_id)
    assert result.status == 202 and result.body["status"] == "queued", result.body
    entry = api.repo.get_job(UUID(job_id)).inputs["video"]
    assert entry["versionId"] == checked and entry["size"] == len(video)  # what submit will send
    assert entry["duration"] == pytest.approx(4.0, abs=0.05)
    listed = api.aws.s3.list_object_versions(Bucket=BUCKET, Prefix=key)
    [latest] = [v for v in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])] if v["IsLatest"]]
    assert latest["VersionId"] != checked  # the change did happen, after the HeadObject
