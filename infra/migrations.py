"""Migrations: a CloudFormation custom resource (Provider framework) that runs `functions/migrate`.

Its only property is a hash of the migration files, so CloudFormation calls it on create and again on
every deploy that changes a migration; the runner itself skips what is already applied.
"""


from aws_cdk import CustomResource
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.config import StackConfig
from infra.database import OWNER_DB_USER, Database
from prosync.db.migrate import migrations_digest

class Migrations(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StackConfig,
        database: Database,
        handler: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, id)
        # The runner alone connects as the schema owner (the other functions as APP_DB_USER).
        if isinstance(handler, lambda_.Function):
            handler.add_environment("DB_USER", OWNER_DB_USER)
        database.grant_connect(handler, OWNER_DB_USER)
        log_group = logs.LogGroup(
            self,
            "ProviderLogs",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=handler,
            log_group=log_group,
            provider_function_name=f"{config.prefix}-migrate-provider",
        )
        # The framework's Node.js code is architecture-neutral: run it on Graviton like the rest.
        framework = self.provider.node.find_child("framework-onEvent")
        framework.node.default_child.architectures = ["arm64"]
        framework.node.default_child.memory_size = 128  # the framework's default, made explicit
        self.framework_function = framework

        self.resource = CustomResource(
            self,
            "Run",
            service_token=self.provider.service_token,
            resource_type="Custom::ProSyncMigrations",
            properties={"MigrationsHash": migrations_digest()},
        )
        # Run only once the proxy can reach the instance (target group registered).
        self.resource.node.add_dependency(database.proxy)
        self.resource.node.add_dependency(database.instance)
