"""Functions: the seven Lambdas (arm64, Python 3.14, X-Ray, own log group and role each) and the layer.

| name     | VPC | reaches                                                              |
|----------|-----|----------------------------------------------------------------------|
| api      | yes | Postgres (proxy, IAM), S3 uploads/ + results/, Step Functions; deletes uploads/ |
| jobstore | yes | Postgres: every database write of the workflow; SendTaskSuccess       |
| migrate  | yes | Postgres only: schema migrations from the deploy's custom resource   |
| submit   | no  | Sync.so (API key secret), presigned GETs of uploads/, requests/      |
| poll     | no  | Sync.so (API key secret)                                             |
| download | no  | Sync.so output URL -> S3 results/ (multipart)                        |
| sweeper  | yes | Postgres, DescribeExecution of job executions, deletes uploads/      |

The sweeper is scheduled (infra/sweeper.py), never part of the state machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import REPO_ROOT, StackConfig
from infra.database import Database
from infra.network import Network
from infra.storage import RESULTS_PREFIX, UPLOADS_PREFIX, Storage

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
ASSET_EXCLUDES = ["__pycache__", "*.pyc", ".pytest_cache", "tests"]


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    memory_mb: int
    timeout_s: int
    in_vpc: bool
    description: str


SPECS = {
    spec.name: spec
    for spec in (
        # HTTP API integrations time out at 30 s: stay below it.
        FunctionSpec("api", 1024, 25, True, "ProSync HTTP API (validation, presigned uploads, jobs)"),
        FunctionSpec("jobstore", 512, 30, True, "ProSync job store (every DB write of the workflow)"),
        FunctionSpec("migrate", 512, 300, True, "ProSync schema migrations (CloudFormation custom resource)"),
        # create may take 60 s (SYNC_CREATE_TIMEOUT_SECONDS, as the SDK), after a 10 s cost estimate
        FunctionSpec("submit", 512, 90, False, "ProSync: submit a generation to Sync.so"),
        FunctionSpec("poll", 256, 30, False, "ProSync: poll a Sync.so generation"),
        FunctionSpec("download", 1024, 900, False, "ProSync: stream the Sync.so output into S3 results/"),
        FunctionSpec("sweeper", 256, 120, True, "ProSync: expire abandoned jobs, fail stuck ones"),
        FunctionSpec("revise", 3008, 900, False, "ProSync: cut a revision's clip, splice it back (issue 17)"),
    )
}


def function_dir(name: str):
    return REPO_ROOT / "functions" / name


def _code(config: StackConfig, name: str) -> lambda_.Code:
    """functions/<name>/ as the asset. With skip_bundling only, a function whose directory does not
    exist yet synthesizes from the placeholder (tests/infra checks every handler separately)."""
    from scripts import build_layer

    directory = function_dir(name)
    if not directory.is_dir():
        if not config.skip_bundling:
            raise FileNotFoundError(f"{directory} is missing: every function needs handler.py there")
        directory = build_layer.write_placeholder() / "python"
    return lambda_.Code.from_asset(str(directory), exclude=ASSET_EXCLUDES)


def _layer_dir(config: StackConfig):
    from scripts import build_layer  # the same code `python scripts/build_layer.py` runs

    if config.layer_dir is not None:
        return config.layer_dir
    if config.skip_bundling:
        return build_layer.write_placeholder()
    return build_layer.build_layer()


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StackConfig,
        network: Network,
        database: Database,
        storage: Storage,
    ) -> None:
        super().__init__(scope, id)
        self._config = config
        self._network = network
        stack = Stack.of(self)

        self.layer = lambda_.LayerVersion(
            self,
            "ProSyncLayer",
            layer_version_name=f"{config.prefix}-lib",
            code=lambda_.Code.from_asset(str(_layer_dir(config))),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="prosync library and its runtime dependencies (arm64, CPython 3.14)",
        )

        if config.sync_secret_name:
            self.sync_secret = secretsmanager.Secret.from_secret_name_v2(
                self, "SyncApiKey", config.sync_secret_name
            )
        else:
            # Created with a random placeholder; the operator puts the real key in (docs/DEPLOY.md).
            self.sync_secret = secretsmanager.Secret(
                self,
                "SyncApiKey",
                secret_name=f"{config.prefix}/syncso-api-key",
                description="Sync.so API key (plain string): set it after the first deploy",
                removal_policy=config.removal_policy,
            )

        if config.sync_webhook_secret_name:
            self.webhook_secret = secretsmanager.Secret.from_secret_name_v2(
                self, "SyncWebhookSecret", config.sync_webhook_secret_name
            )
        else:
            # Created with a random placeholder; the operator puts Sync.so's whsec_... in (docs/DEPLOY.md).
            self.webhook_secret = secretsmanager.Secret(
                self,
                "SyncWebhookSecret",
                secret_name=f"{config.prefix}/syncso-webhook-secret",
                description="Sync.so webhook signing secret (whsec_...): set it after the first deploy",
                removal_policy=config.removal_policy,
            )

        self.state_machine_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=config.state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.executions_arn = executions_arn = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{config.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        media_env = {"MEDIA_BUCKET": storage.media.bucket_name}
        secret_env = {"SYNC_API_KEY_SECRET_ARN": self.sync_secret.secret_arn}
        db_env = database.client_environment()

        self.all: dict[str, lambda_.Function] = {}
        self.api = self._function("api", {**db_env, **media_env, "STATE_MACHINE_ARN": self.state_machine_arn})
        deadline_env = {"WORKFLOW_DEADLINE_SECONDS": str(config.job_deadline_seconds)}
        queue_env = {"SYNC_MAX_CONCURRENT_GENERATIONS": str(config.sync_max_concurrent_generations)}
        self.jobstore = self._function("jobstore", {
            **db_env, **deadline_env, **queue_env,
            "SYNC_GENERATION_RETRIES": str(config.sync_generation_retries)})
        self.migrate = self._function("migrate", db_env)
        self.submit = self._function("submit", {**secret_env, **media_env})
        self.poll = self._function("poll", {**secret_env, **deadline_env})
        self.download = self._function("download", {**secret_env, **media_env})
        self.sweeper = self._function("sweeper", {**db_env, **media_env})
        self.revise = self._function("revise", media_env)

        for fn in (self.api, self.jobstore, self.migrate, self.sweeper):
            database.grant_connect(fn)
        # Sync.so's webhook (api) and an early webhook found by await_generation (jobstore) resume the
        # execution waiting in its .waitForTaskToken state. SendTaskSuccess has no resource-level
        # permission (IAM's reference lists no resource type; a state machine ARN would be denied): "*",
        # and the task token, which only our executions hand out, is what names the task.
        for fn in (self.api, self.jobstore):
            self._allow(fn, ["states:SendTaskSuccess"], ["*"])
        self.api.add_environment("SYNC_WEBHOOK_SECRET_ARN", self.webhook_secret.secret_arn)
        self.api.add_environment("SYNC_MAX_CONCURRENT_GENERATIONS", str(config.sync_max_concurrent_generations))
        self.webhook_secret.grant_read(self.api)

        # api: presigned POSTs (signed with PutObject on uploads/), HeadObject/presigned GETs of the
        # inputs and the results, the probe's ranged GETs of the version HeadObject saw
        # (GetObjectVersion); ListBucket so that a missing upload is a 404, not a 403.
        self._allow(self.api, ["s3:PutObject"], [storage.uploads_arn()])
        self._allow(self.api, ["s3:GetObject"], [storage.uploads_arn(), storage.results_arn()])
        self._allow(self.api, ["s3:GetObjectVersion"], [storage.uploads_arn()])
        self._allow(self.api, ["s3:ListBucket"], [storage.media.bucket_arn])
        self._allow_upload_cleanup(self.api, storage)  # cancel deletes the job's uploads
        self._allow(self.api, ["states:StartExecution"], [self.state_machine_arn])
        self._allow(self.api, ["states:StopExecution", "states:DescribeExecution"], [executions_arn])

        # submit: presigned GETs of the uploads for Sync.so, of the version start checked (a GET with
        # versionId is authorized by s3:GetObjectVersion; GetObject for jobs without one).
        self._allow(self.submit, ["s3:GetObject", "s3:GetObjectVersion"], [storage.uploads_arn()])
        # submit: the stored request of each attempt (written once, read back by every retry)
        self._allow(self.submit, ["s3:GetObject", "s3:PutObject"], [storage.requests_arn()])
        # download: multipart upload of the result, under results/ only; it reads the result back
        # (ranged GETs) to probe its duration when Sync.so does not report one.
        self._allow(
            self.download,
            ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:GetObject"],
            [storage.results_arn()],
        )
        # download: find the result's in-progress upload to resume it (or to abort it on failure)
        self.download.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:ListBucketMultipartUploads"], resources=[storage.media.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{RESULTS_PREFIX}*"]}}))
        for fn in (self.submit, self.poll, self.download):
            self.sync_secret.grant_read(fn)

        # revise (issue 17): reads the parent's result and the revision's generation (results/), writes the
        # clip Sync.so gets beside the revision's uploads (submit presigns it there) and the spliced result.
        self._allow(self.revise, ["s3:GetObject", "s3:PutObject"], [storage.results_arn()])
        self._allow(self.revise, ["s3:PutObject"], [storage.uploads_arn()])

        # sweeper: reads the state of job executions; deletes the uploads of jobs it expires.
        self._allow(self.sweeper, ["states:DescribeExecution"], [executions_arn])
        self._allow_upload_cleanup(self.sweeper, storage)

    @property
    def workflow_functions(self) -> dict[str, lambda_.Function]:
        return {
            "jobstore": self.jobstore,
            "submit": self.submit,
            "poll": self.poll,
            "download": self.download,
            "revise": self.revise,
        }

    def _allow(self, fn: lambda_.Function, actions: list[str], resources: list[str]) -> None:
        fn.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources))

    def _allow_upload_cleanup(self, fn: lambda_.Function, storage: Storage) -> None:
        """prosync.storage.cleanup: list the versions under uploads/ only, delete every one of them."""
        fn.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:ListBucketVersions"], resources=[storage.media.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{UPLOADS_PREFIX}*"]}}))
        self._allow(fn, ["s3:DeleteObject", "s3:DeleteObjectVersion"], [storage.uploads_arn()])

    def _function(self, name: str, environment: dict[str, str]) -> lambda_.Function:
        config, spec = self._config, SPECS[name]
        function_name = f"{config.prefix}-{name}"
        cid = name.capitalize()
        role = iam.Role(
            self,
            f"{cid}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {function_name} (least privilege)",
        )
        log_group = logs.LogGroup(
            self,
            f"{cid}Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        log_group.grant_write(role)
        vpc_props: dict = {}
        if spec.in_vpc:
            # What AWSLambdaVPCAccessExecutionRole grants, as an inline statement (ENI management).
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSubnets",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=["*"],
                )
            )
            vpc_props = {
                "vpc": self._network.vpc,
                "vpc_subnets": self._network.isolated,
                "security_groups": [self._network.lambda_sg],
            }
        fn = lambda_.Function(
            self,
            cid,
            function_name=function_name,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=_code(config, name),
            handler="handler.lambda_handler",
            layers=[self.layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            role=role,
            log_group=log_group,
            environment={
                "STAGE": config.stage,
                "POWERTOOLS_SERVICE_NAME": f"prosync-{name}",
                "POWERTOOLS_METRICS_NAMESPACE": "ProSync",
                "POWERTOOLS_LOG_LEVEL": config.log_level,
                "POWERTOOLS_LOGGER_LOG_EVENT": "false",
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                **environment,
            },
            **vpc_props,
        )
        self.all[name] = fn
        return fn
