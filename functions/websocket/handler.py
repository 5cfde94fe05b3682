"""websocket Lambda (in the VPC): the WebSocket API's `$connect`, `$disconnect`, `subscribe` and
`$default` routes (route selection `$request.body.action`), as the local gateway's
devstack/gateway/websocket.py answers them. The caller is the `sub` the authorizer put in the
context; `subscribe`'s answer (`subscribed`, or `error` `not_found` for another user's job) is the
route response; the events then come from the notifier, from the subscription's cursor."""

import json
import uuid

from aws_lambda_powertools import Logger

from prosync.db.connection import get_connection, per_invocation
from prosync.events.connections import DbSubscriptions, SubscriptionRefused
from prosync.events.settings import WebSocketSettings
from prosync.workflow import runtime

logger = Logger(service="prosync-websocket")


def _answer(message: dict, status: int = 200) -> dict:
    return {"statusCode": status, "body": json.dumps(message, separators=(",", ":"))}


@logger.inject_lambda_context(log_event=False, clear_state=True)
@per_invocation
def lambda_handler(event, context):
    request = event.get("requestContext") or {}
    route, connection_id = request.get("routeKey"), request.get("connectionId")
    subscriptions = DbSubscriptions(get_connection(runtime.settings(WebSocketSettings)))
    if route == "$connect":
        sub = (request.get("authorizer") or {}).get("sub")
        if not sub:
            return {"statusCode": 401}
        subscriptions.connect(connection_id, sub)
        return {"statusCode": 200}
    if route == "$disconnect":
        subscriptions.drop_connection(connection_id)
        return {"statusCode": 200}
    try:
        message = json.loads(event.get("body") or "{}")
    except ValueError:
        return _answer({"type": "error", "code": "invalid_message", "message": "send JSON"})
    if route == "subscribe" and isinstance(message, dict):
        job_id, after = message.get("jobId"), message.get("after")
        if after is not None and (not isinstance(after, int) or isinstance(after, bool) or after < 0):
            return _answer({"type": "error", "code": "invalid_after", "message": "after: an event id"})
        try:
            job_id = str(uuid.UUID(str(job_id))) if job_id is not None else None
            return _answer(subscriptions.subscribe(connection_id, job_id, after))
        except (ValueError, SubscriptionRefused):
            return _answer({"type": "error", "code": "not_found", "message": "no such job"})
    if isinstance(message, dict) and message.get("action") == "ping":
        return _answer({"type": "pong"})
    return _answer({"type": "error", "code": "unknown_action", "message": "subscribe or ping"})
