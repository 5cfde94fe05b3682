"""Settings of the live events functions on AWS (one model per function)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from prosync.settings import DatabaseSettings
from prosync.webhooks.settings import WebhookSettings


class _Env(BaseSettings):
    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore")


class WebSocketSettings(DatabaseSettings):
    """functions/websocket ($connect, $disconnect, subscribe): in the VPC, Postgres only."""


class EventFeedSettings(WebhookSettings):
    """functions/eventfeed: in the VPC; the notifier's rounds and the deliveries' claim/record."""

    feed_wait_seconds: float = Field(default=1.0, ge=0, le=10)  # a round waits this long for an event
    feed_grace_seconds: float = Field(default=2.0, ge=0)  # a hole in the ids is skipped after this
    overdue_after_seconds: float = Field(default=60.0, ge=0)  # pending and this late: sent to SQS again


class NotifierSettings(_Env):
    """functions/notifier: outside the VPC; loops for `notifier_loop_seconds` per scheduled run."""

    eventfeed_function: str = "prosync-eventfeed"
    websocket_management_url: str = "https://example.execute-api.us-east-1.amazonaws.com/live"
    delivery_queue_url: str = "https://sqs.us-east-1.amazonaws.com/123456789012/prosync-webhooks"
    notifier_loop_seconds: float = Field(default=55.0, ge=1)


class DeliverySettings(WebhookSettings):
    """functions/webhooks: outside the VPC; attempts one delivery per SQS message."""

    eventfeed_function: str = "prosync-eventfeed"
    dead_letter_queue_url: str = "https://sqs.us-east-1.amazonaws.com/123456789012/prosync-webhooks-dlq"


class WsAuthSettings(_Env):
    """functions/wsauth: the $connect authorizer; the HTTP API's issuer and audiences."""

    jwt_issuer: str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example"
    jwt_audience: str = ""  # comma-separated: the token's aud (or client_id) must be one of them
