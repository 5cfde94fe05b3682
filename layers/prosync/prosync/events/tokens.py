"""The WebSocket API's token check at `$connect` (AWS; the local gateway uses devstack's
JwtAuthorizer): what the HTTP API's JWT authorizer checks, for a token given as `?token=` — an RS256
signature by a key of the issuer's JWKS (found by OpenID discovery, cached per container), `exp`,
the issuer, and `aud` (or an access token's `client_id`) among the audiences."""

from __future__ import annotations

from functools import cache

import httpx
import jwt


@cache
def _jwks_client(issuer: str) -> jwt.PyJWKClient:
    discovery = httpx.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=5)
    return jwt.PyJWKClient(discovery.raise_for_status().json()["jwks_uri"], cache_keys=True, lifespan=3600)


def verified_subject(token: str, issuer: str, audiences: list[str], jwks: jwt.PyJWKClient | None = None) -> str | None:
    """The token's `sub` when it is valid, else None."""
    try:
        key = (jwks or _jwks_client(issuer)).get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=issuer,
                            options={"require": ["exp", "iss", "sub"], "verify_aud": False})
    except (jwt.PyJWTError, httpx.HTTPError, KeyError, ValueError):
        return None
    audience = claims.get("aud", claims.get("client_id"))
    given = set(audience if isinstance(audience, list) else [audience])
    if not given & set(audiences):
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and sub else None
