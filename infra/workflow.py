"""Workflow: the Standard state machine defined by statemachine/pro_sync.asl.json.

The ASL file is the single source of the workflow (moto runs the same file in the integration tests);
CDK only fills its four `${<Name>FunctionArn}` placeholders with `definition_substitutions`.
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import StackConfig

# placeholder in the ASL file -> key in Functions.workflow_functions
PLACEHOLDERS = {
    "JobStoreFunctionArn": "jobstore",
    "SubmitFunctionArn": "submit",
    "PollFunctionArn": "poll",
    "DownloadFunctionArn": "download",
    "TextRemovalFunctionArn": "textremoval",  # issue 16: plan, join, clean up
    "TextRemovalChunkFunctionArn": "textremoval-chunk",  # the Map's chunk worker
    "ReviseFunctionArn": "revise",  # issue 17: cut a revision's clip, splice it back
}


def read_definition(path: Path, *, timeout_seconds: int) -> str:
    """The ASL file with the execution timeout from context as its top-level `TimeoutSeconds`.

    (CDK's `timeout` prop only applies to definitions built from CDK states, not to a file.)
    """
    definition = json.loads(Path(path).read_text())
    definition["TimeoutSeconds"] = timeout_seconds
    return json.dumps(definition, indent=2)


class Workflow(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StackConfig,
        functions: dict[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, id)
        log_group = logs.LogGroup(
            self,
            "Logs",
            # vended-logs prefix: keeps the log resource policy small (Step Functions guidance)
            log_group_name=f"/aws/vendedlogs/states/{config.state_machine_name}",
            retention=config.log_retention,
            removal_policy=config.removal_policy,  # destroyed with a dev stack, kept in prod
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"Execution role of {config.state_machine_name}",
        )
        # Invoke exactly the four workflow functions (unqualified ARNs, as the ASL names them).
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[functions[key].function_arn for key in PLACEHOLDERS.values()],
            )
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=config.state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(
                read_definition(config.asl_path, timeout_seconds=config.execution_timeout_seconds)
            ),
            definition_substitutions={
                placeholder: functions[key].function_arn for placeholder, key in PLACEHOLDERS.items()
            },
            role=role,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=log_group,
                level=sfn.LogLevel.ALL,
                # execution data carries user ids and S3 keys: kept out of prod logs
                include_execution_data=not config.is_prod,
            ),
        )
