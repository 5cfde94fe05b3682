"""Job failures that are ours: executions that failed for a reason other than the user's media.

Step Functions' `ExecutionsFailed` counts every failed job, including a generation Sync.so refused
because of the user's media (the workflow marks the job failed and ends in `Job failed` with error
`GenerationFailed`, Sync.so's code in the job row). Paging someone for that is noise. So:

- an EventBridge rule takes the state machine's "Execution Status Change" events with status FAILED
  whose `error` is not one of USER_FAILURES (or is missing), i.e. failures the workflow could not
  absorb: a Lambda that kept failing past its Retry, a job that could not be marked (`Failure not
  recorded`), `DeadlineExceeded` (Sync.so too slow), an execution that found its job not runnable;
- it writes each such event (execution ARN, error, cause) to the `failed-jobs` log group, a record to
  look at first;
- a metric filter counts them as `ProSync/JobsFailedBySystem`, which Monitoring alarms on.

ABORTED (the user canceled: the api stops the execution) and TIMED_OUT (its own alarm) are not here.
The rule's target is written as L1 with a log resource policy: CDK's CloudWatchLogGroup target would
add a Node.js custom resource for that policy.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import StackConfig

USER_FAILURES = ("GenerationFailed",)  # Sync.so refused or failed the generation: the media, usually
METRIC_NAMESPACE = "ProSync"
METRIC_NAME = "JobsFailedBySystem"


def system_failure_pattern(state_machine_arn: str) -> dict:
    """The EventBridge pattern: FAILED executions of this state machine, error not a user failure."""
    return {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "stateMachineArn": [state_machine_arn],
            "status": ["FAILED"],
            "$or": [{"error": [{"anything-but": list(USER_FAILURES)}]}, {"error": [{"exists": False}]}],
        },
    }


class JobFailures(Construct):
    def __init__(
        self, scope: Construct, id: str, *, config: StackConfig, state_machine: sfn.StateMachine
    ) -> None:
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(
            self,
            "Log",
            log_group_name=f"/aws/events/{config.prefix}-failed-jobs",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        stack = Stack.of(self)
        # EventBridge names the log group by its ARN without the trailing `:*` of GetAtt Arn
        target_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=self.log_group.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.rule = events.CfnRule(
            self,
            "SystemFailures",
            name=f"{config.prefix}-failed-jobs",
            description="ProSync job executions that failed for a system reason (not the user's media)",
            event_pattern=system_failure_pattern(state_machine.state_machine_arn),
            state="ENABLED",
            targets=[events.CfnRule.TargetProperty(arn=target_arn, id="FailedJobsLog")],
        )
        logs.ResourcePolicy(
            self,
            "LogPolicy",
            resource_policy_name=f"{config.prefix}-failed-jobs-events",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("events.amazonaws.com"),
                                iam.ServicePrincipal("delivery.logs.amazonaws.com")],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn],
                )
            ],
        )
        logs.MetricFilter(
            self,
            "Count",
            log_group=self.log_group,
            filter_pattern=logs.FilterPattern.all_events(),
            metric_namespace=METRIC_NAMESPACE,
            metric_name=METRIC_NAME,
            metric_value="1",
            unit=cw.Unit.COUNT,
        )

    def metric(self, period) -> cw.Metric:
        return cw.Metric(
            namespace=METRIC_NAMESPACE, metric_name=METRIC_NAME, period=period, statistic="Sum"
        )
