"""HTTP API: routes, JWT authorizer, throttling, JSON access logs, CORS."""

import json

from infra.api import PREFIX, PROTECTED_ROUTES, PUBLIC_ROUTES


def _http(synth, type_: str) -> dict[str, dict]:
    """The HTTP API's resources of a type (live events' WebSocket API: test_infra_live_events.py)."""
    return {k: r for k, r in synth.resources(type_).items() if not k.startswith("LiveEvents")}


def _routes(synth) -> dict[str, dict]:
    return {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in _http(synth, "AWS::ApiGatewayV2::Route").values()
    }


def test_routes_are_exactly_the_contract(synth):
    expected = {f"{m} {PREFIX}{p}" for m, p in PUBLIC_ROUTES + PROTECTED_ROUTES}
    assert set(_routes(synth)) == expected
    assert {"GET /api/v1/health", "GET /api/v1/swagger", "GET /api/v1/openapi.json",
            "POST /api/v1/webhooks/syncso"} == {f"{m} {PREFIX}{p}" for m, p in PUBLIC_ROUTES}
    assert "$default" not in _routes(synth)


def test_jwt_authorizer_on_every_route_but_health_and_docs(synth):
    (authorizer_id,) = _http(synth, "AWS::ApiGatewayV2::Authorizer")
    public = {f"{m} {PREFIX}{p}" for m, p in PUBLIC_ROUTES}
    for key, route in _routes(synth).items():
        if key in public:
            assert route["AuthorizationType"] == "NONE", key
        else:
            assert route["AuthorizationType"] == "JWT", key
            assert route["AuthorizerId"] == {"Ref": authorizer_id}, key


def test_dev_uses_its_own_cognito_pool(dev):
    (authorizer,) = _http(dev, "AWS::ApiGatewayV2::Authorizer").values()
    jwt = authorizer["Properties"]["JwtConfiguration"]
    pool = dev.logical_id(dev.stack.api.user_pool)
    assert {"Ref": pool} in jwt["Issuer"]["Fn::Join"][1]
    assert "cognito-idp" in json.dumps(jwt["Issuer"])
    assert jwt["Audience"] == [{"Ref": dev.logical_id(dev.stack.api.user_pool_client)}]
    (pool_res,) = dev.resources("AWS::Cognito::UserPool").values()
    policy = pool_res["Properties"]["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12 and policy["RequireSymbols"] and policy["RequireNumbers"]
    assert pool_res["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_prod_uses_the_external_issuer_from_context(prod):
    assert not prod.resources("AWS::Cognito::UserPool")
    (authorizer,) = _http(prod, "AWS::ApiGatewayV2::Authorizer").values()
    props = authorizer["Properties"]
    assert props["AuthorizerType"] == "JWT"
    assert props["IdentitySource"] == ["$request.header.Authorization"]
    assert props["JwtConfiguration"] == {"Issuer": "https://auth.example.com/", "Audience": ["prosync-api"]}


def test_default_stage_throttling_and_json_access_logs(synth):
    (stage,) = _http(synth, "AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "$default" and props["AutoDeploy"] is True
    settings = props["DefaultRouteSettings"]
    assert settings["ThrottlingBurstLimit"] > 0 and settings["ThrottlingRateLimit"] > 0
    log_format = json.loads(props["AccessLogSettings"]["Format"])
    assert log_format["requestId"] == "$context.requestId" and "status" in log_format
    group = props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert synth.template["Resources"][group]["Properties"]["RetentionInDays"] > 0


def test_cors_from_context(dev):
    """Only the local/dev origins of context; prod serves the page on the API's origin: no CORS
    (tests/infra/test_infra_web.py)."""
    (api,) = _http(dev, "AWS::ApiGatewayV2::Api").values()
    cors = api["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == dev.stack.config.cors_origins
    assert "authorization" in cors["AllowHeaders"] and "idempotency-key" in cors["AllowHeaders"]


def test_every_route_integrates_with_the_api_function(synth):
    (integration_id, integration), *rest = _http(synth, "AWS::ApiGatewayV2::Integration").items()
    assert not rest
    props = integration["Properties"]
    assert props["IntegrationType"] == "AWS_PROXY" and props["PayloadFormatVersion"] == "2.0"
    assert props["IntegrationUri"] == {"Fn::GetAtt": [synth.function("api")[0], "Arn"]}
    for route in _routes(synth).values():
        assert route["Target"] == {"Fn::Join": ["", ["integrations/", {"Ref": integration_id}]]}
