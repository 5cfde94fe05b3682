"""The whole ProSync stack on one machine, in this process: used by `prosync up`, `prosync demo`
and the e2e tests.

  Postgres (a throw-away local cluster, or $DATABASE_URL), migrated, with dev users per tier
  moto server: S3 (media bucket + CORS), Step Functions running statemachine/pro_sync.asl.json with
      the real handlers in-process, Secrets Manager   (devstack.localaws)
  Sync.so: the emulator (its webhooks reach the gateway's POST /api/v1/webhooks/syncso), or the real
      API when $SYNC_API_KEY is set (then webhooks only with $WEBHOOK_URL/$SYNC_WEBHOOK_SECRET; else polling)
  the HTTP gateway: the api Lambda behind a JWT check, and web/ at /

With a `state_dir`, the running stack writes `devstack.json` there (URLs, database URL, key path)
so that `prosync token` and `prosync submit` in another terminal find it; its JWT key is kept there
too, so tokens outlive a restart.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from devstack.gateway import DEV_AUDIENCE, DEV_ISSUER, CorsConfig, DevKeys, Gateway, JwtAuthorizer
from devstack.gateway.auth import KEY_FILE
from devstack.gateway.cors import DEV_ORIGINS
from devstack.gateway.websecurity import WebSecurity
from devstack.stackstate import (
    DEV_USERS,
    STATE_FILE,
    TIERS,
    StackInfo,
    default_state_dir,
    dev_token,
    reap_stale,
)

__all__ = ["STATE_FILE", "TIERS", "LocalStack", "StackInfo", "default_state_dir", "reap_stale"]

REPO = Path(__file__).resolve().parent.parent
WEB_DIR = REPO / "web"
BUCKET = "prosync-local-media"


class LocalStack:
    def __init__(
        self,
        port: int = 0,
        *,
        state_dir: Path | None = None,
        web_dir: Path = WEB_DIR,
        generation_seconds: float = 2.0,
        wait_scale: float = 0.1,
        cors_origins: list[str] | None = None,
        verbose: bool = False,
    ):
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
        self.database_url = self.sync_api_base_url = self.state_machine_arn = self.cluster_dir = (
            self.bucket
        ) = ""
        self.started_at = 0.0

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> LocalStack:
        if str(REPO) not in sys.path:  # functions/ (the Lambda handlers) is not an installed package
            sys.path.insert(0, str(REPO))
        self._quiet_logs()
        self.started_at = time.time()
        try:
            self._start_database()
            self._start_syncso()
            self._start_aws()
            self._start_gateway()
            self._start_live_events()
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
            except Exception as exc:  # noqa: BLE001 (keep stopping the rest)
                print(f"warning: while stopping: {exc!r}")
        for name, value in self._saved_env.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        self._saved_env.clear()

    def __enter__(self) -> LocalStack:
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

        defaults = {
            "POWERTOOLS_LOG_LEVEL": "INFO" if self.verbose else "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "false" if self.verbose else "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        self._setenv(**{k: v for k, v in defaults.items() if k not in os.environ})
        logging.getLogger("werkzeug").setLevel(logging.INFO if self.verbose else logging.ERROR)

    def _start_database(self) -> None:
        import psycopg
        from prosync.db.connection import close_all
        from prosync.db.migrate import apply_migrations

        from devstack.postgres import LocalPostgres

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
            if not os.environ.get("WEBHOOK_URL"):  # Sync.so cannot reach this machine: poll
                self._setenv(SYNC_WEBHOOKS="false")
            return
        from devstack.emulator import DEFAULT_API_KEY, EmulatorServer

        self.emulator = EmulatorServer(
            api_key=DEFAULT_API_KEY, port=0, generation_seconds=self.generation_seconds
        ).start()
        self._stops.append(self.emulator.stop)
        self.sync_api_base_url = self.emulator.url
        self._setenv(SYNC_API_BASE_URL=self.emulator.url, SYNC_API_KEY=DEFAULT_API_KEY)
        # Sync.so's webhooks: the emulator signs with this secret and posts to the gateway's public route
        # (its port is known before start); submit sends that URL as each create's webhookUrl
        self._setenv(SYNC_WEBHOOK_SECRET=self.emulator.webhook_secret,
                     WEBHOOK_URL=f"http://127.0.0.1:{self.port}/api/v1/webhooks/syncso")

    def _start_aws(self) -> None:
        from devstack.buckets import create_media_bucket
        from devstack.localaws import LocalAwsServer
        from devstack.postgres import free_port

        for name, value in {"PROSYNC_WAIT_SCALE": str(self.wait_scale), "MEDIA_BUCKET": BUCKET}.items():
            if name not in os.environ:
                self._setenv(**{name: value})
        self.bucket = os.environ["MEDIA_BUCKET"]
        self.aws = LocalAwsServer(port=free_port()).start()
        self._stops.append(self.aws.stop)
        create_media_bucket(self.aws.client("s3"), self.bucket, cors_origins=self._origins())
        self.state_machine_arn = self.aws.deploy()
        self._setenv(STATE_MACHINE_ARN=self.state_machine_arn)

    def _origins(self) -> list[str]:
        origins = [
            *(self.cors_origins or DEV_ORIGINS),
            f"http://127.0.0.1:{self.port}",
            f"http://localhost:{self.port}",
        ]
        return sorted(set(origins))

    def _start_gateway(self) -> None:
        from functions.api.handler import lambda_handler

        self.keys = DevKeys.load_or_create(self.state_dir) if self.state_dir else DevKeys.generate()
        authorizer = JwtAuthorizer(self.keys.jwks(), DEV_ISSUER, [DEV_AUDIENCE])
        self.gateway = Gateway(
            lambda_handler,
            authorizer,
            web_dir=self.web_dir,
            jwks=self.keys.jwks(),
            cors=CorsConfig(allow_origins=self._origins()),
            web_security=WebSecurity.local(self.aws.endpoint_url),  # the page uploads to moto's S3
            dev_tokens=self._dev_token_answer,
            log=print if self.verbose else None,
        )
        self.gateway.start(port=self.port)
        self._stops.append(self.gateway.stop)

    def _start_live_events(self) -> None:
        """The WebSocket API, the notifier and the webhook queue, in-process (devstack/live.py).
        Webhook endpoints on http://127.0.0.1 are allowed here only (a dev setting)."""
        from devstack.live import LiveEvents

        if "WEBHOOKS_ALLOW_HTTP_LOOPBACK" not in os.environ:
            self._setenv(WEBHOOKS_ALLOW_HTTP_LOOPBACK="true")
        self.live = LiveEvents(self.gateway.authorizer).start()
        self._stops.append(self.live.stop)
        # the page finds the socket in index.html's prosync-ws-url tag; its CSP lets it connect there
        self.gateway.web_security = dataclasses.replace(self.gateway.web_security, live_url=self.live.ws_url)

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
            pid=os.getpid(),
            url=self.url,
            api_url=f"{self.url}/api/v1",
            database_url=self.database_url,
            key_path=str(self.state_dir / KEY_FILE) if self.state_dir else "",
            issuer=DEV_ISSUER,
            audience=DEV_AUDIENCE,
            aws_endpoint_url=self.aws.endpoint_url,
            sync_api_base_url=self.sync_api_base_url,
            bucket=self.bucket,
            state_machine_arn=self.state_machine_arn,
            started_at=self.started_at,
            cluster_dir=self.cluster_dir,
            ws_url=self.live.ws_url if getattr(self, "live", None) else "",
        )

    def token(self, tier: str = "pro", user: str | None = None) -> str:
        return dev_token(self.keys, self.database_url, DEV_ISSUER, DEV_AUDIENCE, tier, user)

    def _dev_token_answer(self, tier: str, user: str | None) -> dict:
        token = self.token(tier, user)
        return {"token": token, "tier": tier, "userId": user or DEV_USERS.get(tier)}
