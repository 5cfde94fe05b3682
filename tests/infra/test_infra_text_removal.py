"""Text removal (issue 16) in the stack: two functions outside the VPC with their own layers (the
planner with the detector, the chunk worker with OpenCV), results/-only S3 grants, the Map in the
state machine; the layers' requirements pinned to the lock."""

import json

import pytest
from infra_testkit import as_list
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.text_removal import LAYERS, SPECS, layer_pip_command
from infra.workflow import PLACEHOLDERS


def test_two_functions_with_their_own_layers(synth):
    layers = set()
    for name, (kind, memory, timeout, tmp) in SPECS.items():
        _, props = synth.function(name)
        assert props["Runtime"] == "python3.14" and props["Architectures"] == ["arm64"]
        assert props["Handler"] == "handler.lambda_handler"
        assert (props["MemorySize"], props["Timeout"], props["EphemeralStorage"]["Size"]) == (memory, timeout, tmp)
        assert "VpcConfig" not in props and props["TracingConfig"] == {"Mode": "Active"}
        assert props["Environment"]["Variables"]["TEXT_REMOVAL_MAX_CONCURRENCY"] == "10"
        (layer,) = props["Layers"]
        assert layer != {"Ref": synth.logical_id(synth.stack.functions.layer)}
        layers.add(json.dumps(layer))
    assert len(layers) == 2


def test_they_reach_results_only(synth):
    for name in SPECS:
        role = synth.function(name)[1]["Role"]["Fn::GetAtt"][0]
        statements = synth.role_statements(role)
        s3 = [s for s in statements if any(a.startswith("s3:") for a in as_list(s["Action"]))]
        for statement in s3:
            resources = json.dumps(statement["Resource"])
            assert "/results/*" in resources or "results/*" in json.dumps(statement.get("Condition")), statement
        actions = {a for s in statements for a in as_list(s["Action"])}
        assert not any(a.startswith(("rds", "secretsmanager", "states:")) for a in actions)


def test_the_state_machine_maps_over_chunks(synth):
    (sm,) = synth.resources("AWS::StepFunctions::StateMachine").values()
    definition = json.loads(sm["Properties"]["DefinitionString"])
    state = definition["States"]["Remove text in chunks"]
    assert state["Type"] == "Map" and state["MaxConcurrencyPath"] == "$.textRemoval.maxConcurrency"
    assert state["Catch"][0]["Next"] == "Clean up text removal"
    chunk = state["ItemProcessor"]["States"]["Clean a chunk"]
    assert chunk["Retry"][-1]["ErrorEquals"] == ["States.ALL"] and chunk["Retry"][-1]["MaxAttempts"] == 1
    assert PLACEHOLDERS["TextRemovalChunkFunctionArn"] == "textremoval-chunk"
    assert definition["States"]["Download result to S3"]["Next"] == "Remove text?"


def test_layer_requirements_are_pinned_to_the_lock(tmp_path):
    from scripts import build_layer

    lock = {}
    for line in (build_layer.REPO_ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            lock[canonicalize_name(name)] = version.strip()
    for kind, path in LAYERS.items():
        reqs = [Requirement(l) for l in path.read_text().splitlines() if l.strip() and not l.startswith("#")]
        names = {canonicalize_name(r.name) for r in reqs}
        assert {"av", "numpy", "pydantic-settings"} <= names
        assert ("opencv-python-headless" in names) == (kind == "worker")
        assert ({"onnxruntime", "rapidocr"} <= names) == (kind == "detector")
        for req in reqs:
            (spec,) = req.specifier
            assert spec.operator == "==" and lock[canonicalize_name(req.name)] == spec.version, req
        cmd = layer_pip_command(kind, tmp_path)
        assert "--no-deps" in cmd and cmd[cmd.index("--python-version") + 1] == "3.14"
        assert cmd[-1] == str(path)


@pytest.mark.bundling
@pytest.mark.timeout(900)
def test_both_layers_build_for_arm64_and_fit_lambdas_limit():
    from infra.text_removal import LAMBDA_UNZIPPED_LIMIT, REPO_ROOT, build_layer, size_of

    for kind in LAYERS:
        python_dir = build_layer(kind) / "python"
        assert (python_dir / "av").is_dir() and (python_dir / "prosync" / "textremoval").is_dir()
        size = size_of(python_dir) + size_of(REPO_ROOT / "functions" / "textremoval")
        assert size < LAMBDA_UNZIPPED_LIMIT, f"{kind}: {size / 1e6:.1f} MB"
    assert list((python_dir.parent.parent / "textremoval-detector" / "python" / "rapidocr" / "models")
                .glob("*det*.onnx"))
