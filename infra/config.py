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
# `prosync login` listens on the first free one of these (Cognito allows http only for localhost and
# needs each callback URL exactly, so the CLI cannot pick any port).
CLI_CALLBACK_PORTS = (8765, 8766, 8767)


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
    sync_webhook_secret_name: str | None = None  # an existing secret with Sync.so's webhook signing secret
    sync_max_concurrent_generations: int = 3  # the organisation's plan limit (1, 3, 6, 15, custom)
    sync_generation_retries: int = 2  # new attempts after a retryable FAILED generation
    alarm_email: str | None = None
    log_retention_days: int = 30
    log_level: str = "INFO"
    job_timeout_minutes: int = 120
    upload_expiry_days: int = 7
    results_expiry_days: int = 30
    # one origin (infra/web_hosting.py): web/ and the API behind one CloudFront distribution
    web_hosting: bool = True
    domain_names: list[str] = field(default_factory=list)
    certificate_arn: str | None = None
    # edge protection (infra/edge_protection.py): a CLOUDFRONT web ACL, or one made elsewhere
    waf: bool = False
    web_acl_arn: str | None = None
    waf_rate_limit: int = 600  # requests per 5 minutes per bearer token
    # sign-in (infra/auth.py): Cognito managed login for the page and the CLI
    auth_domain_prefix: str | None = None
    cli_callback_ports: list[int] = field(default_factory=lambda: list(CLI_CALLBACK_PORTS))
    oidc_client_id: str | None = None  # the page's client at an external issuer
    refresh_token_days: int = 30
    # cost alert (infra/monitoring.py)
    budget_monthly_usd: float | None = None
    budget_email: str | None = None
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
        if "*" in self.cors_origins or (not self.cors_origins and not self.web_hosting):
            raise ValueError("cors_origins must list the exact front-end origins (no '*')")
        if bool(self.domain_names) != bool(self.certificate_arn):
            raise ValueError("give both domain_names and certificate_arn, or neither")
        if self.certificate_arn and ":acm:us-east-1:" not in self.certificate_arn:
            raise ValueError("certificate_arn must be an ACM certificate in us-east-1 (CloudFront's region)")
        if (self.domain_names or self.waf or self.web_acl_arn) and not self.web_hosting:
            raise ValueError("domain_names, waf and web_acl_arn need web_hosting (the distribution)")
        if not 1 <= self.results_expiry_days <= 3650:
            raise ValueError("results_expiry_days must be within 1..3650")
        if not 10 <= self.waf_rate_limit <= 2_000_000_000:
            raise ValueError("waf_rate_limit must be within 10..2e9 (WAF's bounds)")
        if not 1 <= self.refresh_token_days <= 3650:
            raise ValueError("refresh_token_days must be within 1..3650 (Cognito's bounds)")
        if self.budget_monthly_usd is not None and not (self.budget_email or self.alarm_email):
            raise ValueError("budget_monthly_usd needs budget_email or alarm_email (who is told)")
        if not 5 <= self.job_timeout_minutes <= 24 * 60:
            raise ValueError("job_timeout_minutes must be within 5..1440")
        if self.sync_max_concurrent_generations < 1:
            raise ValueError("sync_max_concurrent_generations must be at least 1 (the Sync.so plan's limit)")
        if not 0 <= self.sync_generation_retries <= 5:
            raise ValueError("sync_generation_retries must be within 0..5")

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
        hosting = _truthy(ctx("web_hosting", "true"))
        origins = _as_list(ctx("cors_origins"))
        if not origins:
            # Hosted, the page and the API share one origin: no CORS at all in prod; dev keeps the
            # local page's origins (a page served by `prosync up` against a deployed dev stack).
            if stage == "prod" and not hosting:
                raise ValueError("prod without web_hosting needs context cors_origins (the page's origins)")
            origins = [] if stage == "prod" else list(_DEV_ORIGINS)
        budget = ctx("budget_monthly_usd")
        skip = _truthy(ctx("skip_bundling", os.environ.get("PROSYNC_SKIP_BUNDLING", "false")))
        layer_dir = ctx("layer_dir")
        asl_path = ctx("asl_path")
        return cls(
            stage=stage,
            cors_origins=origins,
            jwt_issuer=ctx("jwt_issuer"),
            jwt_audience=_as_list(ctx("jwt_audience")),
            sync_secret_name=ctx("sync_secret_name"),
            sync_webhook_secret_name=ctx("sync_webhook_secret_name"),
            sync_max_concurrent_generations=int(ctx("sync_max_concurrent_generations", 3)),
            sync_generation_retries=int(ctx("sync_generation_retries", 2)),
            alarm_email=ctx("alarm_email"),
            log_retention_days=int(ctx("log_retention_days", 90 if stage == "prod" else 30)),
            log_level=str(ctx("log_level", "INFO")).upper(),
            job_timeout_minutes=int(ctx("job_timeout_minutes", 120)),
            upload_expiry_days=int(ctx("upload_expiry_days", 7)),
            results_expiry_days=int(ctx("results_expiry_days", 30)),
            web_hosting=hosting,
            domain_names=_as_list(ctx("domain_names")),
            certificate_arn=ctx("certificate_arn"),
            waf=_truthy(ctx("waf", stage == "prod" and hosting)),
            web_acl_arn=ctx("web_acl_arn"),
            waf_rate_limit=int(ctx("waf_rate_limit", 600)),
            auth_domain_prefix=ctx("auth_domain_prefix"),
            cli_callback_ports=[int(p) for p in _as_list(ctx("cli_callback_ports"))]
            or list(CLI_CALLBACK_PORTS),
            oidc_client_id=ctx("oidc_client_id"),
            refresh_token_days=int(ctx("refresh_token_days", 30)),
            budget_monthly_usd=float(budget) if budget is not None else None,
            budget_email=ctx("budget_email"),
            skip_bundling=skip,
            asl_path=Path(asl_path) if asl_path else REPO_ROOT / "statemachine" / "pro_sync.asl.json",
            layer_dir=Path(layer_dir) if layer_dir else None,
        )
