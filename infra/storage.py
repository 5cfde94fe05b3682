"""Storage: one media bucket (`uploads/` from browsers, `results/` from the download function) and the
bucket that receives its server access logs.

Lifecycle: `uploads/` expire after `upload_expiry_days` (7), `results/` after `results_expiry_days`
(30), `requests/` (stored Sync.so request bodies, which hold presigned URLs) after 7 days.

Guardrails on the media bucket: public access blocked, SSE-S3, TLS 1.2+ only, presigned requests
older than 15 minutes refused (`s3:signatureAge`), CORS for browser POST uploads from the front end's
exact origins (`allow_browser_origins`), incomplete multipart uploads aborted after 1 day.

The media bucket is versioned: start records the version of each upload it checked and submit presigns
Sync.so's GETs of exactly that version (`versionId`), so an upload replaced after start (its presigned
POST lives up to 15 minutes) never reaches Sync.so. Noncurrent versions (a replaced upload, a deleted
one: the expiry rule and the sweeper only add delete markers, a result written again) are removed
after NONCURRENT_VERSION_DAYS, then the delete markers left with no version behind them.
NONCURRENT_VERSION_DAYS is at least the longest job deadline (24 h; S3 also rounds the expiry up to
the next midnight UTC), so a version replaced after start is kept for as long as its job may run.

The signature-age deny covers writes (browser POST uploads are signed for at most 15 minutes). Presigned
GETs are bounded by their own expiry instead: Sync.so may fetch its inputs only when a queued
generation starts, so their URLs live longer (`StorageSettings.sync_input_url_expiry_seconds`).
"""

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import StackConfig

UPLOADS_PREFIX = "uploads/"
RESULTS_PREFIX = "results/"
REQUESTS_PREFIX = "requests/"  # submit's stored Sync.so request per attempt (replayed byte for byte)
REQUESTS_EXPIRY_DAYS = 7  # their input URLs died long before; kept a week to look into a job
MAX_SIGNATURE_AGE_MS = 900_000  # 15 minutes
NONCURRENT_VERSION_DAYS = 1  # S3 counts from when a version became noncurrent, rounded up to midnight UTC
# What every bucket of the stack has: no public access, SSE-S3, TLS 1.2+ only, no ACLs.
GUARDED = dict(
    block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
    encryption=s3.BucketEncryption.S3_MANAGED,
    enforce_ssl=True,
    minimum_tls_version=1.2,
    object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
)


class Storage(Construct):
    def __init__(self, scope: Construct, id: str, *, config: StackConfig) -> None:
        super().__init__(scope, id)
        removal = config.removal_policy
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            **GUARDED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(365 if config.is_prod else 30),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=removal,
        )
        self.media = s3.Bucket(
            self,
            "Media",
            **GUARDED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="media/",
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-uploads",
                    prefix=UPLOADS_PREFIX,
                    expiration=Duration.days(config.upload_expiry_days),
                ),
                s3.LifecycleRule(
                    id="expire-results",
                    prefix=RESULTS_PREFIX,
                    expiration=Duration.days(config.results_expiry_days),
                ),
                s3.LifecycleRule(
                    id="expire-requests",
                    prefix=REQUESTS_PREFIX,
                    expiration=Duration.days(REQUESTS_EXPIRY_DAYS),
                ),
                s3.LifecycleRule(  # text removal's work files a canceled execution left (issue 16)
                    id="expire-text-removal-work",
                    prefix=RESULTS_PREFIX,
                    tag_filters={"prosync-work": "textremoval"},
                    expiration=Duration.days(2),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-multipart",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                    expired_object_delete_marker=True,
                ),
            ],
            removal_policy=removal,
        )
        if config.cors_origins:
            self.allow_browser_origins(config.cors_origins)
        self.media.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyStaleSignedWrites",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.media.arn_for_objects("*")],
                conditions={"NumericGreaterThan": {"s3:signatureAge": MAX_SIGNATURE_AGE_MS}},
            )
        )

    def allow_browser_origins(self, origins: list[str]) -> None:
        """CORS for the page's presigned POST uploads and result playback, from exactly these origins
        (the page's origin on CloudFront, and the local/dev ones given by context)."""
        self.media.add_cors_rule(
            allowed_origins=list(origins),
            allowed_methods=[s3.HttpMethods.POST, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
            allowed_headers=["content-type", "content-md5", "x-amz-*"],
            exposed_headers=["ETag"],
            max_age=3000,
        )

    def uploads_arn(self) -> str:
        return self.media.arn_for_objects(f"{UPLOADS_PREFIX}*")

    def results_arn(self) -> str:
        return self.media.arn_for_objects(f"{RESULTS_PREFIX}*")

    def requests_arn(self) -> str:
        return self.media.arn_for_objects(f"{REQUESTS_PREFIX}*")
