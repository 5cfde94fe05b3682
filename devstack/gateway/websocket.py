"""The local WebSocket API: what API Gateway's WebSocket API does for live progress, on its own port.

Decision: a second server (the `websockets` library's sync server, in a thread) rather than upgrade
handling inside the http.server gateway: http.server has no WebSocket support, and a hand-made
upgrade path would be the kind of protocol code a well-kept library gets right (framing, ping/pong,
close handshake). The port is printed by `prosync up` and written to devstack.json (`ws_url`), and
index.html's `prosync-ws-url` tag carries it to the page.

- `$connect`: the token comes as `?token=<jwt>` (browsers cannot set headers on a WebSocket) or an
  `Authorization: Bearer` header (the CLI); it is checked by the same `JwtAuthorizer` as the HTTP API
  (issuer, audience, signature, expiry). No valid token: 401 before the upgrade, as the authorizer.
- messages from the client: `{"action": "subscribe", "jobId": "<id>" | absent (all the user's jobs),
  "after": <last event id seen> | absent}`. Absent `after`: a job's whole history, or (all jobs)
  only what happens from now. Answer `{"type": "subscribed", ...}`, then the events (`prosync.events.
  feed`), each with its id, pushed by the notifier. Another user's job: `{"type": "error", "code":
  "not_found"}` (no existence leak). `{"action": "ping"}` -> `{"type": "pong"}`.
"""

from __future__ import annotations

import json
import threading
import uuid
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from devstack.gateway.auth import JwtAuthorizer
from prosync.events import feed
from prosync.events.head import latest_id
from prosync.events.notifier import Subscription, Subscriptions, encode


class WebSocketGateway:
    def __init__(self, authorizer: JwtAuthorizer, subscriptions: Subscriptions, connect_db):
        self.authorizer = authorizer
        self.subscriptions = subscriptions
        self.connect_db = connect_db  # () -> a psycopg connection of the calling thread
        self._connections: dict[str, ServerConnection] = {}
        self._lock = threading.Lock()
        self._server = None

    # $connect: the token ----------------------------------------------------------------------
    def _claims(self, connection: ServerConnection, request) -> dict | None:
        token = parse_qs(urlsplit(request.path).query).get("token", [None])[0]
        authorization = request.headers.get("Authorization") or (f"Bearer {token}" if token else None)
        return self.authorizer.claims(authorization)

    def _process_request(self, connection: ServerConnection, request):
        claims = self._claims(connection, request)
        if claims is None or not claims.get("sub"):
            return connection.respond(HTTPStatus.UNAUTHORIZED, '{"message":"Unauthorized"}\n')
        connection.user_id = claims["sub"]  # type: ignore[attr-defined]
        return None

    # a connection ----------------------------------------------------------------------------
    def _serve(self, connection: ServerConnection) -> None:
        connection_id = uuid.uuid4().hex
        user_id: str = connection.user_id  # type: ignore[attr-defined]
        with self._lock:
            self._connections[connection_id] = connection
        try:
            for raw in connection:
                self._on_message(connection, connection_id, user_id, raw)
        except ConnectionClosed:
            pass
        finally:
            self.subscriptions.drop_connection(connection_id)
            with self._lock:
                self._connections.pop(connection_id, None)

    def _on_message(self, connection: ServerConnection, connection_id: str, user_id: str, raw) -> None:
        try:
            message = json.loads(raw)
            action = message.get("action")
        except (ValueError, AttributeError):
            connection.send(encode({"type": "error", "code": "invalid_message", "message": "send JSON"}))
            return
        if action == "ping":
            connection.send(encode({"type": "pong"}))
            return
        if action != "subscribe":
            connection.send(encode({"type": "error", "code": "unknown_action", "message": str(action)[:64]}))
            return
        job_id, after = message.get("jobId"), message.get("after")
        if after is not None and (not isinstance(after, int) or isinstance(after, bool) or after < 0):
            connection.send(encode({"type": "error", "code": "invalid_after", "message": "after: an event id"}))
            return
        conn = self.connect_db()
        if job_id is not None:
            try:
                job_id = str(uuid.UUID(str(job_id)))
            except ValueError:
                job_id = None
            if job_id is None or not feed.owns_job(conn, user_id, job_id):
                connection.send(encode({"type": "error", "code": "not_found", "message": "no such job"}))
                return
            start = after if after is not None else 0
        else:
            start = after if after is not None else latest_id(conn)
        connection.send(encode({"type": "subscribed", "jobId": job_id, "after": start}))
        self.subscriptions.add(Subscription(connection_id, user_id, job_id, start))

    # the notifier's push ------------------------------------------------------------------------
    def push(self, connection_id: str, message: dict) -> bool:
        with self._lock:
            connection = self._connections.get(connection_id)
        if connection is None:
            return False
        try:
            connection.send(encode(message))
        except ConnectionClosed:
            return False
        return True

    # server ----------------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> WebSocketGateway:
        self._server = serve(self._serve, host, port, process_request=self._process_request,
                             compression=None, max_size=64 * 1024)
        threading.Thread(target=self._server.serve_forever, name="websocket", daemon=True).start()
        return self

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
