"""The webhook routes' use cases: a user's endpoints (create with a secret shown once, list, read,
change, delete, rotate), their delivery log, redelivery. Another user's endpoint is a 404."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from prosync.errors import ProSyncError, ValidationFailed
from prosync.webhooks.models import (
    WebhookDelivery, WebhookDeliveryList, WebhookEndpoint, WebhookEndpointCreate, WebhookEndpointList,
    WebhookEndpointUpdate, WebhookEndpointWithSecret)
from prosync.webhooks.settings import WebhookSettings
from prosync.webhooks.signing import new_secret
from prosync.webhooks.store import WebhookStore
from prosync.webhooks.urls import EndpointUrlInvalid, check_url


class EndpointNotFound(ProSyncError):
    status, code = 404, "webhook_endpoint_not_found"


class TooManyEndpoints(ProSyncError):
    status, code = 409, "too_many_webhook_endpoints"


def _public(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "user_id"}


def _url(url: str, settings: WebhookSettings) -> str:
    try:
        return check_url(url, allow_http_loopback=settings.webhooks_allow_http_loopback)
    except EndpointUrlInvalid as exc:
        raise ValidationFailed.at(["body", "url"], str(exc)) from None


def create(user_id: str, request: WebhookEndpointCreate, store: WebhookStore,
           settings: WebhookSettings) -> WebhookEndpointWithSecret:
    url = _url(request.url, settings)
    if store.count(user_id) >= settings.webhook_endpoints_per_user:
        raise TooManyEndpoints(f"at most {settings.webhook_endpoints_per_user} webhook endpoints per user")
    secret = new_secret()
    row = store.create(user_id, url, sorted(set(request.event_types)), request.description, secret)
    return WebhookEndpointWithSecret.model_validate({**_public(row), "secret": secret})


def list_endpoints(user_id: str, store: WebhookStore) -> WebhookEndpointList:
    return WebhookEndpointList(items=[WebhookEndpoint.model_validate(_public(r)) for r in store.list(user_id)])


def get(user_id: str, endpoint_id: UUID, store: WebhookStore) -> WebhookEndpoint:
    row = store.get(user_id, endpoint_id)
    if row is None:
        raise EndpointNotFound("no such webhook endpoint")
    return WebhookEndpoint.model_validate(_public(row))


def update(user_id: str, endpoint_id: UUID, request: WebhookEndpointUpdate, store: WebhookStore,
           settings: WebhookSettings) -> WebhookEndpoint:
    changes = request.model_dump(exclude_unset=True)
    if "url" in changes:
        if changes["url"] is None:
            raise ValidationFailed.at(["body", "url"], "the URL cannot be removed")
        changes["url"] = _url(changes["url"], settings)
    if "event_types" in changes:
        if changes["event_types"] is None:
            raise ValidationFailed.at(["body", "eventTypes"], "at least one event type")
        changes["event_types"] = sorted(set(changes["event_types"]))
    if changes.get("enabled", True) is None:
        raise ValidationFailed.at(["body", "enabled"], "true or false")
    row = store.update(user_id, endpoint_id, changes)
    if row is None:
        raise EndpointNotFound("no such webhook endpoint")
    return WebhookEndpoint.model_validate(_public(row))


def delete(user_id: str, endpoint_id: UUID, store: WebhookStore) -> None:
    if not store.delete(user_id, endpoint_id):
        raise EndpointNotFound("no such webhook endpoint")


def rotate(user_id: str, endpoint_id: UUID, store: WebhookStore,
           settings: WebhookSettings) -> WebhookEndpointWithSecret:
    secret = new_secret()
    row = store.rotate(user_id, endpoint_id, secret, timedelta(hours=settings.webhook_previous_secret_hours))
    if row is None:
        raise EndpointNotFound("no such webhook endpoint")
    return WebhookEndpointWithSecret.model_validate({**_public(row), "secret": secret})


def deliveries(user_id: str, endpoint_id: UUID, store: WebhookStore, limit: int) -> WebhookDeliveryList:
    get(user_id, endpoint_id, store)
    return WebhookDeliveryList(items=[WebhookDelivery.model_validate(r)
                                      for r in store.deliveries(user_id, endpoint_id, limit)])


class DeliveryNotFound(ProSyncError):
    status, code = 404, "webhook_delivery_not_found"


def redeliver(user_id: str, endpoint_id: UUID, delivery_id: UUID, store: WebhookStore) -> None:
    """Pending again, with a fresh budget of attempts; the notifier's queue picks it up (locally
    within seconds; on AWS the next notifier round sends it to SQS)."""
    if not store.redeliver(user_id, endpoint_id, delivery_id):
        raise DeliveryNotFound("no such delivery")
