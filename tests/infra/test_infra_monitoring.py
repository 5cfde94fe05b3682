"""Monitoring: the alarms the operator relies on, all wired to the SNS topic, and a dashboard."""

from infra_testkit import OUR_FUNCTIONS


def _alarms(synth) -> list[dict]:
    return [a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm").values()]


def _find(synth, namespace: str, metric: str) -> list[dict]:
    return [a for a in _alarms(synth) if a.get("Namespace") == namespace and a.get("MetricName") == metric]


def test_every_alarm_notifies_the_topic(synth):
    (topic_id,) = synth.resources("AWS::SNS::Topic")
    for alarm in _alarms(synth):
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_workflow_alarms(synth):
    assert len(_find(synth, "AWS/States", "ExecutionsFailed")) == 1
    assert len(_find(synth, "AWS/States", "ExecutionsTimedOut")) == 1


def test_lambda_errors_and_throttles_for_every_function(synth):
    for metric in ("Errors", "Throttles"):
        alarms = _find(synth, "AWS/Lambda", metric)
        names = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms}
        assert names == {synth.function(name)[0] for name in OUR_FUNCTIONS}, metric


def test_api_and_database_alarms(synth):
    (api_5xx,) = _find(synth, "AWS/ApiGateway", "5xx")
    assert api_5xx["Dimensions"][0]["Name"] == "ApiId"
    (connections,) = _find(synth, "AWS/RDS", "DatabaseConnections")
    assert connections["Dimensions"][0]["Name"] == "DBInstanceIdentifier"
    (pinned,) = _find(synth, "AWS/RDS", "DatabaseConnectionsCurrentlySessionPinned")
    assert pinned["Dimensions"] == [{"Name": "ProxyName", "Value": synth.stack.database.proxy_name}]
    assert pinned["Threshold"] == 1


def test_topic_is_tls_only_and_e_mail_subscribed_when_configured(dev, prod):
    for synth in (dev, prod):
        (policy,) = synth.resources("AWS::SNS::TopicPolicy").values()
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in str(s["Condition"]) for s in statements)
    assert not dev.resources("AWS::SNS::Subscription")
    (sub,) = prod.resources("AWS::SNS::Subscription").values()
    assert sub["Properties"]["Protocol"] == "email" and sub["Properties"]["Endpoint"] == "ops@example.com"


def test_dashboard(synth):
    (dashboard,) = synth.resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"{synth.stack.config.prefix}-overview"
