"""The local HTTP gateway: API Gateway HTTP API in front of the api Lambda, the JWT check, and web/."""

from devstack.gateway.auth import DEV_AUDIENCE, DEV_ISSUER, DevKeys, JwtAuthorizer
from devstack.gateway.cors import CorsConfig
from devstack.gateway.server import Gateway
from devstack.gateway.websecurity import WebSecurity

__all__ = ["DEV_AUDIENCE", "DEV_ISSUER", "CorsConfig", "DevKeys", "Gateway", "JwtAuthorizer", "WebSecurity"]
