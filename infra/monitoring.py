"""Monitoring: alarms to one SNS topic (e-mail when configured) and a CloudWatch dashboard."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.api import Api
from infra.config import StackConfig
from infra.database import Database

FIVE_MINUTES = Duration.minutes(5)
# t4g.micro allows ~80 connections and t4g.small ~190 (LEAST(DBInstanceClassMemory/9531392, 5000)).
DB_CONNECTIONS_ALARM = {"dev": 60, "prod": 150}


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StackConfig,
        functions: dict[str, lambda_.Function],
        state_machine: sfn.StateMachine,
        api: Api,
        database: Database,
    ) -> None:
        super().__init__(scope, id)
        self.topic = sns.Topic(self, "Alarms", topic_name=f"{config.prefix}-alarms", enforce_ssl=True)
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms: list[cw.Alarm] = []

        jobs_failed = state_machine.metric_failed(period=FIVE_MINUTES, statistic="Sum")
        jobs_timed_out = state_machine.metric_timed_out(period=FIVE_MINUTES, statistic="Sum")
        self._alarm("JobsFailed", jobs_failed, 1, "A job execution failed (see the Step Functions console)")
        self._alarm("JobsTimedOut", jobs_timed_out, 1, "A job execution hit the state machine timeout")

        for name, fn in functions.items():
            self._alarm(
                f"{name.capitalize()}Errors",
                fn.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"Lambda {fn.function_name}: invocation errors",
            )
            self._alarm(
                f"{name.capitalize()}Throttles",
                fn.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"Lambda {fn.function_name}: throttled invocations",
            )

        api_5xx = api.http_api.metric_server_error(period=FIVE_MINUTES, statistic="Sum")
        self._alarm("Api5xx", api_5xx, 5, "HTTP API answered 5xx (5 or more in 5 minutes)")

        db_connections = database.instance.metric_database_connections(
            period=FIVE_MINUTES, statistic="Maximum"
        )
        self._alarm(
            "DbConnections",
            db_connections,
            DB_CONNECTIONS_ALARM[config.stage],
            "Postgres connections near the instance's max_connections",
        )
        pinned = cw.Metric(
            namespace="AWS/RDS",
            metric_name="DatabaseConnectionsCurrentlySessionPinned",
            dimensions_map={"ProxyName": database.proxy_name},
            period=FIVE_MINUTES,
            statistic="Maximum",
        )
        self._alarm("ProxyPinnedSessions", pinned, 1, "RDS Proxy sessions are pinned (session state in use)")

        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"{config.prefix}-overview")
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Jobs (Step Functions)",
                left=[
                    state_machine.metric_started(period=FIVE_MINUTES, statistic="Sum"),
                    state_machine.metric_succeeded(period=FIVE_MINUTES, statistic="Sum"),
                    jobs_failed,
                    jobs_timed_out,
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="HTTP API",
                left=[api.http_api.metric_count(period=FIVE_MINUTES, statistic="Sum"), api_5xx],
                right=[api.http_api.metric_latency(period=FIVE_MINUTES, statistic="p99")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Lambda errors",
                left=[fn.metric_errors(period=FIVE_MINUTES, statistic="Sum") for fn in functions.values()],
                width=12,
            ),
            cw.GraphWidget(
                title="Lambda duration p99",
                left=[fn.metric_duration(period=FIVE_MINUTES, statistic="p99") for fn in functions.values()],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Database connections", left=[db_connections], right=[pinned], width=12),
            cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=12),
        )

    def _alarm(self, id: str, metric: cw.IMetric, threshold: float, description: str) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        self.alarms.append(alarm)
        return alarm
