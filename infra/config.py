"""Deployment settings, read once from CDK context (cdk.json, `-c key=value`) and the environment.

Nothing here calls AWS: the account and region come from CDK_DEFAULT_ACCOUNT/REGION (set by the CDK
CLI from the caller's profile) or from context, never from STS at synth time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Node

REPO_ROOT = Path(__file__).resolve().parent.parent
STAGES = ("dev", "prod")
# The execution's own timeout comes this long after the job deadline, so that a job past its deadline
# still runs the workflow's failure path (mark failed) and a download in flight can finish: a timed-out
# execution runs no Catch and would leave the job row in its last status.
EXECUTION_MARGIN_SECONDS = 3600

_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
}

_DEV_ORIGINS = ["http://localhost:8080", "http://127.0.0.1:8080"]


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _as_list(value: object) -> list[str]:
    """Context lists arrive as JSON arrays (cdk.json) or comma-separated strings (`-c a=x,y`)."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        return _as_list(json.loads(text))
    return [part.strip() for part in text.split(",") if part.strip()]


@dataclass(frozen=True)
class StackConfig:
    stage: str = "dev"
    cors_origins: list[str] = field(default_factory=lambda: list(_DEV_ORIGINS))
    jwt_issuer: str | None = None
    jwt_audience: list[str] = field(default_factory=list)
    sync_secret_name: str | None = None
    alarm_email: str | None = None
    log_retention_days: int = 30
    log_level: str = "INFO"
    job_timeout_minutes: int = 120
    upload_expiry_days: int = 7
    skip_bundling: bool = False
    asl_path: Path = REPO_ROOT / "statemachine" / "pro_sync.asl.json"
    layer_dir: Path | None = None  # a prebuilt layer directory; None = build it (or placeholder)

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"context 'stage' must be one of {STAGES}, got {self.stage!r}")
        if self.log_retention_days not in _RETENTION:
            raise ValueError(f"log_retention_days must be one of {sorted(_RETENTION)}")
        if bool(self.jwt_issuer) != bool(self.jwt_audience):
            raise ValueError("give both jwt_issuer and jwt_audience, or neither (in-stack Cognito pool)")
        if self.jwt_issuer and not self.jwt_issuer.startswith("https://"):
            raise ValueError("jwt_issuer must be an https:// URL")
        if not self.cors_origins or "*" in self.cors_origins:
            raise ValueError("cors_origins must list the exact front-end origins (no '*')")
        if not 5 <= self.job_timeout_minutes <= 24 * 60:
            raise ValueError("job_timeout_minutes must be within 5..1440")

    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"

    @property
    def prefix(self) -> str:
        """Physical-name prefix: `prosync-<stage>`."""
        return f"prosync-{self.stage}"

    @property
    def state_machine_name(self) -> str:
        return f"{self.prefix}-jobs"

    @property
    def job_deadline_seconds(self) -> int:
        """How long a job may wait for Sync.so (jobstore and poll: `WORKFLOW_DEADLINE_SECONDS`)."""
        return self.job_timeout_minutes * 60

    @property
    def execution_timeout_seconds(self) -> int:
        """The state machine's overall `TimeoutSeconds`: the deadline plus a margin."""
        return self.job_deadline_seconds + EXECUTION_MARGIN_SECONDS

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION[self.log_retention_days]

    @property
    def removal_policy(self) -> RemovalPolicy:
        """Stateful resources: kept (or snapshotted) outside dev."""
        return RemovalPolicy.RETAIN if self.is_prod else RemovalPolicy.DESTROY

    @classmethod
    def from_context(cls, node: Node) -> StackConfig:
        def ctx(key: str, default: object = None) -> object:
            value = node.try_get_context(key)
            return default if value is None or value == "" else value

        stage = str(ctx("stage", "dev"))
        origins = _as_list(ctx("cors_origins"))
        if not origins:
            if stage == "prod":
                raise ValueError("prod needs context cors_origins (the front end's exact origins)")
            origins = list(_DEV_ORIGINS)
        skip = _truthy(ctx("skip_bundling", os.environ.get("PROSYNC_SKIP_BUNDLING", "false")))
        layer_dir = ctx("layer_dir")
        asl_path = ctx("asl_path")
        return cls(
            stage=stage,
            cors_origins=origins,
            jwt_issuer=ctx("jwt_issuer"),
            jwt_audience=_as_list(ctx("jwt_audience")),
            sync_secret_name=ctx("sync_secret_name"),
            alarm_email=ctx("alarm_email"),
            log_retention_days=int(ctx("log_retention_days", 90 if stage == "prod" else 30)),
            log_level=str(ctx("log_level", "INFO")).upper(),
            job_timeout_minutes=int(ctx("job_timeout_minutes", 120)),
            upload_expiry_days=int(ctx("upload_expiry_days", 7)),
            skip_bundling=skip,
            asl_path=Path(asl_path) if asl_path else REPO_ROOT / "statemachine" / "pro_sync.asl.json",
            layer_dir=Path(layer_dir) if layer_dir else None,
        )
