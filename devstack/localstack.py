"""The whole ProSync stack on one machine, in this process: used by `prosync up`, `prosync demo`
and the e2e tests.

  Postgres (a throw-away local cluster, or $DATABASE_URL), migrated, with dev users per tier
  moto server: S3 (media bucket + CORS), Step Functions running statemachine/pro_sync.asl.json with
      the real handlers in-process, Secrets Manager   (devstack.localaws)
  Sync.so: the emulator, or the real API when $SYNC_API_KEY is set
  the HTTP gateway: the api Lambda behind a JWT check, and web/ at /

With a `state_dir`, the running stack writes `devstack.json` there (URLs, database URL, key path)
so that `prosync token` and `prosync submit` in another terminal find it; its JWT key is kept there
too, so tokens outlive a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from devstack.gateway import DEV_AUDIENCE, DEV_ISSUER, CorsConfig, DevKeys, Gateway, JwtAuthorizer
from devstack.gateway.cors import DEV_ORIGINS

REPO = Path(__file__).resolve().parent.parent
WEB_DIR = REPO / "web"
STATE_FILE = "devstack.json"
BUCKET = "prosync-local-media"
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

    @classmethod
    def read(cls, state_dir: Path | None = None) -> "StackInfo | None":
        """The running stack's info, or None when none runs (no file, or its process is gone)."""
        path = (state_dir or default_state_dir()) / STATE_FILE
        try:
            info = cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        return info if _alive(info.pid) else None

    def issue_token(self, tier: str, user: str | None = None) -> str:
        """Make (or move) the user to `tier` in the stack's database and sign a token for it."""
        return _dev_token(DevKeys.load(self.key_path), self.database_url, self.issuer, self.audience, tier, user)


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


def _dev_token(keys: DevKeys, database_url: str, issuer: str, audience: str, tier: str,
               user: str | None) -> str:
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


class LocalStack:
    def __init__(self, port: int = 0, *, state_dir: Path | None = None, web_dir: Path = WEB_DIR,
                 generation_seconds: float = 2.0, wait_scale: float = 0.1, cors_origins: list[str] | None = None,
                 verbose: bool = False):
        from devstack.postgres import free_port

        self.port = port or free_port()  # known before start: CORS origins of the bucket and API need it
        self.state_dir = state_dir
        self.web_dir = web_dir
        self.generation_seconds = generation_seconds
        self.wait_scale = wait_scale
        self.cors_origins = cors_origins
        self.verbose = verbose
        self._stops: list = []
        self._saved_env: dict[str, str | None] = {}
        self.keys = self.gateway = self.aws = self.emulator = None
        self.database_url = self.sync_api_base_url = self.state_machine_arn = self.cluster_dir = ""

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> "LocalStack":
        if str(REPO) not in sys.path:  # functions/ (the Lambda handlers) is not an installed package
            sys.path.insert(0, str(REPO))
        self._quiet_logs()
        try:
            self._start_database()
            self._start_syncso()
            self._start_aws()
            self._start_gateway()
            if self.state_dir:
                self._write_state()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception as exc:  # keep stopping the rest
                print(f"warning: while stopping: {exc!r}")
        for name, value in self._saved_env.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        self._saved_env.clear()

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # parts -------------------------------------------------------------------------------------
    def _setenv(self, **values: str) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _quiet_logs(self) -> None:
        """Handlers' JSON logs at WARNING, no EMF metrics, no X-Ray, no per-request moto lines
        (all of it back with verbose)."""
        import logging

        defaults = {"POWERTOOLS_LOG_LEVEL": "INFO" if self.verbose else "WARNING",
                    "POWERTOOLS_METRICS_DISABLED": "false" if self.verbose else "true",
                    "POWERTOOLS_TRACE_DISABLED": "true"}
        self._setenv(**{k: v for k, v in defaults.items() if k not in os.environ})
        logging.getLogger("werkzeug").setLevel(logging.INFO if self.verbose else logging.ERROR)

    def _start_database(self) -> None:
        import psycopg

        from devstack.postgres import LocalPostgres
        from prosync.db.connection import close_all
        from prosync.db.migrate import apply_migrations

        self.database_url = os.environ.get("DATABASE_URL", "")
        if not self.database_url:
            pg = LocalPostgres()
            self.cluster_dir = str(pg.dir)
            self._stops.append(pg.stop)
            pg.start()
            self.database_url = pg.create_database("prosync")
        self._stops.append(close_all)
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            apply_migrations(conn)
        self._setenv(DATABASE_URL=self.database_url)

    def _start_syncso(self) -> None:
        real_key = os.environ.get("SYNC_API_KEY")
        if real_key:
            self.sync_api_base_url = os.environ.get("SYNC_API_BASE_URL", "https://api.sync.so")
            return
        from devstack.emulator import DEFAULT_API_KEY, EmulatorServer

        self.emulator = EmulatorServer(api_key=DEFAULT_API_KEY, port=0,
                                       generation_seconds=self.generation_seconds).start()
        self._stops.append(self.emulator.stop)
        self.sync_api_base_url = self.emulator.url
        self._setenv(SYNC_API_BASE_URL=self.emulator.url, SYNC_API_KEY=DEFAULT_API_KEY)

    def _start_aws(self) -> None:
        from devstack.localaws import LocalAwsServer
        from devstack.postgres import free_port

        for name, value in {"PROSYNC_WAIT_SCALE": str(self.wait_scale), "MEDIA_BUCKET": BUCKET}.items():
            if name not in os.environ:
                self._setenv(**{name: value})
        self.aws = LocalAwsServer(port=free_port()).start()
        self._stops.append(self.aws.stop)
        s3 = self.aws.client("s3")
        s3.create_bucket(Bucket=os.environ["MEDIA_BUCKET"])
        s3.put_bucket_cors(Bucket=os.environ["MEDIA_BUCKET"], CORSConfiguration={"CORSRules": [{
            "AllowedOrigins": self._origins(), "AllowedMethods": ["POST", "GET", "HEAD"],
            "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag", "Location"], "MaxAgeSeconds": 3600}]})
        self.state_machine_arn = self.aws.deploy()
        self._setenv(STATE_MACHINE_ARN=self.state_machine_arn)

    def _origins(self) -> list[str]:
        origins = [*(self.cors_origins or DEV_ORIGINS), f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"]
        return sorted(set(origins))

    def _start_gateway(self) -> None:
        from functions.api.handler import lambda_handler

        self.keys = DevKeys.load_or_create(self.state_dir) if self.state_dir else DevKeys.generate()
        authorizer = JwtAuthorizer(self.keys.jwks(), DEV_ISSUER, [DEV_AUDIENCE])
        self.gateway = Gateway(lambda_handler, authorizer, web_dir=self.web_dir, jwks=self.keys.jwks(),
                               cors=CorsConfig(allow_origins=self._origins()),
                               dev_tokens=self._dev_token_answer, log=print if self.verbose else None)
        self.gateway.start(port=self.port)
        self._stops.append(self.gateway.stop)

    def _write_state(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / STATE_FILE
        path.write_text(json.dumps(asdict(self.info), indent=2))
        self._stops.append(lambda: path.unlink(missing_ok=True))

    # what callers use --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def info(self) -> StackInfo:
        return StackInfo(
            pid=os.getpid(), url=self.url, api_url=f"{self.url}/api/v1", database_url=self.database_url,
            key_path=str((self.state_dir or Path()) / "dev-jwt-key.pem") if self.state_dir else "",
            issuer=DEV_ISSUER, audience=DEV_AUDIENCE, aws_endpoint_url=self.aws.endpoint_url,
            sync_api_base_url=self.sync_api_base_url, bucket=os.environ["MEDIA_BUCKET"],
            state_machine_arn=self.state_machine_arn, started_at=time.time(), cluster_dir=self.cluster_dir,
        )

    def token(self, tier: str = "pro", user: str | None = None) -> str:
        return _dev_token(self.keys, self.database_url, DEV_ISSUER, DEV_AUDIENCE, tier, user)

    def _dev_token_answer(self, tier: str, user: str | None) -> dict:
        token = self.token(tier, user)
        return {"token": token, "tier": tier, "userId": user or DEV_USERS.get(tier)}
