"""The presigned POSTs the API hands out really upload files: a browser-like multipart POST (httpx) to
moto's S3 served over HTTP, then the job starts from those objects. moto does not enforce POST
policies, so the policy is decoded and checked as S3 would read it."""

import base64
import json
import socket
from datetime import UTC, datetime
from uuid import UUID

import httpx
import pytest
from moto.server import ThreadedMotoServer

from prosync.aws import reset_clients
from prosync.db.repository import JobRepository
from prosync.settings import Tier, api_settings
from tests.integration.api.conftest import BUCKET, make_bucket_and_machine, set_aws_env
from tests.unit.api.apitest import call


@pytest.fixture(scope="module")
def moto_server():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def remote_aws(moto_server, monkeypatch, database_url, db):
    set_aws_env(monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    reset_clients()
    api_settings.cache_clear()
    aws = make_bucket_and_machine(monkeypatch)
    JobRepository(db).set_tier("pro", Tier.PRO)
    yield aws
    httpx.post(f"{moto_server}/moto-api/reset")  # the server outlives the test: forget its state
    reset_clients()
    api_settings.cache_clear()


def test_presigned_posts_upload_over_http_and_the_job_starts(remote_aws, media, moto_server):
    files = {"video": media["video"], "intro": media["intro"], "outro": media["outro"]}
    body = {
        "model": "lipsync-2",
        "video": {"fileName": "talk.mp4", "contentType": "video/mp4", "size": files["video"].stat().st_size},
        "audios": [
            {"refId": "intro", "fileName": "intro.wav", "contentType": "audio/wav",
             "size": files["intro"].stat().st_size},
            {"refId": "outro", "fileName": "outro.mp3", "contentType": "audio/mpeg",
             "size": files["outro"].stat().st_size + 100},  # declared a little more than sent: fine
        ],
        "segments": [{"startTime": 0, "endTime": 2, "audioInput": {"refId": "intro"}},
                     {"startTime": 2, "endTime": 4, "audioInput": {"refId": "outro"}}],
    }
    created = call("POST", "/sync/pro-sync-process", user="pro", body=body)
    assert created.status == 201, created.body
    job_id = created.body["jobId"]
    targets = {"video": created.body["uploads"]["video"], **created.body["uploads"]["audios"]}
    declared = {"video": body["video"], **{a["refId"]: a for a in body["audios"]}}

    for slot, target in targets.items():
        assert target["url"].startswith(moto_server)
        policy = json.loads(base64.b64decode(target["fields"]["policy"]))
        conditions = policy["conditions"]
        assert {"key": target["key"]} in conditions and target["key"].startswith(f"uploads/pro/{job_id}/")
        assert {"Content-Type": declared[slot]["contentType"]} in conditions
        assert ["content-length-range", 1, declared[slot]["size"]] in conditions
        expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        assert 0 < (expiration - datetime.now(UTC)).total_seconds() <= 900

        response = httpx.post(target["url"], data=target["fields"],
                              files={"file": (declared[slot]["fileName"], files[slot].read_bytes(),
                                              declared[slot]["contentType"])}, timeout=30)
        assert response.status_code in (200, 201, 204), response.text
        head = remote_aws.s3.head_object(Bucket=BUCKET, Key=target["key"])
        assert head["ContentLength"] == files[slot].stat().st_size
        assert head["ContentType"] == declared[slot]["contentType"]

    started = call("POST", f"/sync/pro-job/{job_id}/start", user="pro")
    assert started.status == 202 and started.body["status"] == "queued", started.body
    executions = remote_aws.sfn.list_executions(stateMachineArn=remote_aws.state_machine_arn)["executions"]
    assert [e["name"] for e in executions] == [job_id]
    status = call("GET", f"/sync/pro-job/{job_id}/status", user="pro").body
    assert status["status"] == "queued" and UUID(status["jobId"]) == UUID(job_id)
