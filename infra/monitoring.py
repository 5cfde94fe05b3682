"""Monitoring: alarms to one SNS topic (e-mail when configured), a cost budget, a CloudWatch dashboard.

Alarms that reach someone:
- the topic's policy lets CloudWatch (and AWS Budgets) publish, each only for this account
  (`aws:SourceAccount`), beside the TLS-only deny; without it an alarm's publish is refused;
- every notifying alarm has the topic as its ALARM and its OK action (the all-clear is mailed too);
- Lambda `Errors` alarms only for functions nothing retries (api, migrate, sweeper): the state
  machine's Retry/Catch absorbs the workflow functions' errors, and what it cannot absorb ends the
  execution, which `JobsFailedBySystem` counts (infra/job_failures.py: a failed job whose error is not
  the user's media);
- `JobsNotCompleting` (composite): jobs started but none succeeded for 3 hours, or an execution hit
  the state machine timeout. Its inputs notify only through it.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.api import Api
from infra.budget import Budget
from infra.config import StackConfig
from infra.database import Database
from infra.job_failures import JobFailures
from infra.workflow import PLACEHOLDERS

FIVE_MINUTES = Duration.minutes(5)
ONE_HOUR = Duration.hours(1)
NO_SUCCESS_HOURS = 3  # consecutive hours with jobs started and none succeeded (jobs take up to 2 h)
# Invoked by the state machine with Retry/Catch: their errors are judged by the execution's outcome.
RETRIED_BY_WORKFLOW = frozenset(PLACEHOLDERS.values())
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
        self._allow_publish("AllowCloudWatchAlarms", "cloudwatch.amazonaws.com")
        if config.budget_monthly_usd is not None:
            self._allow_publish("AllowBudgets", "budgets.amazonaws.com")
            self.budget = Budget(self, "Budget", config=config, topic=self.topic)
        self.alarms: list[cw.AlarmBase] = []

        self.job_failures = JobFailures(self, "JobFailures", config=config, state_machine=state_machine)
        system_failed = self.job_failures.metric(FIVE_MINUTES)
        self._alarm(
            "JobsFailedBySystem", system_failed, 1,
            "A job failed for a system reason, not the user's media (log group "
            f"/aws/events/{config.prefix}-failed-jobs has the execution, error and cause)",
        )
        jobs_failed = state_machine.metric_failed(period=FIVE_MINUTES, statistic="Sum")
        jobs_timed_out = state_machine.metric_timed_out(period=FIVE_MINUTES, statistic="Sum")
        timed_out = self._alarm(
            "JobsTimedOut", jobs_timed_out, 1, "A job execution hit the state machine timeout", notify=False
        )
        none_succeeded = self._alarm(
            "JobsStartedNoneSucceeded",
            cw.MathExpression(
                # Step Functions publishes no zeros: an hour without a success has no datapoint at all
                expression="IF(FILL(started, 0) > 0 AND FILL(succeeded, 0) == 0, 1, 0)",
                using_metrics={
                    "started": state_machine.metric_started(period=ONE_HOUR, statistic="Sum"),
                    "succeeded": state_machine.metric_succeeded(period=ONE_HOUR, statistic="Sum"),
                },
                period=ONE_HOUR,
                label="hours with jobs started and none succeeded",
            ),
            1,
            f"Jobs were started in each of the last {NO_SUCCESS_HOURS} hours and none succeeded",
            evaluation_periods=NO_SUCCESS_HOURS,
            notify=False,
        )
        self.not_completing = cw.CompositeAlarm(
            self,
            "JobsNotCompleting",
            composite_alarm_name=f"{config.prefix}-jobs-not-completing",
            alarm_description="Jobs are not completing: none succeeded for hours, or executions time out",
            alarm_rule=cw.AlarmRule.any_of(
                cw.AlarmRule.from_alarm(none_succeeded, cw.AlarmState.ALARM),
                cw.AlarmRule.from_alarm(timed_out, cw.AlarmState.ALARM),
            ),
        )
        self._notify(self.not_completing)
        self.alarms.append(self.not_completing)

        for name, fn in functions.items():
            if name not in RETRIED_BY_WORKFLOW:
                self._alarm(
                    f"{name.capitalize()}Errors",
                    fn.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                    1,
                    f"Lambda {fn.function_name}: invocation errors (no state machine retries this function)",
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
                    system_failed,
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

    def _allow_publish(self, sid: str, service: str) -> None:
        stack = Stack.of(self)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )

    def _notify(self, alarm: cw.AlarmBase) -> None:
        action = cw_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)

    def _alarm(
        self,
        id: str,
        metric: cw.IMetric,
        threshold: float,
        description: str,
        *,
        evaluation_periods: int = 1,
        notify: bool = True,
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        if notify:
            self._notify(alarm)
        self.alarms.append(alarm)
        return alarm
