"""cfn-lint on the synthesized templates: no error, and only the warnings CDK itself causes."""

import pytest
from cfnlint.api import ManualArgs, lint

# W3005: CDK adds DependsOn next to a GetAtt of the same role (the Lambda and its default policy).
ALLOWED_WARNINGS = {"W3005"}


@pytest.mark.parametrize("flavour", ["dev", "prod"])
def test_cfn_lint(flavour, request):
    synth = request.getfixturevalue(flavour)
    path = synth.outdir / f"{synth.stack.stack_name}.template.json"
    matches = lint(path.read_text(), config=ManualArgs(regions=[synth.stack.region]))
    problems = [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})"
        for m in matches
        if m.rule.id.startswith("E") or (m.rule.id.startswith("W") and m.rule.id not in ALLOWED_WARNINGS)
    ]
    assert problems == []
