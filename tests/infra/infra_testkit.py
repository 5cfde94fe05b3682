"""Helpers shared by the infra tests: the synthesized stack and template queries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import build_app

ENV = {"account": "111111111111", "region": "eu-west-1", "skip_bundling": "true"}
DEV_CONTEXT = {**ENV, "stage": "dev"}
PROD_CONTEXT = {
    **ENV,
    "stage": "prod",
    "jwt_issuer": "https://auth.example.com/",
    "jwt_audience": "prosync-api",
    "sync_secret_name": "prosync/prod/syncso-api-key",
    "alarm_email": "ops@example.com",
    "job_timeout_minutes": 90,
}
CERTIFICATE_ARN = "arn:aws:acm:us-east-1:111111111111:certificate/0f0f0f0f-1111-2222-3333-444444444444"
# prod as issue 12 deploys it: us-east-1 (WAF), the in-stack Cognito pool, a custom domain, a budget
EDGE_CONTEXT = {
    **PROD_CONTEXT,
    "region": "us-east-1",
    "jwt_issuer": "",
    "jwt_audience": "",
    "domain_names": "editor.example.com",
    "certificate_arn": CERTIFICATE_ARN,
    "auth_domain_prefix": "prosync-editor",
    "budget_monthly_usd": "150",
}
OUR_FUNCTIONS = ("api", "jobstore", "migrate", "submit", "poll", "download", "sweeper", "revise")
VPC_FUNCTIONS = {"api", "jobstore", "migrate", "sweeper"}


@dataclass
class Synth:
    app: Any
    stack: Any
    template: dict
    outdir: Path

    def resources(self, type_: str) -> dict[str, dict]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == type_}

    def logical_id(self, construct) -> str:
        return self.stack.get_logical_id(construct.node.default_child)

    def function(self, name: str) -> tuple[str, dict]:
        for logical_id, res in self.resources("AWS::Lambda::Function").items():
            if res["Properties"].get("FunctionName") == f"{self.stack.config.prefix}-{name}":
                return logical_id, res["Properties"]
        raise KeyError(name)

    def role_statements(self, role_logical_id: str) -> list[dict]:
        """Every statement granted to a role: inline policies, attached AWS::IAM::Policy, managed."""
        role = self.template["Resources"][role_logical_id]["Properties"]
        statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
        for res in self.resources("AWS::IAM::Policy").values():
            if {"Ref": role_logical_id} in res["Properties"].get("Roles", []):
                statements += res["Properties"]["PolicyDocument"]["Statement"]
        assert not role.get("ManagedPolicyArns"), f"{role_logical_id} has managed policies"
        return statements

    def function_statements(self, name: str) -> list[dict]:
        _, props = self.function(name)
        return self.role_statements(props["Role"]["Fn::GetAtt"][0])


def synthesize(context: dict, outdir: Path, *, nag: bool) -> Synth:
    app, stack = build_app(context, outdir=str(outdir), nag=nag)
    app.synth()  # with nag=True this runs both packs as validation plugins and raises on a finding
    template = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
    return Synth(app, stack, template, outdir)


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def render(value) -> str:
    """A CloudFormation value as text, intrinsics spelled out (for `endswith`/`in` checks)."""
    return json.dumps(value, sort_keys=True)
