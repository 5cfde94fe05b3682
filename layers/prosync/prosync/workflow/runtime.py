"""Per-container state of the workflow Lambdas: settings and clients, made once at first use.

`reset()` forgets all of it, as a cold start would: the local harness calls it when it starts, so a
test's environment (DATABASE_URL, PROSYNC_WAIT_SCALE, the emulator's URL) is what the handlers see.
"""

from __future__ import annotations

import json
import sys
import threading
from functools import cache
from typing import TYPE_CHECKING, TypeVar

from prosync import aws
from prosync.settings import SyncSettings

if TYPE_CHECKING:  # imported where used: jobstore never loads httpx, submit/poll/download never psycopg
    from prosync.syncso import SyncClient

S = TypeVar("S")

_lock = threading.Lock()
_sync_clients: dict[tuple[str, float], SyncClient] = {}
_api_keys: dict[str, str] = {}


@cache
def settings(cls: type[S]) -> S:
    """The function's settings model, read from the environment once per container."""
    return cls()


def sync_api_key(config: SyncSettings) -> str:
    """`SYNC_API_KEY` locally; on AWS the secret `SYNC_API_KEY_SECRET_ARN` (fetched once per container).

    The secret is the key itself, or JSON with an `apiKey` field.
    """
    if config.sync_api_key:
        return config.sync_api_key
    arn = config.sync_api_key_secret_arn
    if not arn:
        raise RuntimeError("set SYNC_API_KEY (local) or SYNC_API_KEY_SECRET_ARN (AWS)")
    with _lock:
        if arn not in _api_keys:
            value = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"].strip()
            if value.startswith("{"):
                value = json.loads(value)["apiKey"]
            _api_keys[arn] = value
        return _api_keys[arn]


def sync_client(config: SyncSettings) -> SyncClient:
    """One Sync.so client (and its connection pool) per container."""
    key = (config.sync_api_base_url, config.sync_timeout_seconds)
    from prosync.syncso import SyncClient

    api_key = sync_api_key(config)
    with _lock:
        client = _sync_clients.get(key)
        if client is None:
            client = _sync_clients[key] = SyncClient(
                config.sync_api_base_url, api_key, timeout=config.sync_timeout_seconds)
        return client


def reset() -> None:
    """Forget settings, clients, secrets and database connections (a cold start)."""
    settings.cache_clear()
    with _lock:
        for client in _sync_clients.values():
            client.close()
        _sync_clients.clear()
        _api_keys.clear()
    aws.reset_clients()
    if "prosync.db.connection" in sys.modules:  # only a function that connected has connections
        sys.modules["prosync.db.connection"].close_all()
