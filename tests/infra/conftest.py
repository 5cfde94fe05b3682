"""Synthesize the stack once per session (bundling skipped), in dev and prod flavours.

Nothing here calls AWS: the account and region are fixed in context.
"""

import pytest
from infra_testkit import DEV_CONTEXT, EDGE_CONTEXT, PROD_CONTEXT, Synth, synthesize


@pytest.fixture(scope="session")
def dev(tmp_path_factory) -> Synth:
    return synthesize(DEV_CONTEXT, tmp_path_factory.mktemp("cdk-dev"), nag=False)


@pytest.fixture(scope="session")
def prod(tmp_path_factory) -> Synth:
    return synthesize(PROD_CONTEXT, tmp_path_factory.mktemp("cdk-prod"), nag=True)


@pytest.fixture(scope="session")
def edge(tmp_path_factory) -> Synth:
    """prod in us-east-1 with Cognito, a custom domain, WAF and a budget (tests/infra/infra_testkit.py)."""
    return synthesize(EDGE_CONTEXT, tmp_path_factory.mktemp("cdk-edge"), nag=True)


@pytest.fixture(scope="session", params=["dev", "prod"])
def synth(request) -> Synth:
    return request.getfixturevalue(request.param)
