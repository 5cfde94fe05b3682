"""A local OpenID provider for the sign-in tests (and to try sign-in by hand), built on Authlib's
authorization server (its Flask integration), not a stand-in of our own:

- authorization code flow for public clients (no secret) with PKCE required, S256 only; no implicit
  flow (`response_type=code` is the only one registered);
- RS256 ID tokens (Authlib's OpenID Connect extension: nonce, at_hash) and RS256 access tokens shaped
  like Cognito's (`client_id`, no `aud`, `token_use: access`, `scope`), so the gateway's authorizer is
  checked with the claim API Gateway reads for Cognito; one key, published as a JWKS;
- refresh tokens (rotated: the old one is revoked when used), RFC 7009 revocation;
- discovery at `{issuer}/.well-known/openid-configuration`, an end-session endpoint that takes the
  standard `post_logout_redirect_uri` or Cognito's `logout_uri`;
- a login that approves the one test user at once (no form), and CORS for the page's fetches.

Redirect URIs must match a registered one exactly (as Cognito's callback URLs do). `calls` records
what was asked (endpoint, parameters), so a test can check the flow took place as it should.

    with OidcProvider(redirect_uris=["http://127.0.0.1:8080/"]) as provider:
        provider.issuer  # http://127.0.0.1:PORT
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from urllib.parse import urlencode

import jwt
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, redirect, request
from joserfc.jwk import RSAKey
from werkzeug.serving import WSGIRequestHandler, make_server

from devstack.gateway.auth import DevKeys
from devstack.oidc_records import SCOPES, AuthorizationCode, Client, ProviderUser, RefreshToken


class S256Challenge(CodeChallenge):
    """PKCE required, and only with S256 (a missing method would mean `plain`)."""

    def validate_code_challenge(self, grant, redirect_uri):
        super().validate_code_challenge(grant, redirect_uri)
        if grant.request.payload.data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")


class OidcProvider:
    def __init__(
        self,
        *,
        client_id: str = "prosync-web",
        redirect_uris: list[str] | tuple[str, ...] = (),
        logout_uris: list[str] | tuple[str, ...] = (),
        user: ProviderUser | None = None,
        access_token_ttl: int = 3600,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.client = Client(client_id, list(redirect_uris), list(logout_uris))
        self.user = user or ProviderUser()
        self.access_token_ttl = access_token_ttl
        self.keys = DevKeys.generate()  # the gateway's RSA key pair and JWKS, kid by thumbprint
        self.signing_key = RSAKey.import_key(self.keys.private_key)  # the same key for Authlib (joserfc)
        self.codes: dict[str, AuthorizationCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.calls: list[tuple[str, dict[str, str]]] = []
        self._server = make_server(host, port, self._app(), threaded=True, request_handler=_Quiet)
        self.issuer = f"http://{host}:{self._server.server_port}"

    # what tests use ------------------------------------------------------------------------------
    def start(self) -> OidcProvider:
        threading.Thread(target=self._server.serve_forever, name="oidc-provider", daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def jwks(self) -> dict:
        return self.keys.jwks()

    def called(self, endpoint: str) -> list[dict[str, str]]:
        return [params for name, params in self.calls if name == endpoint]

    def discovery(self) -> dict:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "token_endpoint": f"{base}/oauth2/token",
            "revocation_endpoint": f"{base}/oauth2/revoke",
            "end_session_endpoint": f"{base}/logout",
            "jwks_uri": f"{base}/.well-known/jwks.json",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": SCOPES,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["none"],
        }

    # tokens ----------------------------------------------------------------------------------------
    def access_token(self, client, grant_type, user, scope) -> str:
        now = int(time.time())
        claims = {"sub": user.get_user_id(), "iss": self.issuer, "client_id": client.get_client_id(),
                  "token_use": "access", "scope": scope, "auth_time": now, "iat": now,
                  "exp": now + self.access_token_ttl, "jti": uuid.uuid4().hex, "username": user.sub}
        return jwt.encode(claims, self.keys.private_key, algorithm="RS256", headers={"kid": self.keys.kid})

    def _save_token(self, token: dict, req) -> None:
        if "refresh_token" in token:
            self.refresh_tokens[token["refresh_token"]] = RefreshToken(
                token["refresh_token"], req.client.get_client_id(), token.get("scope", ""), req.user)

    def _app(self) -> Flask:
        app = Flask("prosync-oidc-provider")
        server = AuthorizationServer(app, query_client=lambda cid: self.client if cid == self.client.client_id
                                     else None, save_token=self._save_token)
        server.register_token_generator("default", BearerTokenGenerator(
            self.access_token, lambda **_: secrets.token_urlsafe(32), lambda *_: self.access_token_ttl))
        server.register_grant(_code_grant(self), [S256Challenge(required=True), _openid(self)])
        server.register_grant(_refresh_grant(self))
        server.register_endpoint(_revocation(self))

        @app.before_request
        def record():
            if request.method != "OPTIONS":
                self.calls.append((request.path, {**request.args.to_dict(), **request.form.to_dict()}))

        @app.after_request
        def cors(response):  # the page's fetches (discovery, JWKS, token, revoke) come from its origin
            response.headers["access-control-allow-origin"] = "*"
            response.headers["access-control-allow-headers"] = "content-type, authorization, dpop"
            return response

        app.add_url_rule("/.well-known/openid-configuration", "discovery", lambda: jsonify(self.discovery()))
        app.add_url_rule("/.well-known/jwks.json", "jwks", lambda: jsonify(self.jwks()))

        def authorize():  # approves the test user at once: no login form
            try:
                grant = server.get_consent_grant(end_user=self.user)
            except OAuth2Error as error:
                return server.handle_error_response(None, error)
            return server.create_authorization_response(grant_user=self.user, grant=grant)

        app.add_url_rule("/oauth2/authorize", "authorize", authorize)
        app.add_url_rule("/oauth2/token", "token", server.create_token_response, methods=["POST"])
        app.add_url_rule("/oauth2/revoke", "revoke", lambda: server.create_endpoint_response("revocation"),
                         methods=["POST"])
        app.add_url_rule("/logout", "logout", self._logout)
        return app

    def _logout(self):
        target = request.args.get("post_logout_redirect_uri") or request.args.get("logout_uri")
        if not target or target not in self.client.logout_uris:
            return jsonify(error="invalid_request", error_description="unregistered logout URI"), 400
        if state := request.args.get("state"):
            target += ("&" if "?" in target else "?") + urlencode({"state": state})
        return redirect(target)


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def _code_grant(provider: OidcProvider):
    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

        def save_authorization_code(self, code, req):
            data = req.payload.data
            provider.codes[code] = AuthorizationCode(
                code, req.client.get_client_id(), req.payload.redirect_uri, req.scope, req.user,
                data.get("code_challenge"), data.get("code_challenge_method"), data.get("nonce"))

        def query_authorization_code(self, code, client):
            found = provider.codes.get(code)
            return found if found and found.client_id == client.get_client_id() else None

        def delete_authorization_code(self, authorization_code):
            provider.codes.pop(authorization_code.code, None)  # a code is used once

        def authenticate_user(self, authorization_code):
            return authorization_code.user

    return CodeGrant


def _openid(provider: OidcProvider) -> OpenIDCode:
    class IdToken(OpenIDCode):
        def exists_nonce(self, nonce, req):
            return any(c.nonce == nonce for c in provider.codes.values())

        def resolve_client_private_key(self, client):
            return provider.signing_key

        def get_client_claims(self, client):
            return {"iss": provider.issuer, "aud": [client.get_client_id()]}

        def get_encode_header(self, client):
            return {"alg": "RS256", "kid": provider.keys.kid}

        def generate_user_info(self, user, scope):
            info = UserInfo(sub=user.sub)
            if "email" in scope.split():
                info.update(email=user.email, email_verified=True)
            if "profile" in scope.split():
                info["name"] = user.name
            return info

    return IdToken(require_nonce=False)


def _refresh_grant(provider: OidcProvider):
    class Refresh(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
        INCLUDE_NEW_REFRESH_TOKEN = True  # rotated: a used refresh token is revoked

        def authenticate_refresh_token(self, refresh_token):
            found = provider.refresh_tokens.get(refresh_token)
            return found if found and not found.revoked else None

        def authenticate_user(self, refresh_token):
            return refresh_token.user

        def revoke_old_credential(self, refresh_token):
            refresh_token.revoked = True

    return Refresh


def _revocation(provider: OidcProvider):
    class Revocation(RevocationEndpoint):
        CLIENT_AUTH_METHODS = ["none"]

        def query_token(self, token_string, token_type_hint):
            return provider.refresh_tokens.get(token_string)  # access tokens are JWTs: they just expire

        def revoke_token(self, token, req):
            token.revoked = True

    return Revocation


if __name__ == "__main__":  # by hand: python -m devstack.oidc_provider PAGE_URL... (its sign-in redirects)
    import sys

    uris = sys.argv[1:] or ["http://127.0.0.1:8080/"]
    with OidcProvider(redirect_uris=uris, logout_uris=uris, port=8799) as p:
        print(f"issuer {p.issuer}, client_id {p.client.client_id}, redirect URIs {uris}", flush=True)
        threading.Event().wait()
