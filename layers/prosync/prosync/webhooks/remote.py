"""`WebhookStore`'s two delivery calls (claim, record) over a Lambda invoke of the in-VPC eventfeed
function: what lets the delivery function, outside the VPC (it must reach the receivers), run the
same `delivery.attempt` as the local stack."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID


class EventFeedError(Exception):
    pass


class RemoteStore:
    def __init__(self, function_name: str, lambda_client: Any):
        self.function_name = function_name
        self.client = lambda_client

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.invoke(FunctionName=self.function_name, Payload=json.dumps(request).encode())
        body = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError") or not isinstance(body, dict):
            raise EventFeedError(f"eventfeed {request.get('op')}: {body}")
        return body

    def claim(self, delivery_id: UUID, lease_seconds: float) -> dict[str, Any] | float | None:
        answer = self._call({"op": "claim", "deliveryId": str(delivery_id), "lease": lease_seconds})
        if answer["kind"] == "row":
            return answer["row"]
        return float(answer["wait"]) if answer["kind"] == "later" else None

    def record(self, delivery_id: UUID, attempt: int, outcome: str, *, status_code: int | None,
               latency_ms: int | None, error: str | None, next_in: float | None) -> None:
        self._call({"op": "record", "deliveryId": str(delivery_id), "attempt": attempt, "outcome": outcome,
                    "statusCode": status_code, "latencyMs": latency_ms, "error": error, "nextIn": next_in})
