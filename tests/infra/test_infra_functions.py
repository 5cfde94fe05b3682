"""Lambda functions: arm64, latest Python, VPC placement and least-privilege roles."""

import ast
import re

from aws_cdk import aws_lambda as lambda_
from infra_testkit import OUR_FUNCTIONS, VPC_FUNCTIONS, as_list, render

from infra.config import REPO_ROOT
from infra.database import APP_DB_USER, OWNER_DB_USER

S3_WRITE_ACTIONS = {
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:DeleteObject",
    "s3:PutObjectAcl",
    "s3:*",
}


def test_every_function_is_arm64(synth):
    functions = synth.resources("AWS::Lambda::Function")
    # + text removal's (issue 16), live events' (issue 14), the Provider framework, CDK's BucketDeployment
    assert len(functions) == (len(OUR_FUNCTIONS) + len(synth.stack.text_removal.functions)
                              + len(synth.stack.live.functions) + 2)
    for logical_id, res in functions.items():
        assert res["Properties"].get("Architectures") == ["arm64"], logical_id


def test_python_runtime_is_the_latest_known_to_aws_cdk_lib():
    versions = [
        tuple(int(p) for p in m.groups())
        for name in dir(lambda_.Runtime)
        if (m := re.fullmatch(r"PYTHON_(\d+)_(\d+)", name))
    ]
    assert lambda_.Runtime.PYTHON_3_14.name == "python3.14"
    assert max(versions) == (3, 14)


def test_our_functions_are_configured_explicitly(synth):
    for name in OUR_FUNCTIONS:
        _, props = synth.function(name)
        assert props["Runtime"] == "python3.14"
        assert props["Handler"] == "handler.lambda_handler"
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["MemorySize"] >= 256 and 3 < props["Timeout"] <= 900
        assert props["Layers"] == [{"Ref": synth.logical_id(synth.stack.functions.layer)}]
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == f"prosync-{name}"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "ProSync"
        assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
        log_group = synth.template["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
        assert log_group["LogGroupName"] == f"/aws/lambda/{props['FunctionName']}"
        assert log_group["RetentionInDays"] == (90 if synth.stack.config.is_prod else 30)


def test_api_timeout_fits_the_http_api_integration_limit(synth):
    assert synth.function("api")[1]["Timeout"] < 30


def test_only_database_functions_are_in_the_vpc(synth):
    for name in OUR_FUNCTIONS:
        _, props = synth.function(name)
        assert ("VpcConfig" in props) == (name in VPC_FUNCTIONS), name


def test_every_function_has_its_own_role(synth):
    roles = [synth.function(name)[1]["Role"]["Fn::GetAtt"][0] for name in OUR_FUNCTIONS]
    assert len(set(roles)) == len(roles)


def test_database_functions_connect_through_the_proxy_with_iam(synth):
    """As the application role (DML only, tests/infra/test_infra_db_roles.py); migrate as the owner."""
    proxy = synth.logical_id(synth.stack.database.proxy)
    for name in VPC_FUNCTIONS:
        _, props = synth.function(name)
        env = props["Environment"]["Variables"]
        user = OWNER_DB_USER if name == "migrate" else APP_DB_USER
        assert env["DB_HOST"] == {"Fn::GetAtt": [proxy, "Endpoint"]}
        assert (env["DB_PORT"], env["DB_NAME"], env["DB_USER"], env["DB_IAM_AUTH"]) == (
            "5432",
            "prosync",
            user,
            "true",
        )
        connect = [s for s in synth.function_statements(name) if "rds-db:connect" in as_list(s["Action"])]
        resources = render([s["Resource"] for s in connect])
        assert connect and f"/{user}\"" in resources and proxy in resources, name
        if name != "migrate":
            assert f"/{OWNER_DB_USER}\"" not in resources, name


def test_sync_functions_cannot_reach_the_database(synth):
    db_secret = synth.logical_id(synth.stack.database.secret)
    for name in ("submit", "poll", "download"):
        _, props = synth.function(name)
        assert not any(k.startswith("DB_") for k in props["Environment"]["Variables"]), name
        for statement in synth.function_statements(name):
            actions = as_list(statement["Action"])
            assert not any(a.startswith("rds-db:") or a.startswith("rds:") for a in actions), name
            assert db_secret not in render(statement["Resource"]), name


def test_sync_functions_read_only_the_sync_api_key(synth):
    for name in ("submit", "poll", "download"):
        _, props = synth.function(name)
        secret_ref = props["Environment"]["Variables"]["SYNC_API_KEY_SECRET_ARN"]
        reads = [
            s
            for s in synth.function_statements(name)
            if any(a.startswith("secretsmanager:") for a in as_list(s["Action"]))
        ]
        assert len(reads) == 1
        assert set(as_list(reads[0]["Action"])) <= {
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret",
        }
        name_in_context = synth.stack.config.sync_secret_name
        if name_in_context:  # imported by name: the grant covers the name's random 6-character suffix
            assert render(reads[0]["Resource"]).endswith(f':secret:{name_in_context}-??????"]]}}')
        else:  # created in the stack: exactly that secret
            assert (
                reads[0]["Resource"]
                == secret_ref
                == {"Ref": synth.logical_id(synth.stack.functions.sync_secret)}
            )


def test_download_writes_only_under_results(synth):
    writes = [
        s
        for s in synth.function_statements("download")
        if s["Effect"] == "Allow" and S3_WRITE_ACTIONS & set(as_list(s["Action"]))
    ]
    assert writes
    for statement in writes:
        for resource in as_list(statement["Resource"]):
            assert render(resource).endswith('"/results/*"]]}'), resource
    s3_actions = {
        a for s in synth.function_statements("download") for a in as_list(s["Action"]) if a.startswith("s3:")
    }
    assert s3_actions == {
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
        "s3:GetObject",  # reads its own result back to probe the duration
        "s3:ListBucketMultipartUploads",  # finds the upload to resume, or to abort on failure
    }
    for statement in synth.function_statements("download"):
        actions = as_list(statement["Action"])
        if actions == ["s3:ListBucketMultipartUploads"] or actions == "s3:ListBucketMultipartUploads":
            assert statement["Condition"] == {"StringLike": {"s3:prefix": ["results/*"]}}
        elif any(a.startswith("s3:") for a in actions):
            assert all(render(r).endswith('"/results/*"]]}') for r in as_list(statement["Resource"]))


def test_only_download_writes_results(synth):
    for name in OUR_FUNCTIONS:
        if name in ("download", "revise"):  # revise (issue 17): a revision's spliced result, its own job's key
            continue
        for statement in synth.function_statements(name):
            if S3_WRITE_ACTIONS & set(as_list(statement["Action"])):
                assert "/results/" not in render(statement["Resource"]), name


def test_api_grants(synth):
    statements = synth.function_statements("api")
    by_action = {a: s for s in statements for a in as_list(s["Action"])}
    assert render(by_action["s3:PutObject"]["Resource"]).endswith('"/uploads/*"]]}')
    got = render(by_action["s3:GetObject"]["Resource"])
    assert "/uploads/*" in got and "/results/*" in got
    # the probe reads the version HeadObject saw (GetObject with VersionId needs GetObjectVersion)
    assert render(by_action["s3:GetObjectVersion"]["Resource"]).endswith('"/uploads/*"]]}')
    # cancel deletes every version of the job's uploads, and only uploads
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion"):
        assert render(by_action[action]["Resource"]).endswith('"/uploads/*"]]}')
    assert by_action["s3:ListBucketVersions"]["Condition"] == {"StringLike": {"s3:prefix": ["uploads/*"]}}
    name = synth.stack.config.state_machine_name
    assert render(by_action["states:StartExecution"]["Resource"]).endswith(f':stateMachine:{name}"]]}}')
    for action in ("states:StopExecution", "states:DescribeExecution"):
        assert render(by_action[action]["Resource"]).endswith(f':execution:{name}:*"]]}}')
    env = synth.function("api")[1]["Environment"]["Variables"]
    assert render(env["STATE_MACHINE_ARN"]).endswith(f':stateMachine:{name}"]]}}')
    assert env["MEDIA_BUCKET"] == {"Ref": synth.logical_id(synth.stack.storage.media)}


def test_submit_may_only_read_uploads(synth):
    s3 = [
        s
        for s in synth.function_statements("submit")
        if any(a.startswith("s3:") for a in as_list(s["Action"]))
    ]
    # presigned GETs of the version start checked (versionId: GetObjectVersion) or of the key; the
    # stored request of each attempt, under requests/ only
    assert [as_list(s["Action"]) for s in s3] == [["s3:GetObject", "s3:GetObjectVersion"],
                                                  ["s3:GetObject", "s3:PutObject"]]
    assert render(s3[0]["Resource"]).endswith('"/uploads/*"]]}')
    assert render(s3[1]["Resource"]).endswith('"/requests/*"]]}')


def test_sync_so_queue_and_webhook_wiring(synth):
    """The org's limit and retries reach jobstore (and the limit the api's /sync/limits); submit sends
    the stack's own webhook route; the api reads only the webhook secret; api and jobstore may resume
    executions of this state machine only."""
    config = synth.stack.config
    jobstore = synth.function("jobstore")[1]["Environment"]["Variables"]
    assert jobstore["SYNC_MAX_CONCURRENT_GENERATIONS"] == str(config.sync_max_concurrent_generations)
    assert jobstore["SYNC_GENERATION_RETRIES"] == str(config.sync_generation_retries)
    api = synth.function("api")[1]["Environment"]["Variables"]
    assert api["SYNC_MAX_CONCURRENT_GENERATIONS"] == str(config.sync_max_concurrent_generations)
    webhook_url = render(synth.function("submit")[1]["Environment"]["Variables"]["WEBHOOK_URL"])
    assert synth.logical_id(synth.stack.api.http_api) in webhook_url
    assert webhook_url.endswith('/api/v1/webhooks/syncso"]]}')
    reads = [s for s in synth.function_statements("api")
             if any(a.startswith("secretsmanager:") for a in as_list(s["Action"]))]
    assert len(reads) == 1 and "SyncApiKey" not in render(reads[0]["Resource"])
    if not config.sync_webhook_secret_name:
        assert reads[0]["Resource"] == api["SYNC_WEBHOOK_SECRET_ARN"] == {
            "Ref": synth.logical_id(synth.stack.functions.webhook_secret)}
    for fn in ("api", "jobstore"):  # SendTaskSuccess has no resource-level permission: the token names the task
        [send] = [s for s in synth.function_statements(fn) if "states:SendTaskSuccess" in as_list(s["Action"])]
        states = [a for a in as_list(send["Action"]) if a.startswith("states:")]
        assert send["Resource"] == "*" and states == ["states:SendTaskSuccess"], fn
    for fn in ("submit", "poll", "download", "sweeper", "migrate"):
        assert not any(a.startswith("states:Send") for s in synth.function_statements(fn)
                       for a in as_list(s["Action"])), fn


def test_no_function_role_has_admin_style_wildcards(synth):
    for name in OUR_FUNCTIONS:
        for statement in synth.function_statements(name):
            assert not any(a == "*" or a.endswith(":*") for a in as_list(statement["Action"])), name


def test_every_function_directory_has_a_handler():
    """functions/<name>/handler.py defines lambda_handler (the asset root is the directory)."""
    for name in OUR_FUNCTIONS:
        path = REPO_ROOT / "functions" / name / "handler.py"
        assert path.is_file(), f"{path} is missing"
        tree = ast.parse(path.read_text())
        names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        names |= {
            t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
        }
        assert "lambda_handler" in names, f"{path} has no lambda_handler"
