"""webhooks Lambda (outside the VPC; SQS event source, partial batch responses): one attempt per
message with `prosync.webhooks.delivery.attempt` (the local stack's queue runs the same), its
database calls made by eventfeed in the VPC (`RemoteStore`).

- delivered / skipped: the message is done.
- retry / later: the message comes back after the backoff (its visibility timeout is set to it).
- dead (attempts exhausted): the message is sent to the dead-letter queue (an alarm watches it) and
  the delivery log says so; the queue's redrive policy is the net for a message that keeps failing.
"""

import json

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from prosync import aws
from prosync.events.settings import DeliverySettings
from prosync.webhooks.delivery import attempt
from prosync.webhooks.remote import RemoteStore
from prosync.workflow import runtime

logger = Logger(service="prosync-webhooks")
metrics = Metrics(namespace="ProSync", service="prosync-webhooks")
MAX_VISIBILITY = 12 * 3600  # SQS's limit


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event, context):
    settings = runtime.settings(DeliverySettings)
    store = RemoteStore(settings.eventfeed_function, aws.client("lambda"))
    sqs = aws.client("sqs")
    failures = []
    for record in event.get("Records", []):
        delivery_id = json.loads(record["body"])["deliveryId"]
        try:
            outcome = attempt(store, delivery_id, settings)
        except Exception:  # noqa: BLE001 (eventfeed unreachable: the message comes back after its timeout)
            logger.exception("delivery attempt failed", extra={"delivery_id": delivery_id})
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        metrics.add_metric(name=f"Webhook{outcome.outcome.capitalize()}", unit=MetricUnit.Count, value=1)
        if outcome.outcome in ("retry", "later"):
            queue_url = _queue_url(record["eventSourceARN"])
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"],
                                          VisibilityTimeout=min(MAX_VISIBILITY, max(1, round(outcome.retry_in or 1))))
            failures.append({"itemIdentifier": record["messageId"]})
        elif outcome.outcome == "dead":
            sqs.send_message(QueueUrl=settings.dead_letter_queue_url, MessageBody=record["body"])
    return {"batchItemFailures": failures}


def _queue_url(arn: str) -> str:
    _, _, _, region, account, name = arn.split(":")
    return f"https://sqs.{region}.amazonaws.com/{account}/{name}"
