"""The page's sign-in in headless Chromium, against a local OpenID provider built with Authlib
(devstack/oidc_provider.py): the page is served with an auth-config.json beside it by a gateway whose
authorizer trusts that provider (JWKS through discovery) in front of the real api Lambda and Postgres.
Sign-in is the code flow with PKCE (S256), the access token is what reaches the API, it is refreshed
before it expires, it is kept in sessionStorage (never localStorage), and sign-out revokes the refresh
token and ends the provider's session. The page's CSP (the provider's origin in connect-src, as the
gateway renders it) blocks nothing."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import jwt
import pytest

from devstack.gateway import Gateway, JwtAuthorizer, WebSecurity
from devstack.oidc_provider import OidcProvider
from prosync.db.repository import JobRepository
from prosync.settings import Tier, api_settings
from tests.e2e.test_browser import ARTIFACTS, browser  # noqa: F401 (the Chromium fixture)

pytestmark = pytest.mark.browser

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
CLIENT_ID = "prosync-web"
DEPLOYED_WS_URL = "wss://abc123.execute-api.eu-west-1.amazonaws.com/live"  # as infra/stack.py deploys it
TTL = 65  # oidc-client-ts renews 60 s before expiry: a refresh ~5 s after each token


@pytest.fixture(params=["infra", "minimal"])
def deployed_page(request, db, tmp_path, monkeypatch):
    """The page with auth-config.json as infra/auth.py writes it for Cognito, or with only the two
    required names (the endpoints then come from discovery alone)."""
    from functions.api.handler import lambda_handler

    monkeypatch.setenv("MEDIA_BUCKET", "prosync-signin-test")
    api_settings.cache_clear()
    provider = OidcProvider(client_id=CLIENT_ID, access_token_ttl=TTL).start()
    JobRepository(db).set_tier(provider.user.sub, Tier.PRO, provider.user.email)
    web = tmp_path / "web"
    shutil.copytree(WEB_DIR, web)
    claims_seen: list[dict] = []

    def handler(event, context):  # what the api Lambda was given, after the authorizer
        claims_seen.append(event["requestContext"]["authorizer"]["jwt"]["claims"])
        return lambda_handler(event, context)

    gateway = Gateway(
        handler,
        JwtAuthorizer.from_issuer(provider.issuer, [CLIENT_ID]),
        web_dir=web,
        web_security=WebSecurity.local("http://127.0.0.1:9", auth_origins=[provider.issuer]),
    ).start()
    page = f"{gateway.url}/"
    provider.client.redirect_uris.append(page)
    provider.client.logout_uris.append(page)
    config = {"authority": provider.issuer, "clientId": CLIENT_ID}
    if request.param == "infra":
        config.update(redirectUri=page, postLogoutRedirectUri=page, scopes=["openid", "email", "profile"],
                      revocationEndpoint=f"{provider.issuer}/oauth2/revoke", responseType="code", pkce="S256",
                      cliRedirectUris=["http://localhost:8765/callback"], wsUrl=DEPLOYED_WS_URL)
    (web / "auth-config.json").write_text(json.dumps(config))
    yield SimpleNamespace(provider=provider, page=page, claims_seen=claims_seen, gateway=gateway, config=config)
    gateway.stop()
    provider.stop()
    api_settings.cache_clear()


def stored_user(browser) -> dict | None:  # noqa: F811
    found = browser.evaluate(
        "Object.keys(sessionStorage).filter(k => k.startsWith('oidc.user:')).map(k => sessionStorage[k])")
    return json.loads(found[0]) if found else None


def wait_until(check, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s")
        time.sleep(0.2)
    return found


def test_sign_in_refresh_and_sign_out(browser, deployed_page):  # noqa: F811
    provider, page, claims_seen = deployed_page.provider, deployed_page.page, deployed_page.claims_seen
    browser.watch()
    browser.goto(f"{page}?poll=300")
    try:
        browser.wait_for("document.querySelector('#signin-button')?.textContent === 'Sign in'", timeout=20)
        token_field = "getComputedStyle(document.querySelector('#token')).display"
        assert browser.evaluate(token_field) == "none"  # no token field to paste into
        label = "document.querySelector('[data-loc=token]').textContent.trim()"
        assert browser.evaluate(label) == ""  # but its error line stays, for an API's 401
        assert claims_seen == []  # nothing asked of the API before signing in

        browser.evaluate("document.querySelector('#signin-button').click()")
        browser.wait_for("document.querySelector('#limits')?.textContent.includes('Tier pro')", timeout=20)
        assert provider.user.email in browser.evaluate("document.querySelector('#signin-user').textContent")
        (asked,) = provider.called("/oauth2/authorize")
        assert asked["response_type"] == "code" and asked["code_challenge_method"] == "S256"
        assert asked["client_id"] == CLIENT_ID and asked["redirect_uri"] == page and asked["state"]
        (exchanged,) = provider.called("/oauth2/token")
        assert exchanged["grant_type"] == "authorization_code" and exchanged["code_verifier"]
        assert browser.evaluate("location.href") == f"{page}?poll=300"  # code and state gone, place kept
        browser.screenshot(ARTIFACTS / "browser-signed-in.png")
        # a deployed page follows jobs on the stack's WebSocket API, named by auth-config.json
        live_url = browser.evaluate("import('./live.js').then((m) => String(m.liveUrl()))")
        assert live_url == (DEPLOYED_WS_URL if "wsUrl" in deployed_page.config else "null")

        user = stored_user(browser)
        assert user["access_token"] and user["refresh_token"] and user["id_token"]
        assert "prosync.token" not in browser.evaluate("Object.keys(localStorage)")
        assert user["access_token"] not in json.dumps(browser.evaluate("Object.entries(localStorage)"))
        assert claims_seen and {c["token_use"] for c in claims_seen} == {"access"}  # not the ID token
        assert {c["sub"] for c in claims_seen} == {provider.user.sub}

        # refreshed with the refresh token before it expires (rotated), and the new token is the one used
        renewed = wait_until(lambda: (u := stored_user(browser)) and u["access_token"] != user["access_token"]
                             and u, timeout=30)
        refreshes = [c for c in provider.called("/oauth2/token") if c["grant_type"] == "refresh_token"]
        assert refreshes[0]["refresh_token"] == user["refresh_token"] and renewed["refresh_token"]
        claims_seen.clear()
        browser.evaluate("document.querySelector('#history-refresh').click()")
        wait_until(lambda: claims_seen)
        first = jwt.decode(user["access_token"], options={"verify_signature": False})
        assert claims_seen[-1]["jti"] != first["jti"] and claims_seen[-1]["token_use"] == "access"
        assert "Tier pro" in browser.evaluate("document.querySelector('#limits').textContent")

        browser.goto(f"{page}?poll=300")  # a reload keeps the sign-in (same tab: sessionStorage)
        browser.wait_for("document.querySelector('#limits')?.textContent.includes('Tier pro')", timeout=20)
        assert len(provider.called("/oauth2/authorize")) == 1

        # sign-out: the refresh token revoked, the provider's session ended, back here signed out
        current = stored_user(browser)
        browser.evaluate("document.querySelector('#signin-button').click()")
        browser.wait_for("document.querySelector('#signin-button')?.textContent === 'Sign in'", timeout=20)
        assert stored_user(browser) is None
        assert browser.evaluate("document.querySelector('#limits').textContent").startswith("Limits appear")
        assert provider.called("/oauth2/revoke")[-1]["token"] == current["refresh_token"]
        assert provider.refresh_tokens[current["refresh_token"]].revoked
        (ended,) = provider.called("/logout")
        assert ended["client_id"] == CLIENT_ID and ended["logout_uri"] == page
        assert ended["post_logout_redirect_uri"] == page and ended["id_token_hint"] == current["id_token"]
        assert browser.evaluate("location.href") == page

        assert browser.csp_violations() == []
        errors = [e for e in browser.console_errors() if "/dev/token" not in e]  # the local stack's route
        assert errors == []
    finally:
        browser.screenshot(ARTIFACTS / "browser-signin.png")


@pytest.mark.parametrize("deployed_page", ["minimal"], indirect=True)
def test_a_token_the_api_refuses_is_said_where_the_token_field_was(browser, deployed_page):  # noqa: F811
    deployed_page.gateway.authorizer.audiences = {"another-client"}  # an API expecting another client
    browser.goto(deployed_page.page)
    try:
        browser.wait_for("document.querySelector('#signin-button')?.textContent === 'Sign in'", timeout=20)
        browser.evaluate("document.querySelector('#signin-button').click()")
        said = "document.querySelector('[data-loc=token] .error')?.textContent.includes('not accepted')"
        browser.wait_for(said, timeout=20)
        assert "Signed in as" in browser.evaluate("document.querySelector('#signin-user').textContent")
        assert deployed_page.claims_seen == []  # the authorizer answered 401, the Lambda never ran
    finally:
        browser.screenshot(ARTIFACTS / "browser-signin-refused.png")
