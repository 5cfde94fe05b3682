"""An upload replaced after start never reaches Sync.so: start records the version of each upload it
checked, submit presigns Sync.so's GETs of exactly that version.

Through the real api handler and moto S3 over HTTP (the versioned bucket, as the stack's): create,
upload with the presigned POSTs, start, then upload OTHER files with the same still-valid POSTs; then
the real workflow runs against the Sync.so emulator, which reports the sha256 of every input it fetched.
The API's start queues the job on a no-op state machine, so the test decides when the workflow runs
(after the re-upload), as a slow submit or a queued generation would.
"""

import hashlib
import json
from uuid import UUID

import httpx
import pytest

from devstack.media_samples import make_tone, make_video
from prosync.settings import Tier, api_settings
from tests.unit.api.apitest import call

from .support import BUCKET, SEGMENTS

NO_OP_MACHINE = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


@pytest.fixture
def api(local, db, jobs, monkeypatch):
    """The api handler on this test's database and moto; its StartExecution goes to a no-op machine."""
    arn = local.deploy(name="api-start-only", definition=json.dumps(NO_OP_MACHINE))
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    api_settings.cache_clear()
    jobs.repo.set_tier("pro", Tier.PRO, "pro@example.com")
    yield local
    api_settings.cache_clear()


@pytest.fixture
def replacements(tmp_path):
    """Other files for the same slots: a shorter video, tones of other pitches."""
    files = {"video": make_video(tmp_path / "other.mp4", 2.0, fps=12, size=(96, 64))}
    for index, (ref_id, seconds, _, _) in enumerate(SEGMENTS):
        files[ref_id] = make_tone(tmp_path / f"other-{ref_id}.wav", seconds, 150.0 * (index + 5),
                                  sample_rate=16000)
    return files


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def post(target: dict, path, content_type: str) -> None:
    """A browser's multipart POST with the presigned fields, to moto's S3 over HTTP."""
    answer = httpx.post(target["url"], data=target["fields"],
                        files={"file": (path.name, path.read_bytes(), content_type)}, timeout=30)
    assert answer.status_code in (200, 201, 204), answer.text


def test_a_file_uploaded_again_after_start_does_not_reach_sync(api, jobs, emulator, media, replacements):
    def size(slot):
        return max(media[slot].stat().st_size, replacements[slot].stat().st_size)

    body = {
        "model": "lipsync-2-pro",
        "video": {"fileName": "talk.mp4", "contentType": "video/mp4", "size": size("video")},
        "audios": [{"refId": ref_id, "fileName": f"{ref_id}.wav", "contentType": "audio/wav",
                    "size": size(ref_id)} for ref_id, _, _, _ in SEGMENTS],
        "segments": [{"startTime": start, "endTime": end, "audioInput": {"refId": ref_id}}
                     for ref_id, _, start, end in SEGMENTS],
        "outputFileName": "talk_dubbed",
    }
    created = call("POST", "/sync/pro-sync-process", user="pro", body=body)
    assert created.status == 201, created.body
    job_id = created.body["jobId"]
    targets = {"video": created.body["uploads"]["video"], **created.body["uploads"]["audios"]}
    types = {"video": "video/mp4", **{ref_id: "audio/wav" for ref_id, _, _, _ in SEGMENTS}}
    for slot, target in targets.items():
        assert target["url"].startswith(api.endpoint_url)
        post(target, media[slot], types[slot])

    started = call("POST", f"/sync/pro-job/{job_id}/start", user="pro")
    assert started.status == 202 and started.body["status"] == "queued", started.body
    inputs = jobs.job(job_id).inputs
    checked = {"video": inputs["video"], **inputs["audios"]}
    assert all(entry.get("versionId") for entry in checked.values()), checked
    assert checked["video"]["duration"] == pytest.approx(4.0, abs=0.1)

    # the same presigned POSTs (valid for 15 minutes) take other files: now the current objects
    s3 = api.client("s3")
    for slot, target in targets.items():
        post(target, replacements[slot], types[slot])
        head = s3.head_object(Bucket=BUCKET, Key=target["key"])
        assert head["ContentLength"] == replacements[slot].stat().st_size
        assert head["VersionId"] != checked[slot]["versionId"]

    run = jobs.run(job_id)
    assert run.description["status"] == "SUCCEEDED", run.description

    # Sync.so (the emulator) fetched exactly the checked bytes, never the replacements
    fetched = {item["refId"] or item["type"]: item for item in emulator.stats_snapshot()["inputs_fetched"]}
    assert set(fetched) == set(targets)
    for slot, item in fetched.items():
        assert item["sha256"] == sha256(media[slot]) != sha256(replacements[slot]), slot
        assert item["size"] == media[slot].stat().st_size
    job = jobs.job(job_id)
    assert job.status.value == "completed"
    assert job.output_duration == pytest.approx(4.0, abs=0.25)  # the checked 4 s video, not the 2 s one
    assert UUID(job_id) == job.id
