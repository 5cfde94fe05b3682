"""The sweeper: scheduled every 15 minutes, in the VPC, least privilege, outside the state machine."""

from infra_testkit import as_list, render

from infra.workflow import PLACEHOLDERS


def test_an_eventbridge_rule_runs_the_sweeper_every_15_minutes(synth):
    (rule,) = [r for k, r in synth.resources("AWS::Events::Rule").items() if "ScheduleExpression" in r["Properties"]
               and not k.startswith("LiveEvents")]  # live events' notifier schedule: test_infra_live_events.py
    props = rule["Properties"]  # the other rule is monitoring's failed-jobs pattern
    assert props["ScheduleExpression"] == "rate(15 minutes)" and props["State"] == "ENABLED"
    (target,) = props["Targets"]
    sweeper = synth.function("sweeper")[0]
    assert target["Arn"] == {"Fn::GetAtt": [sweeper, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 900, "MaximumRetryAttempts": 2}
    permissions = [p["Properties"] for k, p in synth.resources("AWS::Lambda::Permission").items()
                   if p["Properties"]["Principal"] == "events.amazonaws.com" and not k.startswith("LiveEvents")]
    assert [p["FunctionName"] for p in permissions] == [{"Fn::GetAtt": [sweeper, "Arn"]}]


def test_the_sweeper_reads_executions_and_deletes_only_uploads(synth):
    statements = [s for s in synth.function_statements("sweeper")
                  if not any(a.startswith(("logs:", "xray:", "ec2:")) for a in as_list(s["Action"]))]
    by_action = {a: s for s in statements for a in as_list(s["Action"])}
    assert set(by_action) == {"states:DescribeExecution", "s3:ListBucketVersions", "s3:DeleteObject",
                              "s3:DeleteObjectVersion", "rds-db:connect"}
    name = synth.stack.config.state_machine_name
    assert render(by_action["states:DescribeExecution"]["Resource"]).endswith(f':execution:{name}:*"]]}}')
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion"):  # every version of an upload
        assert render(by_action[action]["Resource"]).endswith('"/uploads/*"]]}')
    listing = by_action["s3:ListBucketVersions"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["uploads/*"]}}
    env = synth.function("sweeper")[1]["Environment"]["Variables"]
    assert env["MEDIA_BUCKET"] == {"Ref": synth.logical_id(synth.stack.storage.media)}
    assert env["POWERTOOLS_SERVICE_NAME"] == "prosync-sweeper"


def test_the_sweeper_is_not_part_of_the_state_machine(synth):
    assert "sweeper" not in PLACEHOLDERS.values()
    (machine,) = synth.resources("AWS::StepFunctions::StateMachine").values()
    assert synth.function("sweeper")[0] not in render(machine["Properties"])
