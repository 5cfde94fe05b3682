"""The CLI's sign-in to a deployed ProSync (`prosync login`, then `prosync submit --api URL`).

Like `aws sso login`: a one-shot HTTP server on 127.0.0.1 receives the redirect of an authorization
code flow with PKCE (S256) and a state, opened in the user's browser; the code is exchanged at the
token endpoint. Authlib's OAuth2 client (httpx) makes the authorize URL, the code exchange and the
refreshes. Where to sign in comes from the deployment's `auth-config.json` (served beside the page,
`{origin of the API}/auth-config.json`, the file the page reads) or from --authority/--client-id;
the endpoints from `{authority}/.well-known/openid-configuration`, those the file names overriding
them. The redirect is the first free of the file's `cliRedirectUris` (Cognito needs each registered),
else of http://localhost:8765-8767/callback, or `--port`.

The refresh token (and the current access token) are kept per API in
`$XDG_CONFIG_HOME/prosync/credentials.json` (default ~/.config), mode 0600 in a 0700 folder;
`access_token()` gives a valid access token, refreshing it (and keeping a rotated refresh token) when
it has less than a minute left. The access token is what the API's JWT authorizer checks (Cognito's
has `client_id`, which the authorizer's audience names).
"""

from __future__ import annotations

import json
import os
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError

from devstack.client import api_base

with warnings.catch_warnings():  # Authlib 1.9 would rather have httpx2; httpx is what the project uses
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

AUTH_CONFIG = "auth-config.json"
DEFAULT_SCOPE = "openid email profile"
# The loopback redirects the deployment registers (Cognito compares them exactly and takes plain http
# only for localhost): auth-config.json's `cliRedirectUris`, else these; the first free port is used.
LOOPBACK_REDIRECTS = tuple(f"http://localhost:{port}/callback" for port in (8765, 8766, 8767))
# auth-config.json's names of the endpoints, which override the discovered ones
ENDPOINTS = {"authorizationEndpoint": "authorization_endpoint", "tokenEndpoint": "token_endpoint",
             "revocationEndpoint": "revocation_endpoint"}
REFRESH_MARGIN = 60  # seconds: a token closer than this to its expiry is refreshed first


class SignInError(Exception):
    pass


def auth_config(http: httpx.Client, api_url: str) -> dict:
    """The deployment's auth-config.json: served beside the page, at the origin of the API."""
    parts = urlsplit(api_url)
    url = f"{parts.scheme}://{parts.netloc}/{AUTH_CONFIG}"
    response = http.get(url)
    if response.status_code != 200:
        raise SignInError(f"no sign-in configuration at {url} ({response.status_code}): "
                          "give --authority and --client-id")
    config = response.json()
    if not config.get("authority") or not config.get("clientId"):
        raise SignInError(f"{url} must name an authority and a clientId")
    return config


def discover(http: httpx.Client, authority: str) -> dict:
    """The OpenID provider's metadata, from `{authority}/.well-known/openid-configuration`."""
    response = http.get(f"{authority.rstrip('/')}/.well-known/openid-configuration")
    if response.status_code != 200:
        raise SignInError(f"no OpenID discovery document at {authority} ({response.status_code})")
    metadata = response.json()
    if metadata.get("issuer", "").rstrip("/") != authority.rstrip("/"):
        raise SignInError(f"the discovery document's issuer {metadata.get('issuer')!r} is not {authority}")
    return metadata


class CredentialStore:
    """The signed-in APIs: {api base: {authority, clientId, tokenEndpoint, refreshToken, accessToken,
    expiresAt}}, in one JSON file only its owner can read."""

    def __init__(self, path: Path | None = None):
        config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        self.path = path or config_home / "prosync" / "credentials.json"

    def load(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def get(self, api_url: str) -> dict | None:
        return self.load().get(api_base(api_url))

    def put(self, api_url: str, entry: dict | None) -> None:
        everything = self.load()
        if entry is None:
            everything.pop(api_base(api_url), None)
        else:
            everything[api_base(api_url)] = entry
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            os.fchmod(out.fileno(), 0o600)
            json.dump(everything, out, indent=2)
        os.replace(partial, self.path)


class LoopbackReceiver:
    """A one-shot HTTP server on 127.0.0.1 that takes the first request to the redirect URI's path."""

    def __init__(self, redirect_uri: str):
        target = urlsplit(redirect_uri)
        self.query: dict[str, str] | None = None
        self._received = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                if parts.path != target.path or receiver._received.is_set():
                    self.send_error(404)
                    return
                receiver.query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                done = "error" not in receiver.query
                body = (b"<!doctype html><title>ProSync</title><p>"
                        + (b"Signed in: you can close this tab and go back to the terminal." if done
                           else b"Sign-in failed: see the terminal.") + b"</p>")
                self.send_response(200 if done else 400)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.send_header("cache-control", "no-store")
                self.end_headers()
                self.wfile.write(body)
                receiver._received.set()

            def log_message(self, *args):
                pass

        self._server = HTTPServer(("127.0.0.1", target.port), Handler)  # OSError when in use
        self.redirect_uri = redirect_uri

    @classmethod
    def first_free(cls, redirect_uris: list[str]) -> LoopbackReceiver:
        for uri in redirect_uris:
            try:
                return cls(uri)
            except OSError:
                continue
        raise SignInError(f"every loopback port is in use: {', '.join(redirect_uris)}")

    def __enter__(self) -> LoopbackReceiver:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> dict[str, str]:
        if not self._received.wait(timeout):
            raise SignInError(f"no answer from the browser within {timeout:.0f} s")
        return self.query


def login(api_url: str, open_browser, *, authority: str | None = None, client_id: str | None = None,
          scope: str | None = None, port: int | None = None, timeout: float = 300,
          store: CredentialStore | None = None) -> dict:
    """Sign in through the browser (`open_browser(url)`); keeps and returns the stored entry."""
    store = store or CredentialStore()
    try:
        with httpx.Client(timeout=30) as http:
            config = {} if authority and client_id else auth_config(http, api_url)
            authority = authority or config["authority"]
            client_id = client_id or config["clientId"]
            metadata = discover(http, authority)
    except httpx.HTTPError as exc:
        raise SignInError(f"cannot read where to sign in ({exc.request.url}): {exc}") from exc
    metadata.update({key: config[name] for name, key in ENDPOINTS.items() if config.get(name)})
    scope = scope or config.get("scope") or " ".join(config.get("scopes", [])) or DEFAULT_SCOPE
    redirects = config.get("cliRedirectUris") or LOOPBACK_REDIRECTS
    if port:
        redirects = [f"http://localhost:{port}/callback"]
    with LoopbackReceiver.first_free(list(redirects)) as receiver:
        client = _client(client_id, scope=scope, redirect_uri=receiver.redirect_uri)
        verifier = generate_token(64)
        url, state = client.create_authorization_url(metadata["authorization_endpoint"],
                                                     code_verifier=verifier)
        open_browser(url)
        query = receiver.wait(timeout)
    if "error" in query:
        raise SignInError(f"sign-in refused: {query['error']} {query.get('error_description', '')}".strip())
    if query.get("state") != state:
        raise SignInError("sign-in answer with the wrong state: ignored")
    try:
        with client:
            token = client.fetch_token(metadata["token_endpoint"], code=query.get("code", ""),
                                       code_verifier=verifier, redirect_uri=receiver.redirect_uri)
    except (OAuthError, httpx.HTTPError) as exc:
        raise SignInError(f"the token endpoint refused the code: {exc}") from exc
    entry = {"authority": authority, "clientId": client_id, "tokenEndpoint": metadata["token_endpoint"],
             "revocationEndpoint": metadata.get("revocation_endpoint")}
    entry.update(_tokens(token, previous_refresh=None))
    store.put(api_url, entry)
    return entry


def access_token(api_url: str, store: CredentialStore | None = None) -> str | None:
    """A valid access token for the API (refreshed when needed), or None if never signed in."""
    store = store or CredentialStore()
    entry = store.get(api_url)
    if entry is None:
        return None
    if entry.get("accessToken") and entry.get("expiresAt", 0) - REFRESH_MARGIN > time.time():
        return entry["accessToken"]
    try:
        with _client(entry["clientId"]) as client:
            token = client.refresh_token(entry["tokenEndpoint"], refresh_token=entry["refreshToken"])
    except OAuthError as exc:
        raise SignInError(f"the sign-in expired ({exc.error}): run `prosync login --api {api_url}`") from exc
    except httpx.HTTPError as exc:
        raise SignInError(f"cannot refresh the sign-in at {entry['tokenEndpoint']}: {exc}") from exc
    entry.update(_tokens(token, previous_refresh=entry["refreshToken"]))
    store.put(api_url, entry)
    return entry["accessToken"]


def logout(api_url: str, store: CredentialStore | None = None) -> bool:
    """Forget the API's credentials, revoking the refresh token first when the provider can."""
    store = store or CredentialStore()
    entry = store.get(api_url)
    if entry is None:
        return False
    if entry.get("revocationEndpoint"):
        try:
            with _client(entry["clientId"]) as client:
                client.revoke_token(entry["revocationEndpoint"], entry["refreshToken"],
                                    token_type_hint="refresh_token")
        except (OAuthError, httpx.HTTPError):
            pass  # forgotten here all the same; it expires on its own
    store.put(api_url, None)
    return True


def _client(client_id: str, **kwargs) -> OAuth2Client:
    return OAuth2Client(client_id, token_endpoint_auth_method="none", code_challenge_method="S256",
                        timeout=30, **kwargs)


def _tokens(token: dict, previous_refresh: str | None) -> dict:
    expires_at = token.get("expires_at") or time.time() + int(token.get("expires_in", 3600))
    return {"accessToken": token["access_token"], "expiresAt": int(expires_at),
            "refreshToken": token.get("refresh_token") or previous_refresh}
