"""Workflow: the ASL file (substituted as CloudFormation will) and the state machine around it."""

import json
import re

import pytest
from infra_testkit import as_list
from statelint.config import Config
from statelint.linter import Linter

from infra.workflow import PLACEHOLDERS, read_definition

PLACEHOLDER_RE = re.compile(r"\$\{(\w+)\}")
DUMMY_ARN = "arn:aws:lambda:eu-west-1:111111111111:function:prosync-test-{}"


@pytest.fixture(scope="module")
def asl_text(dev) -> str:
    return dev.stack.config.asl_path.read_text()


@pytest.fixture(scope="module")
def substituted(asl_text) -> dict:
    text = asl_text
    for placeholder, key in PLACEHOLDERS.items():
        text = text.replace("${" + placeholder + "}", DUMMY_ARN.format(key))
    return json.loads(text)


def walk_states(states: dict, path: str = ""):
    """Every state, including those nested in Parallel branches and Map processors."""
    for name, state in states.items():
        yield f"{path}{name}", state
        for branch in state.get("Branches", []):
            yield from walk_states(branch["States"], f"{path}{name}/")
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from walk_states(state[key]["States"], f"{path}{name}/")


def test_asl_uses_exactly_the_four_placeholders(asl_text):
    assert set(PLACEHOLDER_RE.findall(asl_text)) == set(PLACEHOLDERS)


def test_substituted_definition_passes_statelint(substituted):
    assert Linter.validate(substituted, Config()) == []


def test_definition_stays_on_jsonpath_without_assign(substituted):
    assert substituted.get("QueryLanguage", "JSONPath") == "JSONPath"
    for name, state in walk_states(substituted["States"]):
        assert "Assign" not in state and state.get("QueryLanguage", "JSONPath") == "JSONPath", name


def test_every_task_has_retry_catch_and_timeout(substituted):
    tasks = [(name, s) for name, s in walk_states(substituted["States"]) if s["Type"] == "Task"]
    assert tasks
    for name, state in tasks:
        assert state.get("Retry"), f"{name}: no Retry"
        assert state.get("Catch"), f"{name}: no Catch"
        assert "TimeoutSeconds" in state or "TimeoutSecondsPath" in state, f"{name}: no TimeoutSeconds"
        assert "States.ALL" in state["Catch"][-1]["ErrorEquals"], f"{name}: last catcher is not States.ALL"


def _task_function(state: dict) -> str | None:
    for value in (state.get("Resource", ""), state.get("Parameters", {}).get("FunctionName", "")):
        for key in PLACEHOLDERS.values():
            if DUMMY_ARN.format(key) in str(value):
                return key
    return None


def test_task_timeouts_outlast_their_lambda_timeouts(substituted, dev):
    """A Task timing out before its Lambda would leave the function running (a download, say)."""
    for name, state in walk_states(substituted["States"]):
        key = _task_function(state) if state["Type"] == "Task" else None
        if key and "TimeoutSeconds" in state:
            function_timeout = dev.function(key)[1]["Timeout"]
            assert state["TimeoutSeconds"] >= function_timeout, (
                f"{name}: {state['TimeoutSeconds']} < {function_timeout}"
            )


def _state_machine(synth) -> dict:
    (sm,) = synth.resources("AWS::StepFunctions::StateMachine").values()
    return sm["Properties"]


def test_state_machine_properties(synth):
    props = _state_machine(synth)
    config = synth.stack.config
    assert props["StateMachineType"] == "STANDARD"
    assert props["StateMachineName"] == config.state_machine_name == f"prosync-{config.stage}-jobs"
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is (not config.is_prod)


def test_definition_in_template_is_the_file_with_the_job_deadline(synth):
    props = _state_machine(synth)
    definition = json.loads(props["DefinitionString"])
    expected = json.loads(read_definition(synth.stack.config.asl_path, timeout_seconds=1))
    expected["TimeoutSeconds"] = definition["TimeoutSeconds"]
    assert definition == expected
    config = synth.stack.config
    assert definition["TimeoutSeconds"] == config.execution_timeout_seconds


def test_execution_outlives_the_job_deadline(synth):
    """The poll loop's deadline (jobstore/poll) fails the job through the Catch path; the execution
    timeout, which runs no Catch, comes later, with room for the longest download."""
    config = synth.stack.config
    for name in ("jobstore", "poll"):
        env = synth.function(name)[1]["Environment"]["Variables"]
        assert env["WORKFLOW_DEADLINE_SECONDS"] == str(config.job_timeout_minutes * 60)
    download_timeout = synth.function("download")[1]["Timeout"]
    assert config.execution_timeout_seconds >= config.job_deadline_seconds + 2 * download_timeout


def test_substitutions_point_at_the_right_functions(synth):
    substitutions = _state_machine(synth)["DefinitionSubstitutions"]
    assert substitutions == {
        placeholder: {"Fn::GetAtt": [synth.function(key)[0], "Arn"]}
        for placeholder, key in PLACEHOLDERS.items()
    }


def test_state_machine_role_invokes_only_the_four_functions(synth):
    role = _state_machine(synth)["RoleArn"]["Fn::GetAtt"][0]
    invokes = [s for s in synth.role_statements(role) if "lambda:InvokeFunction" in as_list(s["Action"])]
    assert len(invokes) == 1
    expected = [{"Fn::GetAtt": [synth.function(key)[0], "Arn"]} for key in PLACEHOLDERS.values()]
    assert sorted(map(str, as_list(invokes[0]["Resource"]))) == sorted(map(str, expected))
