"""The media bucket as the stack makes it (infra/storage.py), for moto: every place that creates one
for the API, the workflow or the local stack (devstack, tests, benches) goes through here.

Versioning is on, as in the stack: start records the version of each upload it checked and submit
hands Sync.so exactly that version (`?versionId=`), so a re-upload after start changes nothing.
moto runs no lifecycle rules, so the stack's expiry of uploads and of noncurrent versions is not
reproduced; CORS is set when the browser uploads to it (the local stack).
"""

from __future__ import annotations

from collections.abc import Iterable


def create_media_bucket(s3, bucket: str, *, versioned: bool = True,
                        cors_origins: Iterable[str] | None = None) -> str:
    """Create `bucket` with versioning enabled (`versioned=False`: a bucket as before versioning,
    for the fallback paths) and, with `cors_origins`, CORS for browser POST uploads; its name."""
    s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    if cors_origins:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
            "AllowedOrigins": sorted(set(cors_origins)),
            "AllowedMethods": ["POST", "GET", "HEAD"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag", "Location"],
            "MaxAgeSeconds": 3600,
        }]})
    return bucket
