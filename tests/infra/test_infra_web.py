"""One origin (CloudFront: web/ from a private bucket, the API under /api/*), sign-in, edge protection.

`dev` and `prod` are the session's stacks (eu-west-1; prod with an external issuer); `edge` is prod in
us-east-1 with the in-stack Cognito pool, a custom domain, WAF and a budget.
"""

from __future__ import annotations

import json

import pytest
from infra_testkit import CERTIFICATE_ARN as CERT
from infra_testkit import PROD_CONTEXT, render, synthesize

from devstack.gateway.websecurity import WebSecurity
from infra.auth import cli_callback_urls
from infra.config import StackConfig
from infra.edge_protection import MANAGED_RULE_GROUPS
from infra.web_hosting import AUTH_CONFIG_KEY

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # managed cache policy ids
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def _one(synth, type_: str) -> dict:
    (resource,) = synth.resources(type_).values()
    return resource["Properties"]


def _distribution(synth) -> dict:
    return _one(synth, "AWS::CloudFront::Distribution")["DistributionConfig"]


def _headers_policy(synth, ref: dict) -> dict:
    return synth.template["Resources"][ref["Ref"]]["Properties"]["ResponseHeadersPolicyConfig"]


def test_site_bucket_is_private_and_read_through_origin_access_control(synth):
    site = synth.logical_id(synth.stack.hosting.bucket)
    props = synth.template["Resources"][site]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert "WebsiteConfiguration" not in props
    dist = _distribution(synth)
    (s3_origin,) = [o for o in dist["Origins"] if "S3OriginConfig" in o]
    assert s3_origin["DomainName"] == {"Fn::GetAtt": [site, "RegionalDomainName"]}
    assert s3_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    oac = _one(synth, "AWS::CloudFront::OriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3", "always", "sigv4")
    (policy,) = [p for p in synth.resources("AWS::S3::BucketPolicy").values()
                 if p["Properties"]["Bucket"] == {"Ref": site}]
    (allow,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    assert "distribution/" in render(allow["Condition"]["StringEquals"]["AWS:SourceArn"])
    assert dist["DefaultRootObject"] == "index.html"
    assert dist["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"


def test_api_under_api_path_uncached_with_authorization_forwarded(synth):
    dist = _distribution(synth)
    (api,) = dist["CacheBehaviors"]
    assert api["PathPattern"] == "/api/*"
    assert sorted(api["AllowedMethods"]) == ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    assert api["CachePolicyId"] == CACHING_DISABLED
    assert api["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST  # Authorization + query strings, no Host
    assert api["ViewerProtocolPolicy"] == "https-only"
    (origin,) = [o for o in dist["Origins"] if o["Id"] == api["TargetOriginId"]]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    http_api = synth.logical_id(synth.stack.api.http_api)
    assert {"Ref": http_api} in origin["DomainName"]["Fn::Join"][1]
    assert ".execute-api." in render(origin["DomainName"])


def test_security_headers_match_the_page_and_the_local_gateway(synth):
    dist = _distribution(synth)
    web_policy = _headers_policy(synth, dist["DefaultCacheBehavior"]["ResponseHeadersPolicyId"])
    web = web_policy["SecurityHeadersConfig"]
    csp = web["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    gateway = dict(WebSecurity().headers())["content-security-policy"]
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    for directive in gateway.split("; "):  # every source the page's meta allows, nothing dropped
        name, sources = directive.split(" ", 1)
        assert set(sources.split()) <= set(directives[name].split()), name
    assert directives["frame-ancestors"] == "'none'" and "'unsafe-inline'" not in csp
    assert web["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert web["ContentTypeOptions"] == {"Override": True}
    assert web["ReferrerPolicy"] == {"ReferrerPolicy": "no-referrer", "Override": True}
    assert web["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31_536_000
    api_policy = _headers_policy(synth, dist["CacheBehaviors"][0]["ResponseHeadersPolicyId"])
    api = api_policy["SecurityHeadersConfig"]
    assert "ContentSecurityPolicy" not in api and api["FrameOptions"]["FrameOption"] == "DENY"


def test_the_sign_in_origin_is_in_connect_src(dev, edge):
    assert "https://prosync-dev-111111111111.auth.eu-west-1.amazoncognito.com" in dev.stack.hosting.csp
    assert "https://prosync-editor.auth.us-east-1.amazoncognito.com" in edge.stack.hosting.csp


def test_no_cors_in_prod_and_only_the_dev_origins_in_dev(dev, prod):
    (api,) = [a for k, a in prod.resources("AWS::ApiGatewayV2::Api").items() if not k.startswith("LiveEvents")]
    assert "CorsConfiguration" not in api["Properties"]
    assert prod.stack.config.cors_origins == []
    (api,) = [a for k, a in dev.resources("AWS::ApiGatewayV2::Api").items() if not k.startswith("LiveEvents")]
    origins = api["Properties"]["CorsConfiguration"]["AllowOrigins"]
    assert origins == ["http://localhost:8080", "http://127.0.0.1:8080"] and "*" not in origins


def test_media_bucket_cors_allows_the_page_on_the_distribution(synth):
    media = synth.template["Resources"][synth.logical_id(synth.stack.storage.media)]["Properties"]
    origins = [o for rule in media["CorsConfiguration"]["CorsRules"] for o in rule["AllowedOrigins"]]
    dist = synth.logical_id(synth.stack.hosting.distribution)
    assert {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [dist, "DomainName"]}]]} in origins
    assert "*" not in origins


def test_web_and_auth_config_are_deployed_together_and_invalidated(synth):
    (deploy,) = synth.resources("Custom::CDKBucketDeployment").values()
    props = deploy["Properties"]
    assert len(props["SourceObjectKeys"]) == 2 and props["Prune"] is True
    assert props["DestinationBucketName"] == {"Ref": synth.logical_id(synth.stack.hosting.bucket)}
    assert props["DistributionPaths"] == ["/*"]
    assert props["RetainOnDelete"] is synth.stack.config.is_prod
    assert AUTH_CONFIG_KEY == "auth-config.json"
    page = synth.stack.auth.page_config
    assert {"authority", "clientId", "redirectUri", "scopes", "cliRedirectUris"} <= set(page)
    assert page["cliRedirectUris"] == cli_callback_urls(synth.stack.config)


def test_cognito_domain_and_a_public_code_flow_client(dev):
    (domain,) = dev.resources("AWS::Cognito::UserPoolDomain").values()
    assert domain["Properties"]["Domain"] == "prosync-dev-111111111111"
    assert domain["Properties"]["ManagedLoginVersion"] == 2
    assert dev.resources("AWS::Cognito::ManagedLoginBranding")
    client = _one(dev, "AWS::Cognito::UserPoolClient")
    assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["GenerateSecret"] is False
    assert set(client["AllowedOAuthScopes"]) == {"openid", "email", "profile"}
    dist = dev.logical_id(dev.stack.hosting.distribution)
    site = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [dist, "DomainName"]}, "/"]]}
    loopback = [f"http://localhost:{port}/callback" for port in (8765, 8766, 8767)]
    assert client["CallbackURLs"] == [site, *loopback]
    assert client["LogoutURLs"] == [site]
    assert client["RefreshTokenValidity"] == 30 * 24 * 60
    assert client["TokenValidityUnits"]["RefreshToken"] == "minutes"
    assert client["EnableTokenRevocation"] is True
    outputs = dev.template["Outputs"]
    assert any(k.startswith("AuthOidcAuthority") for k in outputs)
    assert any(k.startswith("AuthOidcClientId") for k in outputs)


def test_external_issuer_gets_only_the_page_config(prod):
    assert not prod.resources("AWS::Cognito::UserPoolDomain")
    page = prod.stack.auth.page_config
    assert page["authority"] == "https://auth.example.com/" and page["clientId"] == "prosync-api"
    assert "https://auth.example.com" in prod.stack.hosting.csp


def test_custom_domain_with_its_certificate(edge):
    dist = _distribution(edge)
    assert dist["Aliases"] == ["editor.example.com"]
    assert dist["ViewerCertificate"] == {
        "AcmCertificateArn": CERT, "MinimumProtocolVersion": "TLSv1.2_2021", "SslSupportMethod": "sni-only"}
    client = _one(edge, "AWS::Cognito::UserPoolClient")
    assert client["CallbackURLs"][0] == "https://editor.example.com/"


def test_waf_rules_when_enabled(edge):
    acl = _one(edge, "AWS::WAFv2::WebACL")
    assert acl["Scope"] == "CLOUDFRONT" and acl["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in acl["Rules"]}
    token = rules["RateLimitPerToken"]["Statement"]["RateBasedStatement"]
    assert token["AggregateKeyType"] == "CUSTOM_KEYS"
    assert token["CustomKeys"] == [{"Header": {"Name": "authorization",
                                               "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}]
    assert token["Limit"] == edge.stack.config.waf_rate_limit
    block = rules["RateLimitPerToken"]["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == 429 and block["CustomResponseBodyKey"] in acl["CustomResponseBodies"]
    assert rules["RateLimitPerIp"]["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    for group in MANAGED_RULE_GROUPS:
        statement = rules[group]["Statement"]["ManagedRuleGroupStatement"]
        assert statement == {"VendorName": "AWS", "Name": group}
        assert rules[group]["OverrideAction"] == {"None": {}}
    assert len({r["Priority"] for r in acl["Rules"]}) == len(acl["Rules"])
    web_acl = edge.stack.get_logical_id(edge.stack.edge.web_acl)
    assert _distribution(edge)["WebACLId"] == {"Fn::GetAtt": [web_acl, "Arn"]}


def test_waf_outside_us_east_1_is_skipped_with_a_message(prod, dev):
    assert prod.stack.config.waf and prod.stack.edge.web_acl is None
    assert not prod.resources("AWS::WAFv2::WebACL") and "WebACLId" not in _distribution(prod)
    messages = [m.data for m in prod.stack.edge.node.metadata if m.type == "aws:cdk:warning"]
    assert any("us-east-1" in str(m) and "web_acl_arn" in str(m) for m in messages)
    assert not dev.stack.config.waf and not dev.resources("AWS::WAFv2::WebACL")


def test_a_given_web_acl_is_attached(tmp_path):
    arn = "arn:aws:wafv2:us-east-1:111111111111:global/webacl/prosync/abc"
    synth = synthesize({**PROD_CONTEXT, "web_acl_arn": arn}, tmp_path, nag=True)
    assert _distribution(synth)["WebACLId"] == arn and not synth.resources("AWS::WAFv2::WebACL")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"domain_names": ["editor.example.com"]},
        {"domain_names": ["editor.example.com"], "certificate_arn": CERT.replace("us-east-1", "eu-west-1")},
        {"web_hosting": False, "waf": True},
        {"cors_origins": ["*"]},
    ],
)
def test_config_refuses_inconsistent_web_settings(kwargs):
    with pytest.raises(ValueError):
        StackConfig(**kwargs)


def test_the_deployed_page_config_names_the_live_events_socket(synth):
    # the WebSocket API's URL exists only at deploy: it goes into auth-config.json (a deploy-time
    # marker of the BucketDeployment), where web/live.js reads it; the page's CSP allows wss to AWS
    (deploy,) = synth.resources("Custom::CDKBucketDeployment").values()
    markers = json.dumps(deploy["Properties"].get("SourceMarkers"))
    assert synth.logical_id(synth.stack.live.api) in markers, markers
    assert "wss://*.amazonaws.com" in synth.stack.hosting.csp.split("connect-src", 1)[1].split(";")[0]
