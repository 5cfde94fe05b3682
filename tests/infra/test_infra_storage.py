"""Storage: the media bucket's guardrails and the access-log bucket."""

from infra_testkit import as_list

import pytest

from infra.config import StackConfig
from infra.storage import MAX_SIGNATURE_AGE_MS, NONCURRENT_VERSION_DAYS


def _bucket(synth, construct):
    return synth.template["Resources"][synth.logical_id(construct)]["Properties"]


def _policy_statements(synth, construct):
    ref = {"Ref": synth.logical_id(construct)}
    (policy,) = [
        p for p in synth.resources("AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == ref
    ]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_three_buckets_all_private_encrypted_and_tls_only(synth):
    storage = synth.stack.storage
    assert len(synth.resources("AWS::S3::Bucket")) == 3  # media, access logs, the page (infra/web_hosting.py)
    for construct in (storage.media, storage.access_logs, synth.stack.hosting.bucket):
        props = _bucket(synth, construct)
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        denies = [s for s in _policy_statements(synth, construct) if s["Effect"] == "Deny"]
        assert any(
            s["Action"] == "s3:*" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in denies
        )


def test_media_bucket_refuses_stale_presigned_writes(synth):
    statements = _policy_statements(synth, synth.stack.storage.media)
    (stale,) = [s for s in statements if "s3:signatureAge" in str(s.get("Condition"))]
    assert stale["Effect"] == "Deny" and stale["Principal"] == {"AWS": "*"}
    assert "s3:PutObject" in as_list(stale["Action"])
    assert stale["Condition"] == {"NumericGreaterThan": {"s3:signatureAge": MAX_SIGNATURE_AGE_MS}}
    assert MAX_SIGNATURE_AGE_MS == 900_000


def test_media_bucket_cors_for_browser_post_uploads(synth):
    """The page's origin on the distribution, and the context's local/dev origins (none in prod)."""
    rules = _bucket(synth, synth.stack.storage.media)["CorsConfiguration"]["CorsRules"]
    context_origins = synth.stack.config.cors_origins
    assert len(rules) == (2 if context_origins else 1)
    if context_origins:
        assert rules[0]["AllowedOrigins"] == context_origins
    distribution = synth.logical_id(synth.stack.hosting.distribution)
    page = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]}
    assert rules[-1]["AllowedOrigins"] == [page]
    for rule in rules:
        assert "*" not in rule["AllowedOrigins"]
        assert sorted(rule["AllowedMethods"]) == ["GET", "HEAD", "POST"]
        assert rule["ExposedHeaders"] == ["ETag"]


def test_media_bucket_lifecycle(synth):
    rules = {r["Id"]: r for r in _bucket(synth, synth.stack.storage.media)["LifecycleConfiguration"]["Rules"]}
    uploads = rules["expire-uploads"]
    assert uploads["Status"] == "Enabled" and uploads["Prefix"] == "uploads/"
    assert uploads["ExpirationInDays"] == synth.stack.config.upload_expiry_days
    abort = rules["abort-incomplete-multipart"]
    assert abort["Status"] == "Enabled" and "Prefix" not in abort
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    results = rules["expire-results"]  # results go after results_expiry_days (default 30)
    assert results["Status"] == "Enabled" and results["Prefix"] == "results/"
    assert results["ExpirationInDays"] == synth.stack.config.results_expiry_days == 30
    requests = rules["expire-requests"]  # stored Sync.so request bodies (presigned URLs inside)
    assert requests["Prefix"] == "requests/" and requests["ExpirationInDays"] == 7
    assert "NoncurrentVersionExpiration" not in uploads and "NoncurrentVersionExpiration" not in abort


def test_media_bucket_is_versioned_and_drops_noncurrent_versions(synth):
    """Start pins each checked upload by its version id (a re-upload after start cannot reach Sync.so);
    versions replaced or deleted (expiry, the sweeper: delete markers) go after a day, on every prefix."""
    props = _bucket(synth, synth.stack.storage.media)
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    noncurrent = rules["expire-noncurrent-versions"]
    assert noncurrent["Status"] == "Enabled" and "Prefix" not in noncurrent and "TagFilters" not in noncurrent
    assert noncurrent["NoncurrentVersionExpiration"] == {"NoncurrentDays": NONCURRENT_VERSION_DAYS}
    assert noncurrent["ExpiredObjectDeleteMarker"] is True  # then the markers with nothing behind them
    assert set(rules) == {"expire-uploads", "expire-results", "expire-requests", "abort-incomplete-multipart",
                          "expire-noncurrent-versions", "expire-text-removal-work"}
    work = rules["expire-text-removal-work"]  # issue 16: the tagged work files a canceled job left
    assert work["Prefix"] == "results/" and work["TagFilters"] == [{"Key": "prosync-work", "Value": "textremoval"}]
    assert work["ExpirationInDays"] == 2
    assert rules["expire-requests"]["Prefix"] == "requests/"  # submit's stored request per attempt
    # the access-log bucket is not versioned (nothing pins its objects)
    assert "VersioningConfiguration" not in _bucket(synth, synth.stack.storage.access_logs)


def test_a_pinned_version_outlives_the_longest_job():
    """A version replaced after start becomes noncurrent; Sync.so may fetch it until the job's deadline,
    which is at most 24 h: it must not expire before."""
    StackConfig(job_timeout_minutes=24 * 60)
    with pytest.raises(ValueError):
        StackConfig(job_timeout_minutes=24 * 60 + 1)
    assert NONCURRENT_VERSION_DAYS * 24 * 60 >= 24 * 60


def test_media_bucket_server_access_logs(synth):
    storage = synth.stack.storage
    logging = _bucket(synth, storage.media)["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": synth.logical_id(storage.access_logs)}
    allow = [s for s in _policy_statements(synth, storage.access_logs) if s["Effect"] == "Allow"]
    assert allow and allow[0]["Principal"] == {"Service": "logging.s3.amazonaws.com"}


def test_stateful_resources_are_kept_in_prod(prod, dev):
    for synth, policy in ((prod, "Retain"), (dev, "Delete")):
        for bucket in synth.resources("AWS::S3::Bucket").values():
            assert bucket["DeletionPolicy"] == policy
