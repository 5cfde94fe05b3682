"""Live events on AWS (infra/live_events.py): the WebSocket API and its $connect authorizer, the
webhook queue with its dead-letter queue, least-privilege roles, the alarms."""

from __future__ import annotations

import json

from infra_testkit import as_list


def _statements(synth, role_id: str) -> list[dict]:
    found = []
    for res in synth.resources("AWS::IAM::Policy").values():
        if any(r.get("Ref") == role_id for r in res["Properties"]["Roles"]):
            found += res["Properties"]["PolicyDocument"]["Statement"]
    return found


def _actions(synth, fn_name: str) -> set[str]:
    live = synth.stack.live
    role = synth.stack.get_logical_id(live.functions[fn_name].role.node.default_child)
    return {a for s in _statements(synth, role) for a in as_list(s["Action"])}


def test_websocket_api_checks_the_token_at_connect(synth):
    (api,) = [
        r for r in synth.resources("AWS::ApiGatewayV2::Api").values() if r["Properties"].get("ProtocolType") == "WEBSOCKET"]
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in synth.resources("AWS::ApiGatewayV2::Route").values()
              if "RouteKey" in r["Properties"] and not r["Properties"]["RouteKey"].startswith(("GET", "POST", "PATCH",
                                                                                              "DELETE", "ANY"))}
    assert set(routes) == {"$connect", "$disconnect", "$default", "subscribe"}
    assert routes["$connect"]["AuthorizationType"] == "CUSTOM"
    (authorizer,) = [a["Properties"] for a in synth.resources("AWS::ApiGatewayV2::Authorizer").values()
                     if a["Properties"]["AuthorizerType"] == "REQUEST"]
    assert authorizer["IdentitySource"] == ["route.request.querystring.token"]
    wsauth = synth.stack.live.wsauth
    env = synth.resources("AWS::Lambda::Function")[synth.stack.get_logical_id(wsauth.node.default_child)][
        "Properties"]["Environment"]["Variables"]
    assert env["JWT_ISSUER"] and "JWT_AUDIENCE" in env  # the HTTP API's issuer and audiences
    (stage,) = [s["Properties"] for s in synth.resources("AWS::ApiGatewayV2::Stage").values()
                if s["Properties"].get("StageName") == "live"]
    assert stage["AccessLogSettings"]["DestinationArn"] and stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == 20


def test_queue_has_a_dead_letter_queue_and_both_are_encrypted(synth):
    queues = {r["Properties"]["QueueName"]: r["Properties"] for r in synth.resources("AWS::SQS::Queue").values()}
    main = next(q for name, q in queues.items() if str(name).endswith("-webhooks"))
    dlq = next(q for name, q in queues.items() if str(name).endswith("-webhooks-dlq"))
    assert main["RedrivePolicy"]["maxReceiveCount"] == 20 and main["SqsManagedSseEnabled"]
    assert dlq["MessageRetentionPeriod"] == 14 * 86400 and dlq["SqsManagedSseEnabled"]
    (mapping,) = synth.resources("AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["BatchSize"] == 1  # a hanging receiver holds back nothing else


def test_roles_are_least_privilege(synth):
    assert _actions(synth, "websocket") <= {"rds-db:connect", "logs:CreateLogStream", "logs:PutLogEvents",
                                            "xray:PutTraceSegments", "xray:PutTelemetryRecords",
                                            "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
                                            "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
                                            "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}
    notifier = _actions(synth, "notifier")
    assert {"lambda:InvokeFunction", "execute-api:ManageConnections", "sqs:SendMessage"} <= notifier
    assert not any(a.startswith(("rds-db", "ec2:", "s3:")) for a in notifier)
    webhooks = _actions(synth, "webhooks")
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "lambda:InvokeFunction"} <= webhooks
    assert not any(a.startswith(("rds-db", "execute-api", "s3:")) for a in webhooks)
    assert not any(a.startswith(("sqs:", "lambda:", "rds-db")) for a in _actions(synth, "wsauth"))
    live = synth.stack.live
    assert live.functions["notifier"].is_bound_to_vpc is False and live.functions["eventfeed"].is_bound_to_vpc
    text = json.dumps(synth.template)
    assert "/live/POST/@connections/*" in text


def test_alarms_on_the_dead_letter_queue_the_schedule_and_errors(synth):
    alarms = [a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm").values()]
    dlq = [a for a in alarms if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"]
    assert len(dlq) == 1 and dlq[0]["Threshold"] == 1 and dlq[0]["AlarmActions"]
    schedule = [a for a in alarms if a.get("MetricName") == "FailedInvocations" and a.get("Namespace") == "AWS/Events"
                and synth.stack.get_logical_id(synth.stack.live.schedule.node.default_child) in json.dumps(a["Dimensions"])]
    assert len(schedule) == 1 and schedule[0]["AlarmActions"]
    errors = [a for a in alarms if a.get("MetricName") == "Errors" and "Live" in json.dumps(a["Dimensions"])]
    assert len(errors) == len(synth.stack.live.functions)


def test_the_notifier_runs_every_minute_one_at_a_time(synth):
    (rule,) = [r["Properties"] for k, r in synth.resources("AWS::Events::Rule").items() if k.startswith("LiveEvents")]
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    notifier = synth.resources("AWS::Lambda::Function")[synth.stack.get_logical_id(
        synth.stack.live.notifier.node.default_child)]["Properties"]
    assert notifier["ReservedConcurrentExecutions"] == 1 and "VpcConfig" not in notifier
