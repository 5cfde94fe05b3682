"""Sign-in: Cognito managed login for the page and the CLI, and the page's `auth-config.json`.

With the in-stack user pool (infra/api.py creates it and the `WebClient` its JWT authorizer accepts):
- a user pool domain `https://<prefix>.auth.<region>.amazoncognito.com` with managed login (v2) and
  Cognito's default branding for the client;
- the same `WebClient` (so the authorizer's audience stays one client) becomes an OAuth client:
  authorization code flow only (no implicit flow), public (no secret: the page and the CLI cannot
  keep one; Cognito requires PKCE's `code_challenge` from them), scopes openid/email/profile.
  Callback and logout URLs are the page's address on the distribution, and for `prosync login` the
  loopback URLs `http://localhost:<port>/callback` of `cli_callback_ports` (Cognito compares callback
  URLs exactly and allows plain http only for localhost, so the CLI must use one of those ports);
- refresh tokens live `refresh_token_days` (revocable: token revocation stays on).

With an external issuer (`jwt_issuer`), only `auth-config.json` is written: the authority and the
client id from context (`oidc_client_id`, else the first `jwt_audience`); the page discovers the
endpoints from the issuer.

A user's `users` row is created by the API on their first call (`ensure_user`, free tier), so no
post-confirmation trigger is needed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra.api import Api
from infra.config import StackConfig

SCOPES = ["openid", "email", "profile"]


def cli_callback_urls(config: StackConfig) -> list[str]:
    return [f"http://localhost:{port}/callback" for port in config.cli_callback_ports]


def domain_prefix(config: StackConfig, stack: Stack) -> str:
    """Cognito domain prefixes are unique per region across all accounts: the account id makes the
    default one ours (`prosync-<stage>-<account>`); context `auth_domain_prefix` overrides it."""
    return config.auth_domain_prefix or f"{config.prefix}-{stack.account}"


def sign_in_origin(config: StackConfig, stack: Stack) -> str | None:
    """The origin the page posts the code to (token endpoint), for its CSP's connect-src."""
    if config.jwt_issuer:
        parts = urlsplit(config.jwt_issuer)
        return f"{parts.scheme}://{parts.netloc}"
    return f"https://{domain_prefix(config, stack)}.auth.{stack.region}.amazoncognito.com"


class Auth(Construct):
    def __init__(self, scope: Construct, id: str, *, config: StackConfig, api: Api, site_url: str) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.callback_urls = [site_url, *cli_callback_urls(config)]
        self.logout_urls = [site_url]
        self.domain: cognito.UserPoolDomain | None = None
        if api.user_pool is None or api.user_pool_client is None:
            self.authority = config.jwt_issuer
            self.client_id = config.oidc_client_id or config.jwt_audience[0]
            self.page_config = self._page_config(site_url, endpoints={})
            return

        pool, client = api.user_pool, api.user_pool_client
        self.domain = cognito.UserPoolDomain(
            self,
            "Domain",
            user_pool=pool,
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix(config, stack)),
            managed_login_version=cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
        )
        # Managed login shows a client's pages only once a branding style exists for it.
        self.branding = cognito.CfnManagedLoginBranding(
            self,
            "Branding",
            user_pool_id=pool.user_pool_id,
            client_id=client.user_pool_client_id,
            use_cognito_provided_values=True,
        )
        self.branding.node.add_dependency(self.domain)

        cfn_client: cognito.CfnUserPoolClient = client.node.default_child
        cfn_client.allowed_o_auth_flows_user_pool_client = True
        cfn_client.allowed_o_auth_flows = ["code"]
        cfn_client.allowed_o_auth_scopes = list(SCOPES)
        cfn_client.supported_identity_providers = ["COGNITO"]
        cfn_client.callback_ur_ls = list(self.callback_urls)
        cfn_client.logout_ur_ls = list(self.logout_urls)
        cfn_client.enable_token_revocation = True
        cfn_client.refresh_token_validity = int(Duration.days(config.refresh_token_days).to_minutes())
        cfn_client.add_property_override("TokenValidityUnits.RefreshToken", "minutes")

        self.authority = f"https://cognito-idp.{stack.region}.{stack.url_suffix}/{pool.user_pool_id}"
        self.client_id = client.user_pool_client_id
        base = self.domain.base_url()
        self.page_config = self._page_config(
            site_url,
            endpoints={
                "authorizationEndpoint": f"{base}/oauth2/authorize",
                "tokenEndpoint": f"{base}/oauth2/token",
                "revocationEndpoint": f"{base}/oauth2/revoke",
                "endSessionEndpoint": f"{base}/logout",
            },
        )
        CfnOutput(self, "SignInDomain", value=base, description="Cognito managed login")
        CfnOutput(self, "OidcAuthority", value=self.authority, description="OIDC issuer of the page's tokens")
        CfnOutput(self, "OidcClientId", value=self.client_id, description="public client (code + PKCE)")

    def _page_config(self, site_url: str, *, endpoints: dict) -> dict:
        """What the page reads from /auth-config.json (and `prosync login` from the stack outputs)."""
        return {
            "authority": self.authority,
            "clientId": self.client_id,
            **endpoints,
            "redirectUri": site_url,
            "postLogoutRedirectUri": site_url,
            "scopes": list(SCOPES),
            "responseType": "code",
            "pkce": "S256",
            "cliRedirectUris": self.callback_urls[1:],
        }
