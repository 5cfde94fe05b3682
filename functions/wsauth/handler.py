"""wsauth Lambda (outside the VPC: it fetches the issuer's JWKS): the WebSocket API's REQUEST
authorizer on `$connect`, identity source `route.request.querystring.token`. The same issuer and
audiences as the HTTP API's JWT authorizer; Allow with the `sub` in the context (the websocket
function records it with the connection), else Deny (API Gateway answers 403 and no socket opens)."""

from aws_lambda_powertools import Logger

from prosync.events.settings import WsAuthSettings
from prosync.events.tokens import verified_subject
from prosync.workflow import runtime

logger = Logger(service="prosync-wsauth")


def _policy(effect: str, resource: str, sub: str | None) -> dict:
    answer = {"principalId": sub or "anonymous",
              "policyDocument": {"Version": "2012-10-17", "Statement": [
                  {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]}}
    if sub:
        answer["context"] = {"sub": sub}
    return answer


@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event, context):
    settings = runtime.settings(WsAuthSettings)
    token = (event.get("queryStringParameters") or {}).get("token") or ""
    audiences = [a.strip() for a in settings.jwt_audience.split(",") if a.strip()]
    sub = verified_subject(token, settings.jwt_issuer, audiences) if token else None
    return _policy("Allow" if sub else "Deny", event["methodArn"], sub)
