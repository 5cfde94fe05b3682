"""API: HTTP API with a JWT authorizer on every route except health, Swagger UI and the OpenAPI JSON.

The issuer is an external one from context (`jwt_issuer` + `jwt_audience`) or, by default, a Cognito
user pool created here. All routes integrate with the one `api` Lambda (Powertools resolver).
"""

from __future__ import annotations

import json

import jsii
from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw_v1
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import StackConfig

from prosync.routes import PREFIX, PROTECTED_ROUTES, PUBLIC_ROUTES

THROTTLE_RATE = 50  # requests/s, steady state, whole stage
THROTTLE_BURST = 100

ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "sub": "$context.authorizer.claims.sub",
    "userAgent": "$context.identity.userAgent",
}


@jsii.implements(apigw.IAccessLogSettings)
class AccessLogSettings:
    """A stage's access log: JSON lines in `log_group` (the HTTP API's, or the WebSocket API's fields)."""

    def __init__(self, log_group: logs.ILogGroup, fields: dict[str, str] = ACCESS_LOG_FORMAT) -> None:
        self._destination = apigw.LogGroupLogDestination(log_group)
        self._format = apigw_v1.AccessLogFormat.custom(json.dumps(fields))

    @property
    def destination(self) -> apigw.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw_v1.AccessLogFormat:
        return self._format


class Api(Construct):
    def __init__(self, scope: Construct, id: str, *, config: StackConfig, handler: lambda_.IFunction) -> None:
        super().__init__(scope, id)
        self.user_pool: cognito.UserPool | None = None
        self.user_pool_client: cognito.UserPoolClient | None = None
        authorizer = self._authorizer(config)

        self.http_api = apigw.HttpApi(
            self,
            "HttpApi",
            api_name=f"{config.prefix}-api",
            description="ProSync HTTP API",
            create_default_stage=False,
            # Hosted, the page calls the API on its own origin (infra/web_hosting.py): CORS only for
            # the local/dev origins given by context, none at all in prod.
            cors_preflight=apigw.CorsPreflightOptions(
                allow_origins=list(config.cors_origins),
                allow_methods=[
                    apigw.CorsHttpMethod.GET,
                    apigw.CorsHttpMethod.POST,
                    apigw.CorsHttpMethod.OPTIONS,
                ],
                allow_headers=["authorization", "content-type", "idempotency-key"],
                max_age=Duration.hours(1),
            )
            if config.cors_origins
            else None,
        )
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.stage = apigw.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(rate_limit=THROTTLE_RATE, burst_limit=THROTTLE_BURST),
            access_log_settings=AccessLogSettings(access_logs),
        )
        integration = integrations.HttpLambdaIntegration("ApiIntegration", handler)
        self.routes: dict[str, apigw.HttpRoute] = {}
        for public, routes in ((True, PUBLIC_ROUTES), (False, PROTECTED_ROUTES)):
            for method, path in routes:
                for route in self.http_api.add_routes(
                    path=PREFIX + path,
                    methods=[apigw.HttpMethod(method)],
                    integration=integration,
                    authorizer=apigw.HttpNoneAuthorizer() if public else authorizer,
                ):
                    self.routes[f"{method} {PREFIX}{path}"] = route

        self.url = self.http_api.api_endpoint + PREFIX
        CfnOutput(self, "ApiUrl", value=self.url, description="Base URL of the ProSync API")

    def _authorizer(self, config: StackConfig) -> apigw.IHttpRouteAuthorizer:
        if config.jwt_issuer:
            return authorizers.HttpJwtAuthorizer(
                "JwtAuthorizer", config.jwt_issuer, jwt_audience=list(config.jwt_audience)
            )
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            user_pool_name=f"{config.prefix}-users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            deletion_protection=config.is_prod,
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        self.user_pool_client = self.user_pool.add_client(
            "WebClient",
            user_pool_client_name=f"{config.prefix}-web",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
        CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.user_pool_client.user_pool_client_id)
        return authorizers.HttpUserPoolAuthorizer(
            "CognitoAuthorizer", self.user_pool, user_pool_clients=[self.user_pool_client]
        )
