"""The CLI sign-in's pieces that need no provider: where the configuration is read, what discovery must
say, and the credentials file (0600 in a 0700 folder, one entry per API, forgotten on logout)."""

from __future__ import annotations

import json
import stat

import httpx
import pytest

from devstack import signin


def client(routes: dict[str, tuple[int, dict]]) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        status, body = routes.get(str(request.url), (404, {}))
        return httpx.Response(status, json=body)

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_the_configuration_is_read_beside_the_page_at_the_apis_origin():
    config = {"authority": "https://idp.example", "clientId": "web"}
    with client({"https://site.example/auth-config.json": (200, config)}) as http:
        assert signin.auth_config(http, "https://site.example/api/v1") == config
    with client({}) as http, pytest.raises(signin.SignInError, match="give --authority and --client-id"):
        signin.auth_config(http, "https://local.example:8080/api/v1")
    with client({"https://site.example/auth-config.json": (200, {"authority": "x"})}) as http, \
            pytest.raises(signin.SignInError, match="clientId"):
        signin.auth_config(http, "https://site.example/api/v1")


def test_discovery_must_be_the_authoritys_own():
    url = "https://idp.example/pool/.well-known/openid-configuration"
    with client({url: (200, {"issuer": "https://idp.example/pool", "token_endpoint": "t"})}) as http:
        assert signin.discover(http, "https://idp.example/pool/")["token_endpoint"] == "t"
    with client({url: (200, {"issuer": "https://evil.example"})}) as http, \
            pytest.raises(signin.SignInError, match="issuer"):
        signin.discover(http, "https://idp.example/pool")


def test_credentials_file_is_private_and_keyed_by_api(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    store = signin.CredentialStore()
    assert store.path == tmp_path / "cfg" / "prosync" / "credentials.json"
    store.put("https://a.example", {"refreshToken": "r1"})
    store.put("https://b.example/api/v1/", {"refreshToken": "r2"})
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert set(json.loads(store.path.read_text())) == {"https://a.example/api/v1", "https://b.example/api/v1"}
    assert store.get("https://a.example/api/v1")["refreshToken"] == "r1"
    assert signin.access_token("https://nowhere.example", store) is None  # never signed in
    assert signin.logout("https://a.example/api/v1", store) is True  # no revocation endpoint: just forgotten
    assert store.get("https://a.example") is None and store.get("https://b.example")["refreshToken"] == "r2"
    assert signin.logout("https://a.example", store) is False
