"""Deleting a job's uploads once nothing will read them: when the user cancels the job and when the
sweeper expires it. One helper for both.

The media bucket is versioned, so a plain DeleteObject would only add a delete marker and keep the
bytes for a day more (the lifecycle rule on noncurrent versions). The job's uploads are deleted for
good: every version and delete marker of its upload keys (ListObjectVersions on the job's folder
`uploads/{user}/{job}/`, then DeleteObjects with version ids). In a bucket without versioning the
listing gives the "null" version of each key, which deletes the object. Only keys of the job's
`inputs` under `uploads/` are touched, whatever the row says.

A failure is logged and reported (False), never raised: the cancel or expiry stands, and the bucket's
lifecycle rule on `uploads/` stays the backstop.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from prosync.db.records import JobRecord
from prosync.storage.presign import UPLOAD_PREFIX

log = logging.getLogger(__name__)

MAX_DELETE = 1000  # DeleteObjects takes at most this many per call


def upload_keys(job: JobRecord) -> list[str]:
    """The job's upload keys (never anything outside `uploads/`, whatever the row says), and only those
    in the job's own folder: a revision (issue 17) reuses its parent's video and audios, which stay."""
    inputs = job.inputs or {}
    entries = [inputs.get("video") or {}, *(inputs.get("audios") or {}).values()]
    keys = [str(e.get("key", "")) for e in entries if isinstance(e, dict)]
    keys.append(str((inputs.get("revision") or {}).get("clipKey") or ""))  # a revision's clip for Sync.so
    return [k for k in keys if k.startswith(f"{UPLOAD_PREFIX}/") and f"/{job.id}/" in k]


def upload_versions(s3, bucket: str, keys: list[str]) -> list[dict[str, str]]:
    """Every version and delete marker of `keys`, as DeleteObjects wants them."""
    wanted, found = set(keys), []
    for folder in sorted({key.rsplit("/", 1)[0] + "/" for key in keys}):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=folder):
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if entry["Key"] in wanted:
                    found.append({"Key": entry["Key"], "VersionId": entry["VersionId"]})
    return found


def delete_uploads(s3, bucket: str, job: JobRecord) -> bool:
    """Delete every version of the job's uploads (none uploaded is fine); False when S3 refused any
    (logged: the lifecycle rule removes them later)."""
    keys = upload_keys(job)
    if not keys:
        return True
    try:
        versions = upload_versions(s3, bucket, keys)
        errors = []
        for start in range(0, len(versions), MAX_DELETE):
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": versions[start:start + MAX_DELETE],
                                                              "Quiet": True})
            errors += answer.get("Errors", [])
    except (ClientError, BotoCoreError) as exc:
        log.warning("deleting the uploads of job %s (%s) failed: %s", job.id, job.status.value, exc)
        return False
    if errors:
        log.warning("deleting the uploads of job %s (%s) failed: %s", job.id, job.status.value, errors)
        return False
    return True
