"""Sweeper: the EventBridge schedule that runs the sweeper function every 15 minutes.

The function itself (VPC, role, grants) is in infra/functions.py like every other; it is not part
of the state machine. A failed run is retried by Lambda's asynchronous invocation (twice, minutes
apart), then by the next scheduled run: every move is guarded, so a repeated sweep is harmless. The
function's Errors alarm reports failed runs. A tick that could not be delivered within one period is
dropped (the next one does the same work).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import StackConfig

SWEEP_RATE = Duration.minutes(15)


class Sweeper(Construct):
    def __init__(self, scope: Construct, id: str, *, config: StackConfig, handler: lambda_.Function) -> None:
        super().__init__(scope, id)
        self.rule = events.Rule(
            self,
            "Schedule",
            rule_name=f"{config.prefix}-sweeper",
            description="Run the ProSync job sweeper (expire abandoned jobs, fail stuck ones)",
            schedule=events.Schedule.rate(SWEEP_RATE),
        )
        self.rule.add_target(targets.LambdaFunction(handler, retry_attempts=2, max_event_age=SWEEP_RATE))
