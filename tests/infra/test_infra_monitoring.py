"""Monitoring: alarms that reach someone (topic policy, ALARM and OK actions), judged on what matters
(system failures, not users' media; errors nothing retries), a composite, a budget, a dashboard."""

from infra_testkit import OUR_FUNCTIONS

from infra.job_failures import METRIC_NAME, USER_FAILURES, system_failure_pattern
from infra.monitoring import RETRIED_BY_WORKFLOW

COMPOSITE_INPUTS = {"JobsTimedOut", "JobsStartedNoneSucceeded"}


def _alarms(synth) -> dict[str, dict]:
    return {k: a["Properties"] for k, a in synth.resources("AWS::CloudWatch::Alarm").items()}


def _find(synth, namespace: str, metric: str) -> list[dict]:
    return [a for a in _alarms(synth).values()
            if a.get("Namespace") == namespace and a.get("MetricName") == metric]


def _is_input(synth, logical_id: str) -> bool:
    return any(logical_id.startswith(f"Monitoring{name}") for name in COMPOSITE_INPUTS)


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(synth):
    (topic_id,) = synth.resources("AWS::SNS::Topic")
    inputs = 0
    for logical_id, alarm in _alarms(synth).items():
        assert alarm["TreatMissingData"] == "notBreaching"
        if _is_input(synth, logical_id):  # notifies through the composite only
            inputs += 1
            assert "AlarmActions" not in alarm and "OKActions" not in alarm
            continue
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], logical_id
        assert alarm["OKActions"] == [{"Ref": topic_id}], logical_id
    assert inputs == len(COMPOSITE_INPUTS)
    (composite,) = synth.resources("AWS::CloudWatch::CompositeAlarm").values()
    props = composite["Properties"]
    assert props["AlarmActions"] == props["OKActions"] == [{"Ref": topic_id}]
    rule = str(props["AlarmRule"])
    assert "JobsTimedOut" in rule and "JobsStartedNoneSucceeded" in rule and " OR " in rule


def test_topic_policy_lets_cloudwatch_publish_beside_the_tls_deny(dev, prod, edge):
    for synth in (dev, prod, edge):
        (topic_id,) = synth.resources("AWS::SNS::Topic")
        (policy,) = synth.resources("AWS::SNS::TopicPolicy").values()
        statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
        assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in str(s["Condition"])
                   for s in statements.values())
        allow = statements["AllowCloudWatchAlarms"]
        assert allow["Effect"] == "Allow" and allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert allow["Action"] == "sns:Publish" and allow["Resource"] == {"Ref": topic_id}
        assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}
    edge_statements = {s.get("Sid"): s for p in edge.resources("AWS::SNS::TopicPolicy").values()
                       for s in p["Properties"]["PolicyDocument"]["Statement"]}
    assert edge_statements["AllowBudgets"]["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert "AllowBudgets" not in str(dev.resources("AWS::SNS::TopicPolicy"))


def test_failed_jobs_alarm_counts_system_failures_only(synth):
    (alarm,) = _find(synth, "ProSync", METRIC_NAME)
    assert alarm["Threshold"] == 1 and alarm["Statistic"] == "Sum"
    assert not _find(synth, "AWS/States", "ExecutionsFailed")  # that one counts the users' media too
    (rule,) = [r for r in synth.resources("AWS::Events::Rule").values()
               if r["Properties"].get("Name") == f"{synth.stack.config.prefix}-failed-jobs"]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail"]["status"] == ["FAILED"]
    assert {"error": [{"anything-but": list(USER_FAILURES)}]} in pattern["detail"]["$or"]
    assert {"error": [{"exists": False}]} in pattern["detail"]["$or"]  # a failure without error counts
    state_machine = synth.logical_id(synth.stack.workflow.state_machine)
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": state_machine}]
    assert system_failure_pattern("x")["detail-type"] == ["Step Functions Execution Status Change"]
    (target,) = rule["Properties"]["Targets"]
    log_group = synth.logical_id(synth.stack.monitoring.job_failures.log_group)
    assert ":log-group:" in str(target["Arn"]) and {"Ref": log_group} in target["Arn"]["Fn::Join"][1]
    (log_policy,) = synth.resources("AWS::Logs::ResourcePolicy").values()
    assert "events.amazonaws.com" in str(log_policy["Properties"]["PolicyDocument"])
    (metric_filter,) = synth.resources("AWS::Logs::MetricFilter").values()
    (transform,) = metric_filter["Properties"]["MetricTransformations"]
    assert transform["MetricNamespace"] == "ProSync" and transform["MetricName"] == METRIC_NAME


def test_lambda_errors_only_where_nothing_retries_throttles_everywhere(synth):
    errors = {a["Dimensions"][0]["Value"]["Ref"] for a in _find(synth, "AWS/Lambda", "Errors")}
    expected = {synth.function(name)[0] for name in OUR_FUNCTIONS if name not in RETRIED_BY_WORKFLOW}
    # live events (issue 14): infra/live_events.py alarms on each of its functions' Errors itself
    expected |= {synth.stack.get_logical_id(fn.node.default_child) for fn in synth.stack.live.functions.values()}
    text_removal = {"textremoval", "textremoval-chunk"}  # issue 16: retried by the workflow too
    assert errors == expected and RETRIED_BY_WORKFLOW == {"jobstore", "submit", "poll", "download", "revise",
                                                          *text_removal}
    throttles = {a["Dimensions"][0]["Value"]["Ref"] for a in _find(synth, "AWS/Lambda", "Throttles")}
    assert throttles == {synth.function(name)[0] for name in (*OUR_FUNCTIONS, *text_removal)}


def test_jobs_not_completing_inputs(synth):
    (timed_out,) = _find(synth, "AWS/States", "ExecutionsTimedOut")
    assert timed_out["Threshold"] == 1
    (none,) = [a for k, a in _alarms(synth).items() if k.startswith("MonitoringJobsStartedNoneSucceeded")]
    assert none["EvaluationPeriods"] == 3
    (expression,) = [m for m in none["Metrics"] if "Expression" in m]
    # FILL: an hour with no success has no ExecutionsSucceeded datapoint, which must count as 0
    assert expression["Expression"] == "IF(FILL(started, 0) > 0 AND FILL(succeeded, 0) == 0, 1, 0)"


def test_api_and_database_alarms(synth):
    (api_5xx,) = _find(synth, "AWS/ApiGateway", "5xx")
    assert api_5xx["Dimensions"][0]["Name"] == "ApiId"
    (connections,) = _find(synth, "AWS/RDS", "DatabaseConnections")
    assert connections["Dimensions"][0]["Name"] == "DBInstanceIdentifier"
    (pinned,) = _find(synth, "AWS/RDS", "DatabaseConnectionsCurrentlySessionPinned")
    assert pinned["Dimensions"] == [{"Name": "ProxyName", "Value": synth.stack.database.proxy_name}]
    assert pinned["Threshold"] == 1


def test_e_mail_subscribed_when_configured(dev, prod):
    assert not dev.resources("AWS::SNS::Subscription")
    (sub,) = prod.resources("AWS::SNS::Subscription").values()
    assert sub["Properties"]["Protocol"] == "email" and sub["Properties"]["Endpoint"] == "ops@example.com"


def test_budget_for_the_stage_when_configured(dev, prod, edge):
    assert not dev.resources("AWS::Budgets::Budget") and not prod.resources("AWS::Budgets::Budget")
    (budget,) = edge.resources("AWS::Budgets::Budget").values()
    data = budget["Properties"]["Budget"]
    assert data["BudgetType"] == "COST" and data["TimeUnit"] == "MONTHLY"
    assert data["BudgetLimit"] == {"Amount": 150, "Unit": "USD"}
    tags = [e["Tags"] for e in data["FilterExpression"]["And"]]
    assert {"Key": "project", "Values": ["prosync"]} in tags and {"Key": "stage", "Values": ["prod"]} in tags
    notifications = budget["Properties"]["NotificationsWithSubscribers"]
    kinds = {n["Notification"]["NotificationType"] for n in notifications}
    assert kinds == {"ACTUAL", "FORECASTED"}
    (topic_id,) = edge.resources("AWS::SNS::Topic")
    for n in budget["Properties"]["NotificationsWithSubscribers"]:
        assert {"SubscriptionType": "EMAIL", "Address": "ops@example.com"} in n["Subscribers"]
        assert {"SubscriptionType": "SNS", "Address": {"Ref": topic_id}} in n["Subscribers"]


def test_dashboard(synth):
    (dashboard,) = synth.resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"{synth.stack.config.prefix}-overview"
