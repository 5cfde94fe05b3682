"""Settings of the client webhooks: one model, read by the api (URL rules), the notifier and the
delivery function."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from prosync.settings import DatabaseSettings


class WebhookSettings(DatabaseSettings):
    model_config = SettingsConfigDict(env_prefix="", env_nested_delimiter="__", extra="ignore")

    # Dev only: endpoints on http://127.0.0.1 are accepted (and connected to: the guard trusts that
    # exact origin). Never set on AWS; the api refuses anything but https:// without it.
    webhooks_allow_http_loopback: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Backoff: attempt n waits base * factor^(n-1) (capped), with up to 10% jitter, until
    # max_attempts (11: ~25.6 h after the first attempt) -> dead-letter queue.
    webhook_retry_base_seconds: float = Field(default=5.0, ge=0)
    webhook_retry_factor: float = Field(default=4.0, ge=1)
    webhook_retry_cap_seconds: float = Field(default=6 * 3600.0, ge=0)
    webhook_max_attempts: int = Field(default=11, ge=1, le=50)
    webhook_retry_scale: float = Field(default=1.0, ge=0)  # tests and the local stack shrink time
    webhook_previous_secret_hours: float = Field(default=24.0, ge=0)  # rotation: old secret still signs
    webhook_endpoints_per_user: int = Field(default=10, ge=1)


