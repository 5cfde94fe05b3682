"""ProSyncStack: composes the capability constructs; it holds no resource definitions of its own."""

from __future__ import annotations

from aws_cdk import CfnOutput, Fn, Stack, Tags
from constructs import Construct

from infra.api import Api
from infra.auth import Auth, sign_in_origin
from infra.config import StackConfig
from infra.database import Database
from infra.edge_protection import EdgeProtection
from infra.live_events import LiveEvents, issuer_and_audience
from infra.functions import Functions
from infra.migrations import Migrations
from infra.monitoring import Monitoring
from infra.nag import apply_acknowledgements
from infra.network import Network
from infra.storage import Storage
from infra.sweeper import Sweeper
from infra.text_removal import TextRemoval
from infra.web_hosting import WebHosting
from infra.workflow import Workflow
from prosync.routes import WEBHOOK_PATH


class ProSyncStack(Stack):
    def __init__(
        self, scope: Construct, id: str, *, config: StackConfig, acknowledge: bool = True, **kwargs
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.config = config
        # CDK tags DBProxyTargetGroup although CloudFormation's schema has no Tags for it.
        untaggable = ["AWS::RDS::DBProxyTargetGroup"]
        Tags.of(self).add("project", "prosync", exclude_resource_types=untaggable)
        Tags.of(self).add("stage", config.stage, exclude_resource_types=untaggable)

        self.network = Network(self, "Network", config=config)
        self.database = Database(self, "Database", config=config, network=self.network)
        self.storage = Storage(self, "Storage", config=config)
        self.functions = Functions(
            self,
            "Functions",
            config=config,
            network=self.network,
            database=self.database,
            storage=self.storage,
        )
        self.migrations = Migrations(
            self, "Migrations", config=config, database=self.database, handler=self.functions.migrate
        )
        # text removal (issue 16): its planner and chunk worker, each with the layer it fits in
        self.text_removal = TextRemoval(
            self, "TextRemoval", config=config, media_bucket_name=self.storage.media.bucket_name,
            results_arn=self.storage.results_arn(), bucket_arn=self.storage.media.bucket_arn)
        self.functions.all.update(self.text_removal.functions)  # alarms and nag like every function
        self.workflow = Workflow(self, "Workflow", config=config,
                                 functions={**self.functions.workflow_functions, **self.text_removal.functions})
        self.api = Api(self, "Api", config=config, handler=self.functions.api)
        # Sync.so calls the stack's own public route when a generation ends (submit sends it as webhookUrl)
        self.webhook_url = self.api.url + WEBHOOK_PATH
        self.functions.submit.add_environment("WEBHOOK_URL", self.webhook_url)
        self.sweeper = Sweeper(self, "Sweeper", config=config, handler=self.functions.sweeper)
        # live events (issue 14): WebSocket API, notifier, webhook delivery queue + DLQ (infra/live_events.py)
        issuer, audience = issuer_and_audience(config, self.api)
        self.live = LiveEvents(self, "LiveEvents", config=config, network=self.network, database=self.database,
                               layer=self.functions.layer, jwt_issuer=issuer, jwt_audience=audience)
        self.edge = self.hosting = self.auth = None
        if config.web_hosting:
            self.edge = EdgeProtection(self, "Edge", config=config)
            self.hosting = WebHosting(
                self,
                "Web",
                config=config,
                storage=self.storage,
                api=self.api,
                web_acl_arn=self.edge.web_acl_arn,
                connect_origins=(sign_in_origin(config, self),),
            )
            self.storage.allow_browser_origins([self.hosting.origin])
            self.auth = Auth(self, "Auth", config=config, api=self.api, site_url=self.hosting.url)
            # the page follows jobs on the live events' WebSocket API; its URL exists only at deploy
            self.hosting.publish({**self.auth.page_config, "wsUrl": self.live.url})
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            functions=self.functions.all,
            state_machine=self.workflow.state_machine,
            api=self.api,
            database=self.database,
        )
        self.live.notify(self.monitoring.topic)  # its DLQ, schedule and Errors alarms publish too
        self.acknowledgements = apply_acknowledgements(self) if acknowledge else []

        CfnOutput(self, "MediaBucketName", value=self.storage.media.bucket_name)
        CfnOutput(self, "StateMachineArn", value=self.workflow.state_machine.state_machine_arn)
        CfnOutput(self, "SyncApiKeySecretArn", value=self.functions.sync_secret.secret_arn)
        CfnOutput(self, "SyncWebhookSecretArn", value=self.functions.webhook_secret.secret_arn)
        CfnOutput(self, "SyncWebhookUrl", value=self.webhook_url,
                  description="where Sync.so posts generation webhooks (sent on every create)")
        CfnOutput(self, "DbProxyEndpoint", value=self.database.proxy.endpoint)
        CfnOutput(self, "MigrateFunctionName", value=self.functions.migrate.function_name)

    @property
    def availability_zones(self) -> list[str]:
        """The first two AZs of the region, resolved by CloudFormation (`Fn::GetAZs`).

        An environment-specific stack would otherwise look them up at synth time: an AWS call, and
        placeholder names (`dummy1a`) when offline.
        """
        return [Fn.select(0, Fn.get_azs()), Fn.select(1, Fn.get_azs())]
