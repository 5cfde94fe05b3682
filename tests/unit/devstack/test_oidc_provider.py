"""The local OpenID provider of the sign-in tests (Authlib's authorization server) holds to what the
page and the CLI rely on: PKCE required and S256 only, exact redirect URIs, codes used once, RS256 ID
tokens verifiable with its JWKS, Cognito-shaped access tokens, refresh tokens rotated."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from devstack.oidc_provider import OidcProvider

REDIRECT = "http://127.0.0.1:1/back"
VERIFIER = "v" * 50


@pytest.fixture(scope="module")
def provider():
    with OidcProvider(client_id="web", redirect_uris=[REDIRECT], logout_uris=[REDIRECT]) as p:
        yield p


def authorize(provider, **changes) -> httpx.Response:
    params = {"response_type": "code", "client_id": "web", "redirect_uri": REDIRECT, "scope": "openid email",
              "state": "s1", "nonce": "n1", "code_challenge": create_s256_code_challenge(VERIFIER),
              "code_challenge_method": "S256", **changes}
    return httpx.get(f"{provider.issuer}/oauth2/authorize", params={k: v for k, v in params.items() if v})


def answer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302 and response.headers["location"].startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def exchange(provider, code: str, verifier: str = VERIFIER) -> httpx.Response:
    return httpx.post(f"{provider.issuer}/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": "web",
        "code_verifier": verifier})


def test_discovery_names_the_endpoints_and_the_keys(provider):
    found = httpx.get(f"{provider.issuer}/.well-known/openid-configuration").json()
    assert found["issuer"] == provider.issuer
    assert found["code_challenge_methods_supported"] == ["S256"]
    assert found["response_types_supported"] == ["code"]
    assert httpx.get(found["jwks_uri"]).json() == provider.jwks()


@pytest.mark.parametrize("changes", [{"code_challenge": ""}, {"code_challenge_method": "plain"},
                                     {"code_challenge_method": ""}, {"response_type": "token"}])
def test_no_code_without_s256_pkce_and_no_implicit_flow(provider, changes):
    refused = answer(authorize(provider, **changes))
    assert refused["error"] in ("invalid_request", "unsupported_response_type") and "code" not in refused


def test_an_unregistered_redirect_gets_no_redirect(provider):
    response = authorize(provider, redirect_uri="http://127.0.0.1:1/elsewhere")
    assert response.status_code == 400 and "location" not in response.headers


def test_code_flow_tokens_and_refresh(provider):
    code = answer(authorize(provider, nonce="n0"))["code"]
    assert exchange(provider, code, verifier="w" * 50).json()["error"] == "invalid_grant"  # wrong verifier
    assert answer(authorize(provider, nonce="n0"))["error"] == "invalid_request"  # a nonce used again
    code = answer(authorize(provider))["code"]
    token = exchange(provider, code).json()
    assert exchange(provider, code).json()["error"] == "invalid_grant"  # a code is used once

    keys = jwt.PyJWKClient(f"{provider.issuer}/.well-known/jwks.json")
    key = keys.get_signing_key_from_jwt(token["id_token"])
    id_claims = jwt.decode(token["id_token"], key.key, algorithms=["RS256"], audience="web",
                           issuer=provider.issuer)
    assert id_claims["sub"] == provider.user.sub and id_claims["email"] == provider.user.email
    assert id_claims["nonce"] == "n1" and id_claims["at_hash"]
    access = jwt.decode(token["access_token"], key.key, algorithms=["RS256"], issuer=provider.issuer,
                        options={"verify_aud": False})
    assert access["client_id"] == "web" and "aud" not in access and access["token_use"] == "access"

    refresh = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": "web"}
    renewed = httpx.post(f"{provider.issuer}/oauth2/token", data=refresh).json()
    assert renewed["access_token"] != token["access_token"]
    assert renewed["refresh_token"] != token["refresh_token"]
    again = httpx.post(f"{provider.issuer}/oauth2/token", data=refresh).json()
    assert again["error"] == "invalid_grant"  # rotated: the used refresh token is revoked


def test_end_session_returns_only_to_a_registered_page(provider):
    back = httpx.get(f"{provider.issuer}/logout", params={"client_id": "web", "logout_uri": REDIRECT})
    assert back.status_code == 302 and back.headers["location"] == REDIRECT
    elsewhere = {"post_logout_redirect_uri": "http://x/"}
    assert httpx.get(f"{provider.issuer}/logout", params=elsewhere).status_code == 400
