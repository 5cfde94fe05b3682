"""Presigned access to the media bucket: one POST per uploaded file, GETs of the inputs (for Sync.so,
pinned to the version start checked) and of the result.

Upload keys are made by the server, never from the client's file name:
`uploads/{user}/{job_id}/{slot}{ext}` with slot `video` or `audio-{refId}` (refId already matched
`[A-Za-z0-9_-]{1,64}`) and ext taken only from an allow-list (`.mp4`, `.wav`...; dropped otherwise).
The POST policy (checked by S3 itself) pins the exact key, the exact Content-Type (as a condition and
a pre-filled field) and `content-length-range` [1, declared size]; it expires within 15 minutes.
"""

import hashlib
import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

from botocore.exceptions import ClientError

from prosync.aws import client
from prosync.models import CONTAINERS, UploadTarget

UPLOAD_PREFIX = "uploads"
MAX_POST_EXPIRY_SECONDS = 900
SAFE_EXTENSIONS = frozenset(CONTAINERS)
_SAFE_USER = re.compile(r"[A-Za-z0-9_.@:+=|-]{1,128}")


def user_segment(user_id: str) -> str:
    """The key segment of a user (the JWT `sub`): as it is when it is tame, else a hash of it
    (a sub is never allowed to add `/`, `..` or odd bytes to a key)."""
    if _SAFE_USER.fullmatch(user_id) and user_id not in {".", ".."}:
        return user_id
    return "h-" + hashlib.sha256(user_id.encode()).hexdigest()[:40]


def safe_extension(file_name: str | None) -> str:
    """The file name's extension when it is on the allow-list (lower case), else ''."""
    if not file_name or "." not in file_name:
        return ""
    ext = "." + file_name.rsplit(".", 1)[-1].lower()
    return ext if ext in SAFE_EXTENSIONS else ""


def video_slot() -> str:
    return "video"


def audio_slot(ref_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", ref_id):
        raise ValueError(f"unsafe refId for a key: {ref_id!r}")
    return f"audio-{ref_id}"


def upload_key(user_id: str, job_id: UUID, slot: str, file_name: str | None = None) -> str:
    return f"{UPLOAD_PREFIX}/{user_segment(user_id)}/{UUID(str(job_id))}/{slot}{safe_extension(file_name)}"


def presign_upload(*, bucket: str, key: str, content_type: str, max_bytes: int, expires_in: int,
                   now: datetime | None = None) -> UploadTarget:
    """A presigned POST for exactly this key, this Content-Type and at most `max_bytes` bytes."""
    if max_bytes < 1:
        raise ValueError("max_bytes must be >= 1")
    expires_in = min(int(expires_in), MAX_POST_EXPIRY_SECONDS)
    now = now or datetime.now(UTC)
    post = client("s3").generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, int(max_bytes)]],
        ExpiresIn=expires_in,
    )
    return UploadTarget(url=post["url"], fields=post["fields"], key=key,
                        expires_at=now + timedelta(seconds=expires_in))


def presign_download(*, bucket: str, key: str, expires_in: int, download_name: str | None = None) -> str:
    """A presigned GET; with `download_name` (a safe name) browsers save it under that name."""
    params = {"Bucket": bucket, "Key": key}
    if download_name:
        params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
    return client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=int(expires_in))


def head_object(*, bucket: str, key: str) -> dict | None:
    """{"size", "content_type", "etag", "version_id"} of an object, or None when there is none.
    `version_id` is None in a bucket without versioning (S3's "null" version can be overwritten,
    so it pins nothing)."""
    try:
        head = client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    return {"size": head["ContentLength"], "content_type": head.get("ContentType"), "etag": head.get("ETag"),
            "version_id": pinned_version(head.get("VersionId"))}


def pinned_version(version_id: str | None) -> str | None:
    """A version id that names one immutable version, else None (absent, or S3's "null")."""
    return version_id if version_id and version_id != "null" else None


def presign_input(s3, *, bucket: str, key: str, version_id: str | None, expires_in: int) -> str:
    """A presigned GET of one input for Sync.so. With `version_id` the URL carries `versionId`, so a
    plain GET of it fetches exactly that version, whatever was uploaded to the key since."""
    params = {"Bucket": bucket, "Key": key}
    if pinned_version(version_id):
        params["VersionId"] = version_id
    return s3.generate_presigned_url("get_object", Params=params, ExpiresIn=int(expires_in))
