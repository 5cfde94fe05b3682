"""`prosync login` / `prosync submit --api` / `prosync logout` against a local OpenID provider built
with Authlib (devstack/oidc_provider.py), and the API behind the local gateway configured with that
issuer (its JWKS read through discovery, as API Gateway's JWT authorizer does), on one origin that also
serves the page's auth-config.json, as a deployment does. The browser step is httpx following the
authorize redirect ($BROWSER for Python's webbrowser)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path
from types import SimpleNamespace

import httpx
import jwt
import pytest

from devstack import signin
from devstack.client import ApiError, ProSyncClient
from devstack.commands.submit import api_and_token
from devstack.gateway import Gateway, JwtAuthorizer
from devstack.oidc_provider import OidcProvider
from devstack.postgres import free_port
from prosync.settings import Tier
from tests.unit.api.apitest import job_request

REPO = Path(__file__).resolve().parents[3]
BROWSER = f"{sys.executable} {REPO / 'tests' / 'support' / 'httpx_browser.py'} %s"
CLIENT_ID = "prosync-web"


@pytest.fixture
def deployment(api, tmp_path, monkeypatch):
    """The provider, and one origin serving auth-config.json and the API that trusts the provider."""
    from functions.api.handler import lambda_handler

    port = free_port()
    provider = OidcProvider(client_id=CLIENT_ID, redirect_uris=[f"http://localhost:{port}/callback"]).start()
    web = tmp_path / "site"
    web.mkdir()
    config = {"authority": provider.issuer, "clientId": CLIENT_ID, "scopes": ["openid", "email", "profile"],
              "tokenEndpoint": f"{provider.issuer}/oauth2/token", "responseType": "code", "pkce": "S256",
              "cliRedirectUris": [f"http://localhost:{port}/callback"]}  # as infra/auth.py writes it
    (web / "auth-config.json").write_text(json.dumps(config))
    gateway = Gateway(lambda_handler, JwtAuthorizer.from_issuer(provider.issuer, [CLIENT_ID]), web_dir=web)
    gateway.start()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    api.repo.set_tier(provider.user.sub, Tier.PRO, provider.user.email)
    yield SimpleNamespace(provider=provider, url=f"{gateway.url}/api/v1", port=port, api=api,
                          store=signin.CredentialStore())
    gateway.stop()
    provider.stop()


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "devstack.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def browse(url: str) -> None:
    assert httpx.get(url, follow_redirects=True, timeout=30).status_code == 200


def test_login_through_the_browser_then_the_api_accepts_the_access_token(deployment, tmp_path):
    env = {**os.environ, "BROWSER": BROWSER, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = cli("login", "--api", deployment.url, env=env)  # the port of the config's cliRedirectUris
    assert done.returncode == 0, done.stderr
    assert "signed in" in done.stderr

    provider = deployment.provider
    (asked,) = provider.called("/oauth2/authorize")
    assert asked["response_type"] == "code" and asked["code_challenge_method"] == "S256"
    assert asked["redirect_uri"] == f"http://localhost:{deployment.port}/callback" and asked["state"]
    (exchanged,) = provider.called("/oauth2/token")
    assert exchanged["grant_type"] == "authorization_code" and len(exchanged["code_verifier"]) >= 43

    path = deployment.store.path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    entry = deployment.store.get(deployment.url)
    assert entry["authority"] == provider.issuer and entry["refreshToken"]
    claims = jwt.decode(entry["accessToken"], jwt.PyJWK(provider.keys.public_jwk).key,
                        algorithms=["RS256"], issuer=provider.issuer, options={"verify_aud": False})
    assert claims["client_id"] == CLIENT_ID and "aud" not in claims  # Cognito's access-token shape

    with ProSyncClient(deployment.url, entry["accessToken"]) as client:
        assert client.limits()["tier"] == "pro"
        job = client.create_job(job_request(), idempotency_key="signin-1")
    query = "SELECT user_id FROM video_jobs WHERE id = %s"
    row = deployment.api.db.execute(query, (job["jobId"],)).fetchone()
    assert row["user_id"] == provider.user.sub
    with ProSyncClient(deployment.url, "not-a-token") as client, pytest.raises(ApiError) as refused:
        client.limits()
    assert refused.value.status == 401


def test_submit_uses_the_sign_in_and_refreshes_it(deployment):
    entry = signin.login(deployment.url, browse)
    args = Namespace(api=deployment.url, token=None, tier="pro")
    assert api_and_token(args) == (deployment.url, entry["accessToken"])  # still valid: no refresh
    assert deployment.provider.called("/oauth2/token")[-1]["grant_type"] == "authorization_code"

    deployment.store.put(deployment.url, {**entry, "expiresAt": int(time.time()) + 30})  # about to expire
    api, token = api_and_token(args)
    refreshed = deployment.store.get(deployment.url)
    assert deployment.provider.called("/oauth2/token")[-1] == {
        "grant_type": "refresh_token", "refresh_token": entry["refreshToken"], "client_id": CLIENT_ID}
    assert token == refreshed["accessToken"] != entry["accessToken"]
    assert refreshed["refreshToken"] != entry["refreshToken"]  # rotated, and the new one kept
    with ProSyncClient(api, token) as client:
        assert client.limits()["tier"] == "pro"

    deployment.store.put(deployment.url, {**refreshed, "refreshToken": entry["refreshToken"], "expiresAt": 0})
    with pytest.raises(ValueError, match="prosync login --api"):  # the used one was revoked
        api_and_token(args)


def test_logout_revokes_and_forgets(deployment, tmp_path):
    entry = signin.login(deployment.url, browse)
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = cli("logout", "--api", deployment.url, env=env)
    assert done.returncode == 0 and "signed out" in done.stderr
    assert deployment.provider.called("/oauth2/revoke")[-1]["token"] == entry["refreshToken"]
    assert deployment.store.get(deployment.url) is None
    assert deployment.provider.refresh_tokens[entry["refreshToken"]].revoked


def test_an_answer_with_another_state_or_an_error_gets_no_token(deployment):
    def forged(url: str) -> None:  # a page that calls the loopback server with its own code
        httpx.get(f"http://127.0.0.1:{deployment.port}/callback?code=stolen&state=forged")

    with pytest.raises(signin.SignInError, match="wrong state"):  # also: no auth-config.json needed
        signin.login(deployment.url, forged, authority=deployment.provider.issuer, client_id=CLIENT_ID,
                     port=deployment.port)

    def denied(url: str) -> None:
        httpx.get(f"http://127.0.0.1:{deployment.port}/callback?error=access_denied")

    with pytest.raises(signin.SignInError, match="access_denied"):
        signin.login(deployment.url, denied, port=deployment.port)
    assert deployment.provider.called("/oauth2/token") == []
    assert deployment.store.get(deployment.url) is None
