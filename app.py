#!/usr/bin/env python3
"""CDK entry point: `python app.py` (or `npx aws-cdk synth|deploy`) synthesizes ProSyncStack.

Settings come from CDK context (cdk.json, `-c stage=prod`, ...; see infra/config.py and docs/DEPLOY.md).
The account and region come from CDK_DEFAULT_ACCOUNT/CDK_DEFAULT_REGION, never from STS.
cdk-nag's AwsSolutions and Serverless packs run as validation plugins: any unacknowledged finding
fails the synth. Context `skip_bundling=true` (or env PROSYNC_SKIP_BUNDLING=1) synthesizes with a
placeholder layer instead of building it with pip.
"""

import json
import os
from pathlib import Path

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from infra.config import StackConfig
from infra.stack import ProSyncStack

ROOT = Path(__file__).resolve().parent


def cdk_json_context() -> dict:
    return json.loads((ROOT / "cdk.json").read_text()).get("context", {})


def build_app(
    context: dict | None = None, outdir: str | None = None, *, nag: bool = True, acknowledge: bool = True
) -> tuple[App, ProSyncStack]:
    """The app as both `python app.py` and the CDK CLI see it (the CLI passes cdk.json's context itself).

    `nag=False` leaves the cdk-nag plugins out of synth and `acknowledge=False` the acknowledgements
    (tests run the packs themselves with `validate_scope`).
    """
    under_cli = "CDK_CONTEXT_JSON" in os.environ or "CDK_OUTDIR" in os.environ
    merged = {} if under_cli else cdk_json_context()
    merged.update(context or {})
    app_kwargs = {"context": merged}
    if outdir or not under_cli:
        app_kwargs["outdir"] = outdir or str(ROOT / "cdk.out")
    app = App(**app_kwargs)
    config = StackConfig.from_context(app.node)
    env = Environment(
        account=app.node.try_get_context("account") or os.environ.get("CDK_DEFAULT_ACCOUNT"),
        region=app.node.try_get_context("region") or os.environ.get("CDK_DEFAULT_REGION") or "us-east-1",
    )
    stack = ProSyncStack(
        app,
        f"ProSync-{config.stage}",
        config=config,
        env=env,
        description=f"ProSync lip-sync jobs ({config.stage})",
        termination_protection=config.is_prod,
        acknowledge=acknowledge,
    )
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app, stack


if __name__ == "__main__":
    build_app()[0].synth()
