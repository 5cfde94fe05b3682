"""Settings: one pydantic-settings model per function, read once at cold start.

Tier limits are settings too (env `PROSYNC_TIERS__PRO__MAX_SEGMENTS=6` and so on), never constants in code.
"""

from enum import StrEnum
from functools import lru_cache

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Tier(StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class TierLimits(BaseModel):
    max_segments: int
    max_video_bytes: int
    max_audio_bytes: int
    max_active_jobs: int


class TierSettings(BaseModel):
    pro: TierLimits = TierLimits(
        max_segments=5, max_video_bytes=500 * MIB, max_audio_bytes=100 * MIB, max_active_jobs=3
    )
    enterprise: TierLimits = TierLimits(
        max_segments=10, max_video_bytes=2048 * MIB, max_audio_bytes=250 * MIB, max_active_jobs=10
    )

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
    aws_region: str = Field(default="us-east-1", validation_alias="AWS_REGION")


class StorageSettings(_Base):
    media_bucket: str = "prosync-media"
    upload_url_expiry_seconds: int = Field(default=900, le=900, ge=60)
    result_url_expiry_seconds: int = Field(default=3600, le=7 * 24 * 3600)
    sync_input_url_expiry_seconds: int = Field(default=6 * 3600, le=7 * 24 * 3600)


class SyncSettings(_Base):
    """Sync.so access: a key from the environment locally, from Secrets Manager on AWS."""

    sync_api_base_url: str = "https://api.sync.so"
    sync_api_key: str | None = None
    sync_api_key_secret_arn: str | None = None
    sync_timeout_seconds: float = 10.0


class ApiSettings(DatabaseSettings, StorageSettings):
    state_machine_arn: str = "arn:aws:states:us-east-1:123456789012:stateMachine:prosync-dev-jobs"
    tiers: TierSettings = TierSettings()
    max_speech_seconds_per_segment: float = 300.0


class JobStoreSettings(DatabaseSettings):
    pass


class SubmitSettings(SyncSettings, StorageSettings):
    webhook_url: str | None = None


class PollSettings(SyncSettings):
    poll_first_wait_min_seconds: int = 5
    poll_max_wait_seconds: int = 60
    poll_growth_factor: float = 1.5


class DownloadSettings(SyncSettings, StorageSettings):
    multipart_chunk_bytes: int = Field(default=8 * MIB, ge=5 * MIB)


@lru_cache
def api_settings() -> ApiSettings:
    return ApiSettings()
