"""CORS as the deployed HTTP API has it (infra/api.py's CorsPreflightOptions): API Gateway answers preflights itself (the Lambda never
sees an OPTIONS request) and puts the configured CORS headers on every answer to an allowed origin."""

from __future__ import annotations

from dataclasses import dataclass, field

from devstack.gateway.events import HttpRequest, HttpResponse

DEV_ORIGINS = ("http://localhost:8080", "http://127.0.0.1:8080")


@dataclass
class CorsConfig:
    allow_origins: list[str] = field(default_factory=lambda: list(DEV_ORIGINS))
    allow_methods: tuple[str, ...] = ("GET", "POST", "OPTIONS")
    allow_headers: tuple[str, ...] = ("authorization", "content-type", "idempotency-key")
    max_age: int = 3600

    def allows(self, origin: str | None) -> bool:
        return bool(origin) and origin in self.allow_origins

    def preflight(self, request: HttpRequest) -> HttpResponse:
        origin = request.header("origin")
        method = (request.header("access-control-request-method") or "").upper()
        if not self.allows(origin) or method not in self.allow_methods:
            return HttpResponse(204)  # no CORS headers: the browser refuses the real request
        asked = [
            h.strip().lower() for h in (request.header("access-control-request-headers") or "").split(",")
        ]
        if any(h and h not in self.allow_headers for h in asked):
            return HttpResponse(204)
        return HttpResponse(
            204,
            [
                ("access-control-allow-origin", origin),
                ("access-control-allow-methods", ",".join(self.allow_methods)),
                ("access-control-allow-headers", ",".join(self.allow_headers)),
                ("access-control-max-age", str(self.max_age)),
                ("vary", "origin"),
            ],
        )

    def decorate(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Replace whatever CORS headers the Lambda set with the API's own (as API Gateway does)."""
        headers = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
        origin = request.header("origin")
        if self.allows(origin):
            headers += [("access-control-allow-origin", origin), ("vary", "origin")]
        response.headers = headers
        return response
