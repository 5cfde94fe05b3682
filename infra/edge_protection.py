"""Edge protection: an AWS WAF web ACL on the CloudFront distribution (context `waf`, on in prod).

Rules, in order:
1. `RateLimitPerToken`: at most `waf_rate_limit` requests per 5 minutes per bearer token (a rate-based
   rule with a custom aggregation key on the `authorization` header), answered 429. One user's runaway
   loop is blocked; every other token keeps its own count. Requests without the header are not counted
   by this rule (WAF skips a request that lacks a custom key).
2. `RateLimitPerIp`: 10x that per client IP, for floods without a token.
3. AWS managed rule groups `AWSManagedRulesAmazonIpReputationList`, `AWSManagedRulesKnownBadInputsRuleSet`
   and `AWSManagedRulesCommonRuleSet` (no subscription fee).

A web ACL for CloudFront has scope CLOUDFRONT and must be created in **us-east-1**. A stack in another
region either names a web ACL made there (context `web_acl_arn`) or synthesizes without one and says so
(a synth-time warning); WAF is never silently half-configured.

Cost (us-east-1 list prices): $5.00 per web ACL per month + $1.00 per rule or rule group per month
(5 here: $10/month) + $0.60 per million requests inspected. Direct calls to the HTTP API's own
`execute-api` address bypass CloudFront and so this ACL; the stage throttle still applies to them.
"""

from __future__ import annotations

from aws_cdk import Annotations, Stack, Token
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import StackConfig

WAF_REGION = "us-east-1"
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesCommonRuleSet",
)
IP_LIMIT_FACTOR = 10
TOO_MANY_REQUESTS = "TooManyRequests"


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _block_429() -> wafv2.CfnWebACL.RuleActionProperty:
    return wafv2.CfnWebACL.RuleActionProperty(
        block=wafv2.CfnWebACL.BlockActionProperty(
            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                response_code=429, custom_response_body_key=TOO_MANY_REQUESTS
            )
        )
    )


class EdgeProtection(Construct):
    """`web_acl_arn` is what the distribution gets: the ACL made here, the one given, or None."""

    def __init__(self, scope: Construct, id: str, *, config: StackConfig) -> None:
        super().__init__(scope, id)
        self.web_acl: wafv2.CfnWebACL | None = None
        self.web_acl_arn: str | None = config.web_acl_arn
        if self.web_acl_arn or not config.waf:
            return
        region = Stack.of(self).region
        if Token.is_unresolved(region) or region != WAF_REGION:
            Annotations.of(self).add_warning_v2(
                "prosync:waf-region",
                f"WAF skipped: a CLOUDFRONT web ACL must be created in {WAF_REGION} and this stack's "
                f"region is {region}. Create the web ACL there and pass its ARN as context web_acl_arn "
                "(docs/DEPLOY.md), or deploy the stack to us-east-1.",
            )
            return
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"{config.prefix}-edge",
            description="ProSync edge: per-token and per-IP rate limits, AWS managed rule groups",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{config.prefix}-edge"),
            custom_response_bodies={
                TOO_MANY_REQUESTS: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content='{"error": "too_many_requests", "message": "Too many requests: slow down"}',
                )
            },
            rules=self._rules(config),
        )
        self.web_acl_arn = self.web_acl.attr_arn

    @staticmethod
    def _rules(config: StackConfig) -> list[wafv2.CfnWebACL.RuleProperty]:
        per_token = wafv2.CfnWebACL.RuleProperty(
            name="RateLimitPerToken",
            priority=0,
            action=_block_429(),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=config.waf_rate_limit,
                    evaluation_window_sec=300,
                    aggregate_key_type="CUSTOM_KEYS",
                    custom_keys=[
                        wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(
                            header=wafv2.CfnWebACL.RateLimitHeaderProperty(
                                name="authorization",
                                text_transformations=[
                                    wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                                ],
                            )
                        )
                    ],
                )
            ),
            visibility_config=_visibility("RateLimitPerToken"),
        )
        per_ip = wafv2.CfnWebACL.RuleProperty(
            name="RateLimitPerIp",
            priority=1,
            action=_block_429(),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=config.waf_rate_limit * IP_LIMIT_FACTOR,
                    evaluation_window_sec=300,
                    aggregate_key_type="IP",
                )
            ),
            visibility_config=_visibility("RateLimitPerIp"),
        )
        managed = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=2 + index,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=_visibility(group),
            )
            for index, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        return [per_token, per_ip, *managed]
