"""A webhook receiver for the tests: an HTTP server on 127.0.0.1 that records every request (and
every TCP connection, so a test can show a refused endpoint was never even connected to) and answers
by its `mode`: "ok" (204), "fail:N" (500 for the first N requests, then 204), "silent" (never answers
within the sender's timeout)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


class Receiver:
    def __init__(self, mode: str = "ok"):
        self.mode = mode
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.connections = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._lock:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    count = len(receiver.requests)
                mode = receiver.mode
                if mode == "silent":
                    time.sleep(3)
                    return
                failing = mode.startswith("fail:") and count <= int(mode.split(":")[1])
                self.send_response(500 if failing else 204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                with receiver._lock:
                    receiver.connections += 1
                return True

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def verified(self, secret: str) -> list[dict]:
        """Every request's payload, each checked with standardwebhooks (raises on a bad signature)."""
        return [Webhook(secret).verify(body, headers) | {"_id": headers["webhook-id"]}
                for headers, body in list(self.requests)]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
