"""A client of the live events' WebSocket API (the CLI's `submit --wait`, `demo`, tests and bench).

`follow_job` subscribes to one job and calls `on_event` for every event in id order until the job
is terminal; when the socket drops it reconnects and resumes after the last id it saw, so nothing
is missed and nothing is seen twice. It raises `LiveUnavailable` when no socket can be opened at
all (no WebSocket URL, refused, 401): callers then poll the status route instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

TERMINAL = {"completed", "failed", "canceled", "expired"}


class LiveUnavailable(Exception):
    pass


def open_socket(ws_url: str, token: str, timeout: float = 5.0) -> ClientConnection:
    if not ws_url:
        raise LiveUnavailable("no WebSocket URL")
    try:
        # the token in the query string, as API Gateway's $connect authorizer reads it (a browser
        # cannot set headers on a WebSocket either)
        url = f"{ws_url}{'&' if '?' in ws_url else '?'}{urlencode({'token': token})}"
        return connect(url, open_timeout=timeout, compression=None)
    except (OSError, InvalidStatus, WebSocketException, TimeoutError) as exc:
        raise LiveUnavailable(f"{type(exc).__name__}: {exc}") from exc


def subscribe(socket: ClientConnection, job_id: str | None = None, after: int | None = None,
              timeout: float = 5.0) -> dict[str, Any]:
    request: dict[str, Any] = {"action": "subscribe"}
    if job_id is not None:
        request["jobId"] = job_id
    if after is not None:
        request["after"] = after
    socket.send(json.dumps(request))
    early: list[dict[str, Any]] = []  # on AWS the ack is a route response: a push may overtake it
    while True:
        answer = json.loads(socket.recv(timeout=timeout))
        if "id" in answer:
            early.append(answer)
            continue
        if answer.get("type") != "subscribed":
            raise LiveUnavailable(f"subscribe refused: {answer}")
        return {**answer, "early": early}


def follow_job(ws_url: str, token: str, job_id: str, on_event: Callable[[dict[str, Any]], None], *,
               after: int | None = None, deadline: float = 600.0, reconnects: int = 20) -> int:
    """Follow one job to its end; returns the last event id seen."""
    last = after
    ends = time.monotonic() + deadline
    opened_once = False
    while time.monotonic() < ends:
        try:
            socket = open_socket(ws_url, token)
        except LiveUnavailable:
            if not opened_once or reconnects <= 0:
                raise
            reconnects -= 1
            time.sleep(0.5)
            continue
        opened_once = True
        try:
            with socket:
                pending = subscribe(socket, job_id, last)["early"]
                while time.monotonic() < ends:
                    try:
                        event = pending.pop(0) if pending else json.loads(socket.recv(timeout=1.0))
                    except TimeoutError:
                        continue
                    if "id" not in event or (last is not None and event["id"] <= last):
                        continue
                    last = event["id"]
                    on_event(event)
                    if event["status"] in TERMINAL:
                        return last
        except WebSocketException:
            reconnects -= 1
            if reconnects < 0:
                raise LiveUnavailable("the socket kept dropping") from None
    raise TimeoutError(f"job {job_id} did not end within {deadline} s")
