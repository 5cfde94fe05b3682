"""Dev JWTs for the local stack, and a check of them that behaves like the HTTP API's JWT authorizer.

- `DevKeys`: one RSA key pair, kept under the dev state dir (so tokens made by `prosync token` in
  another terminal are accepted by a running `prosync up`), published as a JWKS.
- `JwtAuthorizer`: what API Gateway's JWT authorizer checks — a `kid` found in the JWKS, an RS256
  signature, `exp` (required) and `nbf`/`iat`, the issuer, and `aud` (or `client_id`) among the
  configured audiences. Claims reach the Lambda as strings, arrays as "[a b]", as on AWS. The local
  stack's keys are the dev ones; `JwtAuthorizer.from_issuer` checks an external issuer's tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEV_ISSUER = "https://prosync.local/dev"
DEV_AUDIENCE = "prosync-api"
KEY_FILE = "dev-jwt-key.pem"


class DevKeys:
    def __init__(self, private_key: rsa.RSAPrivateKey):
        self.private_key = private_key
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
        self.kid = _thumbprint(jwk)  # RFC 7638: stable for the same key
        self.public_jwk = {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}

    @classmethod
    def generate(cls) -> DevKeys:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def load_or_create(cls, directory: str | Path) -> DevKeys:
        """The key pair stored in `directory` (made, mode 0600, on first use)."""
        path = Path(directory) / KEY_FILE
        if path.exists():
            return cls.load(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = cls.generate()
        pem = keys.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return keys

    @classmethod
    def load(cls, path: str | Path) -> DevKeys:
        return cls(serialization.load_pem_private_key(Path(path).read_bytes(), password=None))

    def jwks(self) -> dict:
        return {"keys": [self.public_jwk]}

    def issue(
        self,
        sub: str,
        *,
        email: str | None = None,
        issuer: str = DEV_ISSUER,
        audience: str = DEV_AUDIENCE,
        ttl: int = 12 * 3600,
        **claims,
    ) -> str:
        now = int(time.time())
        payload = {"sub": sub, "iss": issuer, "aud": audience, "iat": now, "exp": now + ttl, **claims}
        if email:
            payload["email"] = email
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": self.kid})


class JwtAuthorizer:
    def __init__(self, jwks: dict, issuer: str, audiences: list[str]):
        self.keys = {k["kid"]: jwt.PyJWK(k, "RS256") for k in jwks["keys"]}
        self.issuer = issuer
        self.audiences = set(audiences)

    @classmethod
    def from_issuer(cls, issuer: str, audiences: list[str]) -> JwtAuthorizer:
        """The authorizer of an external issuer (a Cognito user pool, the sign-in tests' provider), its
        keys read as API Gateway reads them: `{issuer}/.well-known/openid-configuration`, then `jwks_uri`."""
        from devstack.signin import discover  # noqa: PLC0415 (Authlib only when an issuer is configured)

        with httpx.Client(timeout=30) as client:
            jwks = client.get(discover(client, issuer)["jwks_uri"]).raise_for_status().json()
        return cls(jwks, issuer, audiences)

    def claims(self, authorization: str | None) -> dict[str, str] | None:
        """The token's claims as the Lambda sees them, or None when API Gateway would answer 401."""
        if not authorization:
            return None
        token = authorization.removeprefix("Bearer ").removeprefix("bearer ").strip()
        try:
            header = jwt.get_unverified_header(token)
            key = self.keys.get(header.get("kid"))
            if key is None or header.get("alg") != "RS256":
                return None
            payload = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.PyJWTError:
            return None
        audience = payload.get("aud", payload.get("client_id"))
        given = set(audience if isinstance(audience, list) else [audience])
        if not given & self.audiences:
            return None
        return {name: _as_claim_string(value) for name, value in payload.items()}


def _as_claim_string(value) -> str:
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _thumbprint(jwk: dict) -> str:
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
