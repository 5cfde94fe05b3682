"""Web hosting: one origin for the page and the API (CloudFront in front of a private bucket and the HTTP API).

| path      | origin                                   | caching  | forwarded                               |
|-----------|------------------------------------------|----------|-----------------------------------------|
| `/api/*`  | the HTTP API (`<id>.execute-api...`)     | disabled | every method; all viewer headers but Host (so `Authorization`), query strings |
| otherwise | `web/` in a private bucket, through origin access control (OAC) | optimized, invalidated on every deploy | nothing |

The page calls `/api/v1` of its own origin, so production needs no CORS on the API (infra/api.py keeps
CORS only for the origins given by context). Every `web/` answer carries the security headers the local
gateway serves (`devstack/gateway/websecurity.py`: the CSP of `web/index.html`'s meta tag with
`frame-ancestors 'none'`, nosniff, no-referrer) plus HSTS and `X-Frame-Options: DENY`; `/api/*` gets the
same headers without the CSP (the API's Swagger page loads its own assets).

`publish()` deploys `web/` and `auth-config.json` (the page's sign-in settings, infra/auth.py) in one
BucketDeployment, so pruning one never deletes the other.

A custom domain comes from context (`domain_names` + `certificate_arn`, an ACM certificate in
us-east-1, CloudFront's region); nothing is looked up at synth. The default `*.cloudfront.net` name
only allows TLSv1 as the viewer minimum (CloudFront's rule), a custom domain gets TLSv1.2_2021.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from devstack.gateway.websecurity import WebSecurity
from infra.api import Api
from infra.config import REPO_ROOT, StackConfig
from infra.storage import GUARDED, Storage

WEB_DIR = REPO_ROOT / "web"
API_PATH_PATTERN = "/api/*"
AUTH_CONFIG_KEY = "auth-config.json"  # the page reads /auth-config.json (web/auth.js)
WEB_EXCLUDES = ["*.md", ".DS_Store", "__pycache__", "*.map"]
HSTS_MAX_AGE = Duration.days(365)


def security_headers(csp: str | None) -> cloudfront.ResponseSecurityHeadersBehavior:
    """HSTS, DENY framing, nosniff, no-referrer; and the page's CSP when given (web/ only)."""
    return cloudfront.ResponseSecurityHeadersBehavior(
        content_security_policy=(
            cloudfront.ResponseHeadersContentSecurityPolicy(content_security_policy=csp, override=True)
            if csp
            else None
        ),
        strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
            access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, override=True
        ),
        frame_options=cloudfront.ResponseHeadersFrameOptions(
            frame_option=cloudfront.HeadersFrameOption.DENY, override=True
        ),
        content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
        referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
            referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
        ),
    )


def page_csp(connect_origins: tuple[str, ...] = ()) -> str:
    """The CSP header of web/: the local gateway's policy (the meta tag's, kept equal by a unit test)
    with `frame-ancestors 'none'`; `connect_origins` adds the sign-in endpoints (token exchange)."""
    headers = dict(WebSecurity(api_origins=connect_origins).headers())
    return headers["content-security-policy"]


class WebHosting(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StackConfig,
        storage: Storage,
        api: Api,
        web_acl_arn: str | None = None,
        connect_origins: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, id)
        self._config = config
        stack = Stack.of(self)
        self.bucket = s3.Bucket(
            self,
            "Site",
            **GUARDED,
            server_access_logs_bucket=storage.access_logs,
            server_access_logs_prefix="web/",
            removal_policy=config.removal_policy,
        )
        self.csp = page_csp(connect_origins)
        self.web_headers = cloudfront.ResponseHeadersPolicy(
            self,
            "WebHeaders",
            response_headers_policy_name=f"{config.prefix}-web-headers",
            comment="ProSync page: CSP of web/index.html, HSTS, no framing, nosniff, no-referrer",
            security_headers_behavior=security_headers(self.csp),
        )
        self.api_headers = cloudfront.ResponseHeadersPolicy(
            self,
            "ApiHeaders",
            response_headers_policy_name=f"{config.prefix}-api-headers",
            comment="ProSync API: HSTS, no framing, nosniff, no-referrer",
            security_headers_behavior=security_headers(None),
        )
        api_domain = f"{api.http_api.api_id}.execute-api.{stack.region}.{stack.url_suffix}"
        api_behavior = cloudfront.BehaviorOptions(
            origin=origins.HttpOrigin(
                api_domain,
                protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
                read_timeout=Duration.seconds(30),  # the HTTP API's own integration limit
            ),
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            # every viewer header except Host (API Gateway routes by its own host name), so the
            # Authorization header and all query strings reach the API
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            response_headers_policy=self.api_headers,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            compress=True,
        )
        custom_domain: dict = {}
        if config.domain_names:
            custom_domain = {
                "domain_names": list(config.domain_names),
                "certificate": acm.Certificate.from_certificate_arn(
                    self, "Certificate", config.certificate_arn
                ),
                "minimum_protocol_version": cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            }
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{config.prefix}: web/ and /api/* on one origin",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.web_headers,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                compress=True,
            ),
            additional_behaviors={API_PATH_PATTERN: api_behavior},
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            web_acl_id=web_acl_arn,
            **custom_domain,
        )
        host = config.domain_names[0] if config.domain_names else self.distribution.distribution_domain_name
        self.origin = f"https://{host}"
        self.url = f"{self.origin}/"
        CfnOutput(self, "WebUrl", value=self.url, description="The page and, under /api/v1, the API")
        CfnOutput(self, "DistributionId", value=self.distribution.distribution_id)

    def publish(self, auth_config: dict) -> s3deploy.BucketDeployment:
        """web/ and auth-config.json into the bucket (pruning what a deploy no longer has), then an
        invalidation of the distribution."""
        config = self._config
        log_group = logs.LogGroup(
            self, "DeployLogs", retention=config.log_retention, removal_policy=config.removal_policy
        )
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Deploy",
            destination_bucket=self.bucket,
            sources=[
                s3deploy.Source.asset(str(WEB_DIR), exclude=WEB_EXCLUDES),
                s3deploy.Source.json_data(AUTH_CONFIG_KEY, auth_config),
            ],
            distribution=self.distribution,
            distribution_paths=["/*"],
            prune=True,
            retain_on_delete=config.is_prod,  # dev: the objects go with the stack, then the bucket
            memory_limit=256,
            log_group=log_group,
        )
        # CDK's deployment function (one per stack, at its root: Python and the AWS CLI, both
        # architecture-neutral) runs on Graviton like every other function of the stack.
        singletons = Stack.of(self).node.children
        self.deployment_function = next(
            c for c in singletons if c.node.id.startswith("Custom::CDKBucketDeployment")
        )
        self.deployment_function.node.default_child.architectures = ["arm64"]
        return self.deployment
