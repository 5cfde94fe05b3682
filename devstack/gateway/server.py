"""The local HTTP gateway: the API (as API Gateway's HTTP API would run it) and the web page.

- `/api/v1/...`: OPTIONS is a CORS preflight answered here; a request matching no route of
  `routes.py` is a 404 here; health/swagger/openapi.json are public; every other route needs a
  bearer JWT that `JwtAuthorizer` accepts (else 401 `{"message":"Unauthorized"}`). The request
  becomes a payload-2.0 event for the api Lambda handler, called in-process. Calls are serialized:
  one warm Lambda container, like a function with reserved concurrency 1.
- `/.well-known/jwks.json`: the dev JWKS. `/dev/token?tier=pro`: a dev token, local stack only.
- anything else: a file of `web/` (`/` is index.html) with the page's security headers
  (`websecurity.py`: CSP, nosniff, no referrer); index.html's configuration tags are rewritten to
  say what this gateway allows.
- any other method or path: 404 `{"message":"Not Found"}`, as API Gateway answers it (never
  http.server's HTML 501 for a method it has no `do_` for).
"""

from __future__ import annotations

import mimetypes
import threading
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from devstack.gateway.auth import JwtAuthorizer
from devstack.gateway.cors import CorsConfig
from devstack.gateway.events import (
    API_PREFIX,
    HttpRequest,
    HttpResponse,
    LambdaContext,
    from_result,
    to_event,
)
from devstack.gateway.routes import match
from devstack.gateway.websecurity import WebSecurity

UNAUTHORIZED = {"message": "Unauthorized"}
NOT_FOUND = {"message": "Not Found"}


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # http.server's 5 reset a burst of new connections (as a browser tab makes)


class Gateway:
    def __init__(
        self,
        handler: Callable[[dict, object], dict],
        authorizer: JwtAuthorizer,
        *,
        web_dir: str | Path | None = None,
        cors: CorsConfig | None = None,
        web_security: WebSecurity | None = None,
        jwks: dict | None = None,
        dev_tokens: Callable[[str, str | None], dict] | None = None,
        log: Callable[[str], None] | None = None,
    ):
        self.handler = handler
        self.authorizer = authorizer
        self.web_dir = Path(web_dir).resolve() if web_dir else None
        self.cors = cors or CorsConfig()
        self.web_security = web_security or WebSecurity()
        self.jwks = jwks
        self.dev_tokens = dev_tokens
        self.log = log
        # One api "container": Powertools' resolver keeps the current event on its app object, so two
        # requests may not run in one module at once. Lambda would run more containers; here requests
        # queue for this one (the workflow's Lambdas, in moto's threads, do run concurrently).
        self._lambda_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # dispatch ----------------------------------------------------------------------------------
    def handle(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/"):
            if request.method == "OPTIONS":
                return self.cors.preflight(request)
            return self.cors.decorate(request, self._api(request))
        if request.method not in ("GET", "HEAD"):
            return HttpResponse.json(404, NOT_FOUND)
        if path == "/.well-known/jwks.json" and self.jwks:
            return HttpResponse.json(200, self.jwks)
        if path == "/dev/token" and self.dev_tokens:
            return self._dev_token(parse_qs(request.query))
        return self._static(path)

    def _dev_token(self, query: dict[str, list[str]]) -> HttpResponse:
        try:
            return HttpResponse.json(
                200, self.dev_tokens(query.get("tier", ["pro"])[0], query.get("user", [None])[0])
            )
        except ValueError as exc:
            return HttpResponse.json(400, {"message": str(exc)})

    def _api(self, request: HttpRequest) -> HttpResponse:
        found = match(request.method, request.path)
        if found is None:
            return HttpResponse.json(404, NOT_FOUND)
        route, path_parameters = found
        claims = None
        if not route.public:
            claims = self.authorizer.claims(request.header("authorization"))
            if claims is None:
                return HttpResponse.json(401, UNAUTHORIZED, [("www-authenticate", "Bearer")])
        event = to_event(request, claims, route.key, path_parameters)
        try:
            with self._lambda_lock:
                result = self.handler(event, LambdaContext())
        except Exception:  # noqa: BLE001 (an unhandled Lambda error: API Gateway answers 500 with this body)
            traceback.print_exc()
            return HttpResponse.json(500, {"message": "Internal Server Error"})
        return from_result(result)

    def _static(self, path: str) -> HttpResponse:
        if self.web_dir is None:
            return HttpResponse.json(404, NOT_FOUND)
        target = (self.web_dir / (path.lstrip("/") or "index.html")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(self.web_dir) or not target.is_file():
            return HttpResponse.json(404, NOT_FOUND)
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        body = target.read_bytes()
        if target == self.web_dir / "index.html":
            body = self.web_security.render_index(body.decode()).encode()
        headers = [("content-type", content_type), ("cache-control", "no-store"), *self.web_security.headers()]
        return HttpResponse(200, headers, body)

    # server ------------------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> Gateway:
        gateway = self

        class Handler(_RequestHandler):
            pass

        Handler.gateway = gateway
        self._server = _GatewayServer((host, port), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="gateway", daemon=True).start()
        return self

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK stall
    # every answer on a keep-alive connection by ~40 ms.
    disable_nagle_algorithm = True
    gateway: Gateway

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        request = HttpRequest(
            self.command, path, query, list(self.headers.items()), body, self.client_address[0]
        )
        response = self.gateway.handle(request)
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def __getattr__(self, name: str):
        # http.server answers a method without a `do_<METHOD>` (TRACE, PROPFIND...) with an HTML 501;
        # API Gateway routes every method, so every one goes through `Gateway.handle` (404 JSON)
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args) -> None:
        if self.gateway.log:
            self.gateway.log(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}")
