"""Live events (issue 14): the WebSocket API, its authorizer, the notifier, the webhook delivery
queue with its dead-letter queue, and their alarms. docs/LIVE_EVENTS.md has the design and its cost.

| function  | VPC | reaches                                                                     |
|-----------|-----|-----------------------------------------------------------------------------|
| wsauth    | no  | the issuer's JWKS (internet): the `$connect` REQUEST authorizer              |
| websocket | yes | Postgres: `$connect`, `$disconnect`, `subscribe` (connections, cursors)       |
| eventfeed | yes | Postgres: the notifier's rounds over job_events, the deliveries' claim/record |
| notifier  | no  | eventfeed (invoke), the WebSocket API's @connections, the delivery queue      |
| webhooks  | no  | eventfeed (invoke), the receivers (internet, through prosync.net.guard), the DLQ |

Job events reach the notifier without touching the workflow: job_events is the outbox (written in
the same transactions as the job rows), read by eventfeed inside the VPC and handed to the notifier
outside it as the invoke's answer. So the VPC stays without NAT and without new interface endpoints.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.api import AccessLogSettings
from infra.config import StackConfig
from infra.database import Database
from infra.functions import ARCHITECTURE, RUNTIME, _code
from infra.network import Network

STAGE = "live"
WS_ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId", "connectionId": "$context.connectionId",
    "eventType": "$context.eventType", "routeKey": "$context.routeKey", "status": "$context.status",
    "ip": "$context.identity.sourceIp", "requestTime": "$context.requestTime",
    "integrationError": "$context.integrationErrorMessage", "authorizerError": "$context.authorizer.error",
}
# (name, memory MB, timeout s, in VPC, description)
SPECS = {
    "wsauth": (256, 10, False, "ProSync live: the WebSocket $connect authorizer (JWT)"),
    "websocket": (256, 10, True, "ProSync live: WebSocket connect, disconnect, subscribe"),
    "eventfeed": (256, 15, True, "ProSync live: job_events rounds and webhook claim/record (DB side)"),
    "notifier": (256, 70, False, "ProSync live: push job events to sockets, queue webhook deliveries"),
    "webhooks": (256, 60, False, "ProSync live: deliver signed webhooks (one attempt per message)"),
}
MAX_RECEIVES = 20  # the redrive net; the function itself dead-letters after webhook_max_attempts (11)


class LiveEvents(Construct):
    def __init__(self, scope: Construct, id: str, *, config: StackConfig, network: Network, database: Database,
                 layer: lambda_.ILayerVersion, jwt_issuer: str, jwt_audience: list[str]) -> None:
        super().__init__(scope, id)
        self._config, self._network, self._layer = config, network, layer
        self.functions: dict[str, lambda_.Function] = {}
        db_env = database.client_environment()
        self.wsauth = self._function("wsauth", {"JWT_ISSUER": jwt_issuer, "JWT_AUDIENCE": ",".join(jwt_audience)})
        self.websocket = self._function("websocket", db_env)
        self.eventfeed = self._function("eventfeed", db_env)
        for fn in (self.websocket, self.eventfeed):
            database.grant_connect(fn)

        self.api = apigw.WebSocketApi(
            self, "WebSocketApi", api_name=f"{config.prefix}-live",
            description="ProSync live job events (token checked at $connect)",
            route_selection_expression="$request.body.action",
            connect_route_options=apigw.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("ConnectIntegration", self.websocket),
                authorizer=authorizers.WebSocketLambdaAuthorizer(
                    "TokenAuthorizer", self.wsauth, identity_source=["route.request.querystring.token"])),
            disconnect_route_options=apigw.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("DisconnectIntegration", self.websocket)),
            default_route_options=apigw.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("DefaultIntegration", self.websocket),
                return_response=True),
        )
        self.api.add_route("subscribe", integration=integrations.WebSocketLambdaIntegration(
            "SubscribeIntegration", self.websocket), return_response=True)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=config.log_retention,
                                    removal_policy=config.removal_policy)
        self.stage = apigw.WebSocketStage(
            self, "Stage", web_socket_api=self.api, stage_name=STAGE, auto_deploy=True,
            throttle=apigw.ThrottleSettings(rate_limit=20, burst_limit=50),
            access_log_settings=AccessLogSettings(access_logs, WS_ACCESS_LOG_FORMAT))
        self.url = self.stage.url  # wss://…/live
        CfnOutput(self, "WebSocketUrl", value=self.url, description="live job events (?token=<JWT>)")

        # webhook deliveries: SQS with a dead-letter queue (both encrypted, TLS only)
        self.dead_letters = sqs.Queue(
            self, "WebhookDeadLetters", queue_name=f"{config.prefix}-webhooks-dlq",
            retention_period=Duration.days(14), encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True)
        self.queue = sqs.Queue(
            self, "WebhookDeliveries", queue_name=f"{config.prefix}-webhooks",
            visibility_timeout=Duration.seconds(6 * SPECS["webhooks"][1]), retention_period=Duration.days(4),
            encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=MAX_RECEIVES))

        self.notifier = self._function("notifier", {
            "EVENTFEED_FUNCTION": self.eventfeed.function_name,
            "WEBSOCKET_MANAGEMENT_URL": self.stage.callback_url,
            "DELIVERY_QUEUE_URL": self.queue.queue_url}, reserved_concurrency=1)
        self.webhooks = self._function("webhooks", {
            "EVENTFEED_FUNCTION": self.eventfeed.function_name,
            "DEAD_LETTER_QUEUE_URL": self.dead_letters.queue_url})
        for fn in (self.notifier, self.webhooks):  # the function itself, not its versions (`:*`)
            fn.add_to_role_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"],
                                                      resources=[self.eventfeed.function_arn]))
        # post to the connections of this API's one stage (a connection id is only known at run time)
        self.connections_arn = Stack.of(self).format_arn(
            service="execute-api", resource=self.api.api_id, resource_name=f"{STAGE}/POST/@connections/*")
        self.notifier.add_to_role_policy(iam.PolicyStatement(actions=["execute-api:ManageConnections"],
                                                             resources=[self.connections_arn]))
        self.queue.grant_send_messages(self.notifier)
        self.queue.grant_consume_messages(self.webhooks)
        self.dead_letters.grant_send_messages(self.webhooks)
        # one message per invocation: a receiver that hangs for its whole timeout (10 s) never holds
        # other deliveries back or runs a batch past the function's timeout; Lambda scales the pollers
        self.webhooks.add_event_source(sources.SqsEventSource(
            self.queue, batch_size=1, report_batch_item_failures=True))
        self.schedule = events.Rule(self, "Schedule", rule_name=f"{config.prefix}-notifier",
                                    description="Run the ProSync notifier (each run loops about a minute)",
                                    schedule=events.Schedule.rate(Duration.minutes(1)))
        self.schedule.add_target(targets.LambdaFunction(self.notifier, retry_attempts=0,
                                                        max_event_age=Duration.minutes(1)))

        self.alarms = [
            cw.Alarm(self, "DeadLettersAlarm", alarm_description="webhook deliveries gave up (dead-letter queue)",
                     metric=self.dead_letters.metric_approximate_number_of_messages_visible(
                         period=Duration.minutes(5), statistic="Maximum"),
                     threshold=1, evaluation_periods=1, treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                     comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD),
            cw.Alarm(self, "NotifierScheduleAlarm", alarm_description="the notifier's schedule failed to start it",
                     metric=cw.Metric(namespace="AWS/Events", metric_name="FailedInvocations",
                                      dimensions_map={"RuleName": self.schedule.rule_name},
                                      period=Duration.minutes(5), statistic="Sum"),
                     threshold=1, evaluation_periods=1, treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                     comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD),
        ] + [
            cw.Alarm(self, f"{name.capitalize()}ErrorsAlarm", alarm_description=f"{fn.function_name} failed",
                     metric=fn.metric_errors(period=Duration.minutes(5), statistic="Sum"), threshold=1,
                     evaluation_periods=1, treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                     comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
            for name, fn in self.functions.items()
        ]

    def notify(self, topic: sns.ITopic) -> None:
        for alarm in self.alarms:
            alarm.add_alarm_action(cw_actions.SnsAction(topic))
            alarm.add_ok_action(cw_actions.SnsAction(topic))

    def _function(self, name: str, environment: dict[str, str], reserved_concurrency: int | None = None):
        config = self._config
        memory, timeout, in_vpc, description = SPECS[name]
        function_name, cid = f"{config.prefix}-{name}", name.capitalize()
        role = iam.Role(self, f"{cid}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description=f"Execution role of {function_name} (least privilege)")
        log_group = logs.LogGroup(self, f"{cid}Logs", log_group_name=f"/aws/lambda/{function_name}",
                                  retention=config.log_retention, removal_policy=config.removal_policy)
        log_group.grant_write(role)
        vpc_props: dict = {}
        if in_vpc:
            role.add_to_policy(iam.PolicyStatement(actions=[
                "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
                resources=["*"]))
            vpc_props = {"vpc": self._network.vpc, "vpc_subnets": self._network.isolated,
                         "security_groups": [self._network.lambda_sg]}
        fn = lambda_.Function(
            self, cid, function_name=function_name, description=description, runtime=RUNTIME,
            architecture=ARCHITECTURE, code=_code(config, name), handler="handler.lambda_handler",
            layers=[self._layer], memory_size=memory, timeout=Duration.seconds(timeout),
            tracing=lambda_.Tracing.ACTIVE, role=role, log_group=log_group,
            reserved_concurrent_executions=reserved_concurrency,
            environment={"STAGE": config.stage, "POWERTOOLS_SERVICE_NAME": f"prosync-{name}",
                         "POWERTOOLS_METRICS_NAMESPACE": "ProSync", "POWERTOOLS_LOG_LEVEL": config.log_level,
                         **environment},
            **vpc_props)
        self.functions[name] = fn
        return fn


def issuer_and_audience(config: StackConfig, api) -> tuple[str, list[str]]:
    """The HTTP API's issuer and audiences: the external issuer by context, else the stack's user pool."""
    if config.jwt_issuer:
        return config.jwt_issuer, list(config.jwt_audience)
    region = Stack.of(api).region
    return (f"https://cognito-idp.{region}.amazonaws.com/{api.user_pool.user_pool_id}",
            [api.user_pool_client.user_pool_client_id])



def live_acknowledgements(stack) -> list:
    """cdk-nag acknowledgements of this construct (infra/nag.py adds them to its registry)."""
    from infra.nag import Ack, _flatten  # noqa: PLC0415 (nag imports this module lazily too)

    acks: list = []
    for name in SPECS:
        cid = name.capitalize()
        acks.append(Ack(f"LiveEvents/{cid}Role", "AwsSolutions-IAM5[Resource::*]",
                        "X-Ray PutTraceSegments/PutTelemetryRecords and, for the in-VPC websocket and "
                        "eventfeed, the ENI actions of AWSLambdaVPCAccessExecutionRole support no "
                        "resource-level permissions"))
    connections = _flatten(stack.resolve(stack.live.connections_arn))
    acks.append(Ack("LiveEvents/NotifierRole", f"AwsSolutions-IAM5[Resource::{connections}]",
                    "ManageConnections on POST /@connections of the one stage of this WebSocket API: the "
                    "connection id in the path is only known at run time"))
    acks.append(Ack("LiveEvents/WebSocketApi", "AwsSolutions-APIG4",
                    "a WebSocket API authorizes at $connect only (the Lambda authorizer checks the JWT there); "
                    "$disconnect, subscribe and $default run on that authorized connection"))
    for cid, reason in (
            ("Wsauth", "invoked synchronously by API Gateway at $connect; a failure refuses the connection"),
            ("Websocket", "invoked synchronously by the WebSocket API's routes; the client sees the error"),
            ("Eventfeed", "invoked synchronously by the notifier and webhooks functions, which retry"),
            ("Webhooks", "an SQS event source: failed messages return to the queue, whose redrive "
                         "policy moves them to the dead-letter queue"),
            ("Notifier", "the event is a schedule tick that carries no data: a failed run is redone by "
                         "the next run a minute later (from the cursor kept in Postgres)")):
        acks.append(Ack(f"LiveEvents/{cid}", "Serverless-LambdaDLQ", reason))
    acks.append(Ack("LiveEvents/Schedule", "Serverless-EventBusDLQ",
                    "a schedule tick that carries no data; the next tick a minute later does the same work"))
    acks.append(Ack("LiveEvents/WebhookDeadLetters", "Serverless-SQSRedrivePolicy",
                    "this queue is the dead-letter queue of the webhook deliveries; its DLQ alarm watches it"))
    acks.append(Ack("LiveEvents/Webhooks", "Serverless-LambdaEventSourceMappingDestination",
                    "an SQS source: failed messages go to the queue's dead-letter queue by its redrive "
                    "policy (on-failure destinations are for stream sources)"))
    return acks
