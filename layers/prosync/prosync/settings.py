"""Settings: one pydantic-settings model per function, read once at cold start.

Tier limits are settings too (env `PROSYNC_TIERS__PRO__MAX_SEGMENTS=6` and so on), never constants in code:
one variable changes one limit, the tier's other limits keep their defaults.
"""

from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Tier(StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class TierLimits(BaseModel):
    max_segments: int = Field(ge=1)
    max_video_bytes: int = Field(ge=1)
    max_audio_bytes: int = Field(ge=1)
    max_active_jobs: int = Field(ge=1)  # queued or running at once
    max_awaiting_upload: int = Field(ge=1)  # created and not yet started (each holds presigned POSTs)
    max_text_regions: int = Field(default=10, ge=0)  # textRemoval.regions of one job (issue 16)


class TierSettings(BaseModel):
    pro: TierLimits = TierLimits(
        max_segments=5, max_video_bytes=500 * MIB, max_audio_bytes=100 * MIB, max_active_jobs=3,
        max_awaiting_upload=5,
    )
    enterprise: TierLimits = TierLimits(
        max_segments=10, max_video_bytes=2048 * MIB, max_audio_bytes=250 * MIB, max_active_jobs=10,
        max_awaiting_upload=10, max_text_regions=50,
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        """A tier given in part (one env variable) keeps its defaults for the rest."""
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, field in cls.model_fields.items():
            if isinstance(data.get(name), dict):
                merged[name] = {**field.default.model_dump(), **data[name]}
        return merged

    def for_tier(self, tier: Tier) -> TierLimits | None:
        """Limits of a paying tier; None for the free tier (it may not create jobs)."""
        return {Tier.PRO: self.pro, Tier.ENTERPRISE: self.enterprise}.get(tier)


class _Base(BaseSettings):
    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore")


class DatabaseSettings(_Base):
    """Either DATABASE_URL (local) or the RDS Proxy endpoint with IAM auth (AWS)."""

    database_url: str | None = None
    db_host: str | None = None
    db_port: int = 5432
    db_name: str = "prosync"
    db_user: str = "prosync"
    db_iam_auth: bool = False
    db_sslrootcert: str = "system"
    db_idle_check_seconds: float = Field(default=60.0, ge=0)  # ping a connection idle this long before use


class StorageSettings(_Base):
    media_bucket: str = "prosync-media"
    upload_url_expiry_seconds: int = Field(default=900, le=900, ge=60)
    result_url_expiry_seconds: int = Field(default=3600, le=7 * 24 * 3600)
    sync_input_url_expiry_seconds: int = Field(default=6 * 3600, le=7 * 24 * 3600)


class SyncSettings(_Base):
    """Sync.so access: a key from the environment locally, from Secrets Manager on AWS.

    `SYNC_TIMEOUT_SECONDS` bounds the short calls (status, list, cost estimate); create has its own,
    `SYNC_CREATE_TIMEOUT_SECONDS`, 60 s as the official SDK (Sync's Premiere extension uses 120 s).
    """

    sync_api_base_url: str = "https://api.sync.so"
    sync_api_key: str | None = None
    sync_api_key_secret_arn: str | None = None
    sync_timeout_seconds: float = Field(default=10.0, gt=0)
    sync_create_timeout_seconds: float = Field(default=60.0, gt=0, le=600)


class SyncQueueSettings(_Base):
    """Sync.so's organisation concurrency limit and the fair queue of jobs under it (`prosync.db.queue`)."""

    sync_max_concurrent_generations: int = Field(default=3, ge=1)  # the plan's limit: 1, 3, 6, 15 or custom
    sync_generation_retries: int = Field(default=2, ge=0)  # new attempts after a retryable FAILED generation
    sync_queue_wait_seconds: int = Field(default=10, ge=1)  # between two claims of a waiting job (scaled)
    sync_queue_stale_seconds: int = Field(default=180, ge=30)  # a queued job silent this long holds up no one


class SyncWebhookSettings(_Base):
    """Sync.so's webhook signing secret: `SYNC_WEBHOOK_SECRET` locally, the secret at
    `SYNC_WEBHOOK_SECRET_ARN` on AWS (plain, or JSON `{"webhookSecret": ...}`)."""

    sync_webhook_secret: str | None = None
    sync_webhook_secret_arn: str | None = None
    sync_webhook_tolerance_seconds: int = Field(default=300, ge=1)  # a signature older (or newer) is refused
    sync_webhook_secret_cache_seconds: int = Field(default=300, ge=0)  # a rotated secret is read again after


class ApiSettings(DatabaseSettings, StorageSettings, SyncQueueSettings, SyncWebhookSettings):
    state_machine_arn: str = "arn:aws:states:us-east-1:123456789012:stateMachine:prosync-dev-jobs"
    tiers: TierSettings = Field(default_factory=TierSettings,
                                validation_alias=AliasChoices("prosync_tiers", "tiers"))
    max_speech_seconds_per_segment: float = 300.0
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)  # a full 10-segment request is ~25 KB
    max_json_depth: int = Field(default=32, ge=4)  # nesting of the JSON body (a create request has 4)
    # when the sweeper expires a job still awaiting its uploads (SweeperSettings, same variable):
    # what a 429 for too many such jobs tells the user
    sweep_expire_after_seconds: int = Field(default=24 * 3600, ge=900)


# Expected Sync.so generation time per second of media, by model (shared/reference/syncso-api.md §3:
# lipsync-2 ~1-3 min per 30 s, lipsync-2-pro ~2-5 min, react-1 ~1-2 min for <=15 s, 1.9-beta ~30-60 s,
# sync-3 ~10-15 min). Used only to choose the first poll; the deadline is what bounds a job.
MODEL_SECONDS_PER_MEDIA_SECOND = {
    "lipsync-2": 4.0, "lipsync-2-pro": 7.0, "lipsync-1.9.0-beta": 1.5, "react-1": 6.0, "sync-3": 25.0,
}


class WorkflowTimingSettings(_Base):
    """Poll timing and the job deadline (jobstore picks the first wait and the deadline, poll the rest).

    `PROSYNC_WAIT_SCALE` multiplies every Wait of the state machine (tests and demos set 0); the
    deadline is not scaled (`WORKFLOW_DEADLINE_SECONDS`).
    """

    poll_first_wait_min_seconds: int = 5
    poll_first_wait_max_seconds: int = 600
    poll_first_wait_fraction: float = Field(default=0.9, gt=0, le=1)
    poll_min_wait_seconds: int = 5  # never more often than a fixed 5 s poll
    poll_max_wait_seconds: int = 60
    poll_step_fraction: float = Field(default=0.08, gt=0, le=1)  # next wait = this x time so far
    poll_max_count: int = Field(default=1000, ge=1)  # keeps the history far below 25,000 events
    poll_overhead_seconds: float = 15.0
    poll_model_seconds_per_media_second: dict[str, float] = MODEL_SECONDS_PER_MEDIA_SECOND
    poll_default_seconds_per_media_second: float = 5.0
    workflow_deadline_seconds: int = Field(default=2 * 3600, ge=0)
    wait_scale: float = Field(default=1.0, ge=0, validation_alias="PROSYNC_WAIT_SCALE")
    # A status outage never ends a paid generation: after the n-th failed status call in a row the next
    # wait is base x 2^(n-1), at most max (and never shorter than the normal schedule's next wait).
    poll_status_error_backoff_base_seconds: int = Field(default=5, ge=1)
    poll_status_error_backoff_max_seconds: int = Field(default=300, ge=1)
    # FAILED generations with one of these codes are worth a new attempt (docs-v2 error-handling.mdx).
    poll_retryable_error_codes: list[str] = [
        "generation_timeout", "generation_pipeline_failed", "generation_database_error"]


class JobStoreSettings(DatabaseSettings, WorkflowTimingSettings, SyncQueueSettings):
    # With Sync.so's webhook (`SYNC_WEBHOOKS`, on when submit sends a webhookUrl) the webhook ends the
    # wait; the first fallback poll then comes this fraction of the expected generation time after
    # submit (the adaptive schedule after it), instead of `poll_first_wait_fraction` (0.9) without it.
    sync_webhooks: bool = True
    callback_first_wait_fraction: float = Field(default=1.2, gt=0, le=5)
    callback_first_wait_max_seconds: int = Field(default=1800, ge=5)


class SubmitSettings(SyncSettings, StorageSettings):
    """Submit: one stored request per attempt (see `prosync.workflow.submit`)."""

    webhook_url: str | None = None
    # Input URLs are presigned once per attempt with this expiry. A URL signed with the Lambda role's
    # temporary credentials dies with their session token (observed ~12 h after the environment got
    # them, undocumented; a warm environment may be hours old): keep it well under that
    # (docs/ARCHITECTURE.md, "Sync.so contract"). A new attempt presigns afresh.
    submit_input_url_expiry_seconds: int = Field(default=2 * 3600, ge=900, le=6 * 3600)
    # How many of the organisation's newest generations the lookup by video URL reads.
    submit_lookup_limit: int = Field(default=100, ge=1, le=100)
    submit_estimate_cost: bool = True  # POST /v2/analyze/cost before attempt 1's create
    # 429 concurrency_limit_reached: wait Retry-After (else the default), at most the max.
    submit_concurrency_retry_default_seconds: int = Field(default=30, ge=1)
    submit_concurrency_retry_max_seconds: int = Field(default=600, ge=1)


class PollSettings(SyncSettings, WorkflowTimingSettings):
    pass


class DownloadSettings(SyncSettings, StorageSettings):
    multipart_chunk_bytes: int = Field(default=8 * MIB, ge=5 * MIB)  # one part; memory stays ~ this
    # parts fetched (ranged GETs) and sent at once; memory ~ this x the part size. At most 10: the S3
    # client's connection pool (botocore's default max_pool_connections).
    download_parts_in_flight: int = Field(default=8, ge=1, le=10)
    download_ranged: bool = True  # parallel ranged GETs when the output's server takes Range
    download_read_bytes: int = Field(default=256 * 1024, ge=1024)
    download_timeout_seconds: float = 60.0  # per network read, not for the whole download
    # Hosts (and their subdomains) output URLs may point to; empty: any public https host.
    sync_output_hosts: list[str] = []


class SweeperSettings(DatabaseSettings, StorageSettings):
    """The sweeper (`prosync.jobs.sweep`): when a job counts as abandoned or stalled, and how many of
    each kind one run handles."""

    # a job awaiting its uploads this long is expired (never before its presigned POSTs have expired)
    sweep_expire_after_seconds: int = Field(default=24 * 3600, ge=900)
    # a queued/running job unchanged this long is checked against its execution
    sweep_stalled_after_seconds: int = Field(default=15 * 60, ge=60)
    sweep_batch_size: int = Field(default=100, ge=1, le=1000)  # jobs per kind per run


@lru_cache
def api_settings() -> ApiSettings:
    return ApiSettings()
