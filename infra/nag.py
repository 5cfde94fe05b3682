"""The one registry of cdk-nag acknowledgements (cdk-nag v3: `Validations.of(scope).acknowledge`).

Every finding of the AwsSolutions and Serverless packs that the stack does not fix is listed here, on
the narrowest construct that produces it, with the reason it is accepted. tests/infra checks that the
packs report nothing else and that every reason says why (>= 20 characters). Findings that carry a
resource (`IAM5[Resource::...]`) name it exactly, so a new wildcard elsewhere is still reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Stack, Token, Validations
from constructs import IConstruct

if TYPE_CHECKING:
    from infra.stack import ProSyncStack

FUNCTION_ROLES = ("ApiRole", "JobstoreRole", "MigrateRole", "SubmitRole", "PollRole", "DownloadRole",
                  "SweeperRole", "ReviseRole")
SYNCHRONOUS_FUNCTIONS = ("Api", "Jobstore", "Migrate", "Submit", "Poll", "Download", "Revise")


@dataclass(frozen=True)
class Ack:
    path: str  # construct path below the stack; the acknowledgement covers that subtree
    rule: str
    reason: str


def _arn_token(stack: Stack, construct: IConstruct) -> str:
    """How cdk-nag prints `Fn::GetAtt [<logical id>, Arn]` inside a finding id."""
    return f"<{stack.get_logical_id(construct.node.default_child)}.Arn>"


def acknowledgements(stack: ProSyncStack) -> list[Ack]:
    config = stack.config
    media = _arn_token(stack, stack.storage.media)
    migrate = _arn_token(stack, stack.functions.migrate)
    executions = _flatten(stack.resolve(stack.functions.executions_arn))
    acks: list[Ack] = []

    def add(path: str, rule: str, reason: str) -> None:
        acks.append(Ack(path, rule, reason))

    # --- IAM wildcards that are the narrowest form the service allows ---
    for role in FUNCTION_ROLES:
        add(
            f"Functions/{role}",
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords and, for in-VPC functions, the ENI actions of "
            "AWSLambdaVPCAccessExecutionRole (and, for api and jobstore, states:SendTaskSuccess, whose task "
            "token names the task) support no resource-level permissions",
        )
    add(
        "Workflow/Role",
        "AwsSolutions-IAM5[Resource::*]",
        "Step Functions log delivery (logs:*LogDelivery, DescribeLogGroups) and X-Ray tracing actions "
        "support no resource-level permissions; Lambda invoke is scoped to the four function ARNs",
    )
    uploads_reason = (
        "object access is scoped to the uploads/ prefix of the one media bucket; object keys are "
        "generated per user and job, so a prefix wildcard is the narrowest grant"
    )
    results_reason = "object access is scoped to the results/ prefix, where only the download function writes"
    add("Functions/ApiRole", f"AwsSolutions-IAM5[Resource::{media}/uploads/*]", uploads_reason)
    add("Functions/ApiRole", f"AwsSolutions-IAM5[Resource::{media}/results/*]", results_reason)
    add("Functions/SubmitRole", f"AwsSolutions-IAM5[Resource::{media}/uploads/*]", uploads_reason)
    add("Functions/SubmitRole", f"AwsSolutions-IAM5[Resource::{media}/requests/*]",
        "Get/PutObject on the requests/ prefix only: the stored Sync.so request of each attempt, keyed "
        "requests/{job id}/attempt-{n}.json at run time")
    add("Functions/DownloadRole", f"AwsSolutions-IAM5[Resource::{media}/results/*]", results_reason)
    add("Functions/ReviseRole", f"AwsSolutions-IAM5[Resource::{media}/results/*]",
        "Get/PutObject on the results/ prefix only: a revision reads its parent's result and its own "
        "generation and writes the spliced result, keyed by job id at run time (issue 17)")
    add("Functions/ReviseRole", f"AwsSolutions-IAM5[Resource::{media}/uploads/*]",
        "PutObject only, on the uploads/ prefix: the revision's clip for Sync.so, written beside the "
        "revision's uploads (keys generated per user and job) where submit presigns its inputs")
    add(
        "Functions/ApiRole",
        f"AwsSolutions-IAM5[Resource::{executions}]",
        "Stop/DescribeExecution act on executions, named by job id at run time; the wildcard is "
        "limited to executions of this stack's one state machine",
    )
    add(
        "Functions/SweeperRole",
        f"AwsSolutions-IAM5[Resource::{executions}]",
        "DescribeExecution (read only) of the executions of stuck jobs, named by job id at run time; "
        "the wildcard is limited to executions of this stack's one state machine",
    )
    add(
        "Functions/SweeperRole",
        f"AwsSolutions-IAM5[Resource::{media}/uploads/*]",
        "DeleteObject only, on the uploads/ prefix: the sweeper deletes the uploads of the jobs it "
        "expires, whose keys are generated per user and job",
    )

    # --- CDK's custom-resource Provider framework (relays CloudFormation events to `migrate`) ---
    provider = "Migrations/Provider/framework-onEvent"
    add(
        provider,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "CDK's Provider framework creates this role itself; the managed policy only allows writing "
        "the framework's own logs",
    )
    add(
        provider,
        f"AwsSolutions-IAM5[Resource::{migrate}:*]",
        "CDK's Provider framework grants invoke on the migrate function and its versions; it is the "
        "only function this role can invoke",
    )
    add(
        provider,
        "Serverless-LambdaTracing",
        "the framework function only relays a CloudFormation event to migrate, which is traced itself",
    )

    # --- Lambda dead-letter queues: no function is invoked asynchronously ---
    dlq_reason = (
        "invoked synchronously only (API Gateway, Step Functions with Retry/Catch, CloudFormation "
        "provider), so a dead-letter queue would never receive anything"
    )
    for fn in SYNCHRONOUS_FUNCTIONS:
        add(f"Functions/{fn}", "Serverless-LambdaDLQ", dlq_reason)
    add(provider, "Serverless-LambdaDLQ", dlq_reason)
    tick_reason = (
        "the event is a schedule tick that carries no data: a failed or undelivered run is redone by "
        "the next run 15 minutes later, and failed runs raise the sweeper's Errors alarm"
    )
    add("Functions/Sweeper", "Serverless-LambdaDLQ", tick_reason)
    add("Sweeper/Schedule", "Serverless-EventBusDLQ", tick_reason)

    # --- Secrets without rotation ---
    add(
        "Database/Postgres/Secret",
        "AwsSolutions-SMG4",
        "only RDS Proxy reads this secret (clients use IAM tokens); a rotation Lambda would need a "
        "Secrets Manager endpoint in the isolated VPC, so the password is rotated by redeploying",
    )
    if not config.sync_secret_name:
        add(
            "Functions/SyncApiKey",
            "AwsSolutions-SMG4",
            "holds the Sync.so API key, which only Sync.so's dashboard can rotate; the operator "
            "replaces the value (docs/DEPLOY.md)",
        )

    if not config.sync_webhook_secret_name:
        add(
            "Functions/SyncWebhookSecret",
            "AwsSolutions-SMG4",
            "holds Sync.so's webhook signing secret, which only Sync.so's dashboard can rotate; the "
            "operator replaces the value (the api reads it again within 5 minutes)",
        )

    # --- API routes that are public on purpose ---
    for route in ("GET--api--v1--health", "GET--api--v1--swagger", "GET--api--v1--openapi.json"):
        add(
            f"Api/HttpApi/{route}",
            "AwsSolutions-APIG4",
            "public by design: liveness probe and API documentation, no user data; every /sync route "
            "has the JWT authorizer",
        )

    add(
        "Api/HttpApi/POST--api--v1--webhooks--syncso",
        "AwsSolutions-APIG4",
        "public by design: Sync.so cannot send a JWT; every delivery's Sync-Signature (HMAC-SHA256 of "
        "the raw body with the organisation's secret, 5-minute tolerance) is checked before anything "
        "is read, a forged or stale one is a 401",
    )

    # --- Cognito (only when the stack creates its own user pool) ---
    if not config.jwt_issuer:
        add(
            "Api/Users",
            "AwsSolutions-COG2",
            "MFA is optional (TOTP) so that editors can enable it; requiring it is a product decision "
            "left to an external issuer (context jwt_issuer)",
        )
        add(
            "Api/Users",
            "AwsSolutions-COG8",
            "the Plus feature plan (threat protection) is billed per user; the pool has a strong "
            "password policy and no self sign-up",
        )

    # --- alarm e-mail subscription ---
    if config.alarm_email:
        add(
            "Monitoring/Alarms",
            "Serverless-SNSRedrivePolicy",
            "alarm e-mails that cannot be delivered stay visible as ALARM state on the dashboard; a "
            "dead-letter queue of undelivered alarm mails would itself be unwatched",
        )

    # --- dev-only relaxations (prod is Multi-AZ with deletion protection) ---
    if not config.is_prod:
        add(
            "Database/Postgres",
            "AwsSolutions-RDS3",
            "dev stage runs a single-AZ instance to halve its cost; prod is Multi-AZ",
        )
        add(
            "Database/Postgres",
            "AwsSolutions-RDS10",
            "dev stage is torn down with the stack; prod has deletion protection and a final snapshot",
        )
    add(
        "Monitoring/JobFailures/SystemFailures",
        "Serverless-EventBusDLQ",
        "the target is a log group of this account, written only to count system failures; a record "
        "not delivered still leaves the failed execution in Step Functions and in ExecutionsFailed",
    )
    # --- text removal (issue 16): planner and chunk worker, invoked by the state machine only ---
    for role in ("TextremovalRole", "TextremovalChunkRole"):
        add(f"TextRemoval/{role}", "AwsSolutions-IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions")
        add(f"TextRemoval/{role}", f"AwsSolutions-IAM5[Resource::{media}/results/*]",
            "object access on the results/ prefix only: the kept lip-synced file, the job's chunks under "
            "results/{job}/textremoval/ and the cleaned result, keyed by job id at run time")
    for fn in ("Textremoval", "TextremovalChunk"):
        add(f"TextRemoval/{fn}", "Serverless-LambdaDLQ", dlq_reason)
    from infra.live_events import live_acknowledgements  # noqa: PLC0415 (it imports Ack from here)

    acks += live_acknowledgements(stack)  # live events (issue 14): +15
    if stack.hosting is not None:
        acks += web_acknowledgements(stack)
    return acks


def web_acknowledgements(stack: ProSyncStack) -> list[Ack]:
    """The CloudFront distribution (infra/web_hosting.py) and CDK's BucketDeployment function."""
    config, acks = stack.config, []
    distribution = "Web/Distribution"
    acks.append(Ack(
        distribution, "AwsSolutions-CFR1",
        "the editors who use ProSync may work from any country; no geography is known to be unwanted",
    ))
    acks.append(Ack(
        distribution, "AwsSolutions-CFR3",
        "every /api request is in the HTTP API's access log and the page's objects in the site bucket's "
        "S3 access log; CloudFront's standard logs would need an ACL-enabled bucket for static files only",
    ))
    if stack.edge is None or stack.edge.web_acl_arn is None:
        acks.append(Ack(
            distribution, "AwsSolutions-CFR2",
            "WAF is off by context in this stage (dev), or the stack is outside us-east-1 and no web_acl_arn "
            "was given (synth warns); prod in us-east-1 gets the per-token rate rule and managed groups",
        ))
    if not config.domain_names:
        acks.append(Ack(
            distribution, "AwsSolutions-CFR4",
            "the default *.cloudfront.net certificate only allows TLSv1 as the viewer minimum; with a custom "
            "domain (context domain_names + certificate_arn) the minimum is TLSv1.2_2021",
        ))

    # CDK's BucketDeployment: one singleton function at the stack's root copies web/ into the bucket.
    deployment = stack.hosting.deployment_function.node.id
    role = f"{deployment}/ServiceRole"
    cdk_reason = "CDK's BucketDeployment makes this function and role itself; it runs only during deploys"
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
    site = _arn_token(stack, stack.hosting.bucket)
    acks.append(Ack(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        f"{cdk_reason}; the managed policy only allows writing its own logs",
    ))
    for finding in ("Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*", "Action::s3:Abort*",
                    "Action::s3:DeleteObject*", f"Resource::{site}/*",
                    f"Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-{account}-{region}/*"):
        acks.append(Ack(
            role, f"AwsSolutions-IAM5[{finding}]",
            f"{cdk_reason}: read of the CDK asset bucket and sync (put, prune) of the site bucket only",
        ))
    acks.append(Ack(
        role, "AwsSolutions-IAM5[Resource::*]",
        f"{cdk_reason}: cloudfront:CreateInvalidation/GetInvalidation support no resource-level scoping",
    ))
    for rule in ("AwsSolutions-L1", "Serverless-LambdaLatestVersion"):
        acks.append(Ack(deployment, rule, f"{cdk_reason}; its runtime is chosen by aws-cdk-lib"))
    acks.append(Ack(deployment, "Serverless-LambdaTracing", f"{cdk_reason}; a deploy-time copy needs no trace"))
    acks.append(Ack(
        deployment, "Serverless-LambdaDLQ",
        "invoked synchronously by CloudFormation (custom resource); a failure fails the deploy itself",
    ))
    return acks


def _flatten(value: object) -> str:
    """cdk-nag's rendering of a resolved `Fn::Join` ARN: pseudo parameters as `<AWS::Name>`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_flatten(p) for p in parts)
    raise ValueError(f"cannot render {value!r}")


def apply_acknowledgements(stack: ProSyncStack) -> list[Ack]:
    acks = acknowledgements(stack)
    for ack in acks:
        scope: IConstruct = stack
        for part in ack.path.split("/"):
            scope = scope.node.find_child(part)
        Validations.of(scope).acknowledge(Acknowledgment(id=ack.rule, reason=ack.reason))
    return acks
