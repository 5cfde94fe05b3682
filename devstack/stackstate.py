"""The running local stack's state file (`$PROSYNC_HOME/devstack.json`, default ~/.prosync): what
`prosync up` publishes there, how `prosync token` and `prosync submit` find it, and the clean-up
after a stack that was killed before it could remove its own."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from devstack.gateway import DevKeys

STATE_FILE = "devstack.json"
DEV_USERS = {"free": "dev-free", "pro": "dev-pro", "enterprise": "dev-enterprise"}
TIERS = tuple(DEV_USERS)


def default_state_dir() -> Path:
    return Path(os.environ.get("PROSYNC_HOME") or Path.home() / ".prosync")


@dataclass
class StackInfo:
    """What a running stack publishes in its state file."""

    pid: int
    url: str
    api_url: str
    database_url: str
    key_path: str
    issuer: str
    audience: str
    aws_endpoint_url: str
    sync_api_base_url: str
    bucket: str
    state_machine_arn: str
    started_at: float
    cluster_dir: str = ""  # the throw-away Postgres cluster's folder ("" with $DATABASE_URL)
    ws_url: str = ""  # the live events' WebSocket API (devstack/gateway/websocket.py)

    @classmethod
    def read(cls, state_dir: Path | None = None) -> StackInfo | None:
        """The running stack's info, or None when none runs (no file, or its process is gone)."""
        path = (state_dir or default_state_dir()) / STATE_FILE
        try:
            info = cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        return info if _alive(info.pid) else None

    @classmethod
    def for_command(cls, state_dir: Path | None = None) -> StackInfo | None:
        """`read`, telling the user on stderr how to start a stack when none runs."""
        info = cls.read(state_dir)
        if info is None:
            print("no local stack is running: start one with `prosync up` (or `make up`)", file=sys.stderr)
        return info

    def issue_token(self, tier: str, user: str | None = None) -> str:
        """Make (or move) the user to `tier` in the stack's database and sign a token for it."""
        return dev_token(
            DevKeys.load(self.key_path), self.database_url, self.issuer, self.audience, tier, user
        )


def reap_stale(state_dir: Path) -> str | None:
    """After a stack died without cleaning up (kill -9): stop its Postgres, remove its cluster and
    state file. Returns what was cleaned, or None."""
    path = state_dir / STATE_FILE
    try:
        stale = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if _alive(stale.get("pid", 0)):
        return None
    cluster = Path(stale.get("cluster_dir") or "/nonexistent")
    try:
        postmaster = int((cluster / "data" / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGQUIT)  # Postgres' immediate shutdown
        time.sleep(0.5)
    except (OSError, ValueError, IndexError):
        pass
    shutil.rmtree(cluster, ignore_errors=True)
    path.unlink(missing_ok=True)
    return f"cleaned up after a stack that died (pid {stale.get('pid')})"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process whose parent has not reaped it yet is dead all the same
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def dev_token(
    keys: DevKeys, database_url: str, issuer: str, audience: str, tier: str, user: str | None
) -> str:
    """Create the user (or move it to `tier`) in the stack's database; a token signed for it."""
    from prosync.db.connection import connect
    from prosync.db.repository import JobRepository
    from prosync.settings import DatabaseSettings, Tier

    if tier not in TIERS:
        raise ValueError(f"tier must be one of {', '.join(TIERS)}")
    user = user or DEV_USERS[tier]
    email = f"{user}@prosync.local"
    with connect(DatabaseSettings(database_url=database_url)) as conn:
        JobRepository(conn).set_tier(user, Tier(tier), email=email)
    return keys.issue(user, email=email, issuer=issuer, audience=audience)
