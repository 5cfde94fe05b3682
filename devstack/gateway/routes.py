"""The HTTP API's routes (`prosync.routes`, the table infra/api.py deploys) as the gateway matches them.

API Gateway matches a request to one route, names it in `routeKey` ("POST /api/v1/sync/pro-job/{job_id}/start"),
fills `pathParameters`, and answers 404 `{"message":"Not Found"}` itself when no route matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prosync.routes import PREFIX, PROTECTED_ROUTES, PUBLIC_ROUTES



@dataclass(frozen=True)
class Route:
    method: str
    template: str  # with the prefix: /api/v1/sync/pro-job/{job_id}/start
    public: bool

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def pattern(self) -> re.Pattern:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        return re.compile(f"^{regex}$")


ROUTES = [Route(m, PREFIX + p, True) for m, p in PUBLIC_ROUTES] + [
    Route(m, PREFIX + p, False) for m, p in PROTECTED_ROUTES
]


def match(method: str, path: str, routes: list[Route] = ROUTES) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        if route.method == method:
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
    return None
