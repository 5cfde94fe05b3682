"""What the local OpenID provider (devstack/oidc_provider.py) keeps: its one public client, its test
user, the authorization codes and the refresh tokens, as the models Authlib's grants expect."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin

SCOPES = ["openid", "email", "profile"]


@dataclass(frozen=True)
class ProviderUser:
    sub: str = "oidc-user-1"
    email: str = "editor@example.com"
    name: str = "Test Editor"

    def get_user_id(self) -> str:
        return self.sub


@dataclass
class Client(ClientMixin):
    client_id: str
    redirect_uris: list[str]
    logout_uris: list[str]

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_endpoint_auth_method(self, method, endpoint):
        return method == "none"  # a public client: the page and the CLI keep no secret

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: ProviderUser
    code_challenge: str
    code_challenge_method: str
    nonce: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


@dataclass
class RefreshToken(TokenMixin):
    token: str
    client_id: str
    scope: str
    user: ProviderUser
    revoked: bool = False

    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return 30 * 24 * 3600

    def is_expired(self):
        return False

    def is_revoked(self):
        return self.revoked

    def get_user(self):
        return self.user

    def get_client(self):
        return None
