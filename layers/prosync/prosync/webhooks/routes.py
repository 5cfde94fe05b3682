"""The webhook endpoints' HTTP routes (a Powertools router the api handler includes under /api/v1).

Thin: the caller (JWT claims, as the handler reads them), the store on the invocation's connection,
the use cases of `prosync.webhooks.api`. Errors are the handler's (one error body).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from prosync.db.connection import get_connection
from prosync.errors import Unauthorized
from prosync.models import SegmentValidationError
from prosync.settings import api_settings
from prosync.webhooks import api
from prosync.webhooks.models import (
    WebhookDeliveryList, WebhookEndpoint, WebhookEndpointCreate, WebhookEndpointDeleted, WebhookEndpointList,
    WebhookEndpointUpdate, WebhookEndpointWithSecret, WebhookRedelivery)
from prosync.webhooks.settings import WebhookSettings
from prosync.webhooks.store import WebhookStore

router = Router()
AUTH = [{"bearerAuth": []}]
TAGS = ["client webhooks"]
settings = cache(WebhookSettings)  # the webhook knobs only (URL rules, endpoints per user, rotation)


def _errors(*codes: int, ok: tuple[int, str] = (200, "done")) -> dict[int, dict]:
    text = {401: "no or invalid token", 404: "no such endpoint or delivery (or not yours)",
            409: "too many endpoints", 422: "invalid request (a URL that is not https://...)"}
    body = {"application/json": {"model": SegmentValidationError}}
    return {ok[0]: {"description": ok[1]}} | {code: {"description": text[code], "content": body} for code in codes}


def _user() -> str:
    claims = (((router.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {})
              .get("jwt") or {}).get("claims") or {}
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str) or not sub.strip():
        raise Unauthorized("a valid bearer token is required")
    return sub


def _store() -> WebhookStore:  # the api function's own connection (its settings: prosync.settings)
    return WebhookStore(get_connection(api_settings()))


def _user_row(user_id: str) -> None:
    get_connection(api_settings()).execute(
        "INSERT INTO users (id) VALUES (%s) ON CONFLICT (id) DO NOTHING", (user_id,))


@router.post("/webhooks/endpoints", status_code=201, summary="Register a webhook endpoint", tags=TAGS,
             security=AUTH, responses=_errors(401, 409, 422, ok=(201, "registered: its secret, shown only now")))
def create_endpoint(request: Annotated[WebhookEndpointCreate, Body()]) -> WebhookEndpointWithSecret:
    user = _user()
    _user_row(user)
    return api.create(user, request, _store(), settings())


@router.get("/webhooks/endpoints", summary="Your webhook endpoints", tags=TAGS, security=AUTH,
            responses=_errors(401))
def list_endpoints() -> WebhookEndpointList:
    return api.list_endpoints(_user(), _store())


@router.get("/webhooks/endpoints/<endpoint_id>", summary="One webhook endpoint", tags=TAGS, security=AUTH,
            responses=_errors(401, 404, 422))
def get_endpoint(endpoint_id: UUID) -> WebhookEndpoint:
    return api.get(_user(), endpoint_id, _store())


@router.patch("/webhooks/endpoints/<endpoint_id>", summary="Change a webhook endpoint (URL, events, "
              "description, enabled)", tags=TAGS, security=AUTH, responses=_errors(401, 404, 422))
def update_endpoint(endpoint_id: UUID, request: Annotated[WebhookEndpointUpdate, Body()]) -> WebhookEndpoint:
    return api.update(_user(), endpoint_id, request, _store(), settings())


@router.delete("/webhooks/endpoints/<endpoint_id>", summary="Delete a webhook endpoint", tags=TAGS,
               security=AUTH, responses=_errors(401, 404, 422, ok=(200, "deleted (its deliveries too)")))
def delete_endpoint(endpoint_id: UUID) -> WebhookEndpointDeleted:
    api.delete(_user(), endpoint_id, _store())
    return WebhookEndpointDeleted(id=endpoint_id)


@router.post("/webhooks/endpoints/<endpoint_id>/rotate-secret", summary="A new signing secret (the "
             "previous one keeps signing too for 24 h)", tags=TAGS, security=AUTH,
             responses=_errors(401, 404, 422))
def rotate_secret(endpoint_id: UUID) -> WebhookEndpointWithSecret:
    return api.rotate(_user(), endpoint_id, _store(), settings())


@router.get("/webhooks/endpoints/<endpoint_id>/deliveries", summary="The endpoint's delivery log, "
            "newest first (each attempt: status code, latency, outcome)", tags=TAGS, security=AUTH,
            responses=_errors(401, 404, 422))
def list_deliveries(endpoint_id: UUID,
                    limit: Annotated[int, Query(ge=1, le=200, description="deliveries")] = 50) -> WebhookDeliveryList:
    return api.deliveries(_user(), endpoint_id, _store(), limit)


@router.post("/webhooks/endpoints/<endpoint_id>/deliveries/<delivery_id>/redeliver", status_code=202,
             summary="Send a delivery again (same webhook-id, a fresh budget of attempts)", tags=TAGS,
             security=AUTH, responses=_errors(401, 404, 422, ok=(202, "queued")))
def redeliver(endpoint_id: UUID, delivery_id: UUID) -> WebhookRedelivery:
    api.redeliver(_user(), endpoint_id, delivery_id, _store())
    return WebhookRedelivery(delivery_id=delivery_id)

