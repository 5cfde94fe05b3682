"""The webhook routes' bodies (camelCase on the wire, unknown fields refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from prosync.models import RequestModel, WireModel

EventType = Literal["job.queued", "job.processing", "job.progress", "job.completed", "job.failed",
                    "job.canceled"]


class WebhookEndpointCreate(RequestModel):
    url: str = Field(max_length=2048, description="https:// only (the local stack also takes http://127.0.0.1)")
    event_types: list[EventType] = Field(min_length=1, max_length=6, description="the events to send")
    description: str | None = Field(default=None, max_length=200)


class WebhookEndpointUpdate(RequestModel):
    url: str | None = Field(default=None, max_length=2048)
    event_types: list[EventType] | None = Field(default=None, min_length=1, max_length=6)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None


class WebhookEndpoint(WireModel):
    id: UUID
    url: str
    description: str | None = None
    event_types: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="after a rotation: until when the previous secret still signs too")


class WebhookEndpointWithSecret(WebhookEndpoint):
    secret: str = Field(description="whsec_...: shown only here (create, rotate); verify signatures with it")


class WebhookEndpointList(WireModel):
    items: list[WebhookEndpoint]


class WebhookAttempt(WireModel):
    attempt: int
    at: datetime
    status_code: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    outcome: str = Field(description="delivered | retry | dead (in the dead-letter queue)")


class WebhookDelivery(WireModel):
    id: UUID = Field(description="the webhook-id header of every attempt")
    event_id: int
    event_type: str
    state: str = Field(description="pending | delivered | dead")
    attempts: int
    next_attempt_at: datetime | None = None
    created_at: datetime
    log: list[WebhookAttempt]


class WebhookDeliveryList(WireModel):
    items: list[WebhookDelivery]


class WebhookEndpointDeleted(WireModel):
    id: UUID
    deleted: bool = True


class WebhookRedelivery(WireModel):
    delivery_id: UUID = Field(description="the same webhook-id as before")
    queued: bool = True
