"""notifier Lambda (outside the VPC; EventBridge every minute, reserved concurrency 1): for about a
minute, asks eventfeed (in the VPC) for one round after another and sends what it returns: each
message to its WebSocket connection (API Gateway's management API; a gone connection is reported in
the next round) and each webhook delivery id to the SQS queue the webhooks function consumes.
"""

import json
import time

from aws_lambda_powertools import Logger

from prosync import aws
from prosync.events.settings import NotifierSettings
from prosync.workflow import runtime

logger = Logger(service="prosync-notifier")


def _management():
    import boto3  # noqa: PLC0415

    return boto3.client("apigatewaymanagementapi", endpoint_url=runtime.settings(NotifierSettings)
                        .websocket_management_url)


@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event, context):
    settings = runtime.settings(NotifierSettings)
    ends = time.monotonic() + min(settings.notifier_loop_seconds,
                                  context.get_remaining_time_in_millis() / 1000 - 10)
    lambda_client, sqs, management = aws.client("lambda"), aws.client("sqs"), _management()
    gone: list[str] = []
    totals = {"rounds": 0, "messages": 0, "deliveries": 0, "gone": 0}
    while time.monotonic() < ends:
        answer = lambda_client.invoke(FunctionName=settings.eventfeed_function,
                                      Payload=json.dumps({"op": "round", "gone": gone}).encode())
        result = json.loads(answer["Payload"].read())
        if answer.get("FunctionError"):
            raise RuntimeError(f"eventfeed round failed: {result}")
        gone = []
        for connection_id, message in result["messages"]:
            try:
                management.post_to_connection(ConnectionId=connection_id,
                                              Data=json.dumps(message, separators=(",", ":")).encode())
            except management.exceptions.GoneException:
                gone.append(connection_id)
        ids = result["deliveries"]
        for start in range(0, len(ids), 10):
            sqs.send_message_batch(QueueUrl=settings.delivery_queue_url, Entries=[
                {"Id": str(i), "MessageBody": json.dumps({"deliveryId": d})} for i, d in enumerate(ids[start:start + 10])])
        totals["rounds"] += 1
        totals["messages"] += len(result["messages"])
        totals["deliveries"] += len(ids)
        totals["gone"] += len(gone)
    logger.info("notifier run", extra=totals)
    return totals
