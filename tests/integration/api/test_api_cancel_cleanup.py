"""Cancel deletes the job's uploads, every version of them (the media bucket is versioned), and a
failure to delete never fails the cancel (the lifecycle rule on uploads/ is the backstop)."""

from uuid import UUID

import pytest

from prosync.settings import api_settings


def versions(api, job_id) -> list[tuple[str, str]]:
    """(key, kind) of every version and delete marker under the job's upload folder."""
    listed = api.aws.s3.list_object_versions(Bucket=api.aws.bucket, Prefix=f"uploads/pro/{job_id}/")
    return sorted([(v["Key"], "version") for v in listed.get("Versions", [])]
                  + [(m["Key"], "marker") for m in listed.get("DeleteMarkers", [])])


def uploaded_twice(api) -> UUID:
    """A job whose video was uploaded twice (two versions) and whose audios once."""
    created = api.create(api.declared())
    api.upload(created)
    api.upload(created, files={"intro": None, "outro": None})  # the video again
    return UUID(created.body["jobId"])


def test_cancel_of_a_waiting_job_deletes_every_version_of_its_uploads(api):
    job_id = uploaded_twice(api)
    other = api.create(api.declared())
    api.upload(other)
    assert len(versions(api, job_id)) == 4  # video x2, intro, outro
    answer = api.cancel(job_id)
    assert answer.status == 202 and answer.body["status"] == "canceled"
    assert versions(api, job_id) == []  # no version, no delete marker left
    assert len(api.objects()) == 3  # the other job's uploads stay


def test_cancel_of_a_running_job_deletes_its_uploads_too(api):
    created = api.create(api.declared())
    api.upload(created)
    job_id = created.body["jobId"]
    assert api.start(job_id).status == 202
    assert api.cancel(job_id).status == 202
    assert versions(api, job_id) == [] and api.executions()[0]["status"] == "ABORTED"


def test_cancel_before_any_upload_is_fine(api):
    job_id = api.create().body["jobId"]
    assert api.cancel(job_id).status == 202 and versions(api, job_id) == []


@pytest.mark.unversioned_bucket
def test_cancel_deletes_the_uploads_in_a_bucket_without_versioning(api):
    created = api.create(api.declared())
    api.upload(created)
    assert api.cancel(created.body["jobId"]).status == 202
    assert api.objects() == []


def test_a_failed_delete_does_not_fail_the_cancel(api, monkeypatch, caplog):
    job_id = uploaded_twice(api)
    monkeypatch.setenv("MEDIA_BUCKET", "no-such-bucket")  # S3 answers NoSuchBucket to the listing
    api_settings.cache_clear()
    answer = api.cancel(job_id)
    assert answer.status == 202 and answer.body["status"] == "canceled"
    assert api.repo.get_job(job_id).status.value == "canceled"
    assert len(versions(api, job_id)) == 4  # left to the lifecycle rule
    assert any(f"deleting the uploads of job {job_id}" in r.getMessage() for r in caplog.records)
