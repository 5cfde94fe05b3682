"""eventfeed Lambda (in the VPC; invoked by the notifier and webhooks functions, which run outside
it): the live events' database side (`prosync.events.relay`).

    {"op": "round", "gone": [connection ids]}  -> {"messages", "deliveries", "cursor"}
    {"op": "claim", "deliveryId", "lease"}      -> {"kind": "row" | "later" | "none", ...}
    {"op": "record", "deliveryId", "attempt", "outcome", "statusCode", "latencyMs", "error", "nextIn"}
"""

from aws_lambda_powertools import Logger

from prosync.db.connection import get_connection, per_invocation
from prosync.events import relay
from prosync.events.settings import EventFeedSettings
from prosync.workflow import runtime

logger = Logger(service="prosync-eventfeed")


@logger.inject_lambda_context(log_event=False, clear_state=True)
@per_invocation
def lambda_handler(event, context):
    settings = runtime.settings(EventFeedSettings)
    conn = get_connection(settings)
    op = event.get("op")
    if op == "round":
        return relay.notifier_round(conn, settings, [str(c) for c in event.get("gone") or []])
    if op == "claim":
        return relay.claim(conn, event["deliveryId"], float(event["lease"]))
    if op == "record":
        return relay.record(conn, event)
    raise ValueError(f"unknown op {op!r}")
