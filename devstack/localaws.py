"""Local AWS for the workflow: moto runs the real `statemachine/pro_sync.asl.json` and every Lambda
Task calls our real handlers in-process (shared/reference/local-stepfunctions.md §2.3, §2.5).

- `patched_moto(handlers, no_sleep)`: Lambda Invoke dispatches by function name (`prosync-jobstore` ->
  `functions.jobstore.handler.lambda_handler`, ...); `no_sleep` skips moto's Wait and Retry sleeps. A
  handler's exception becomes the Python runtime's error envelope (Retry/Catch match its class name).
- `local_aws()`: the same under `mock_aws` (one process, no HTTP), yielding a `LocalAws`.
- `LocalAwsServer`: a `ThreadedMotoServer` (S3, Step Functions, Secrets Manager over HTTP) with the
  patch; sets `MOTO_PORT` and `AWS_ENDPOINT_URL` for the interpreter and the handlers; `deploy()`
  registers the ASL with local function ARNs. `python -m devstack.localaws [--port 5000]` runs one in
  the foreground, with the media bucket as `devstack.buckets` makes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from importlib import import_module
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import boto3

from devstack.buckets import create_media_bucket

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROOT = Path(__file__).resolve().parent.parent
ASL_PATH = ROOT / "statemachine" / "pro_sync.asl.json"
STATE_MACHINE_NAME = "prosync-jobs"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/prosync-workflow"
FUNCTIONS = {
    "prosync-jobstore": "functions.jobstore.handler.lambda_handler",
    "prosync-submit": "functions.submit.handler.lambda_handler",
    "prosync-poll": "functions.poll.handler.lambda_handler",
    "prosync-download": "functions.download.handler.lambda_handler",
    "prosync-textremoval": "functions.textremoval.handler.lambda_handler",
    "prosync-textremoval-chunk": "functions.textremoval.handler.lambda_handler",
    "prosync-revise": "functions.revise.handler.lambda_handler",  # issue 17
}
# The placeholders CDK fills with definition_substitutions, and the local function behind each.
SUBSTITUTIONS = {
    "JobStoreFunctionArn": "prosync-jobstore",
    "SubmitFunctionArn": "prosync-submit",
    "PollFunctionArn": "prosync-poll",
    "DownloadFunctionArn": "prosync-download",
    "TextRemovalFunctionArn": "prosync-textremoval",
    "TextRemovalChunkFunctionArn": "prosync-textremoval-chunk",
    "ReviseFunctionArn": "prosync-revise",
}
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def function_arn(name: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def local_substitutions(region: str = REGION, account: str = ACCOUNT) -> dict[str, str]:
    return {key: function_arn(name, region, account) for key, name in SUBSTITUTIONS.items()}


def load_definition(path: str | Path = ASL_PATH, substitutions: dict[str, str] | None = None) -> str:
    """The ASL text with every `${Name}` replaced (local function ARNs by default)."""
    text = Path(path).read_text()
    for key, value in (local_substitutions() if substitutions is None else substitutions).items():
        text = text.replace("${%s}" % key, value)
    if "${" in text:
        raise ValueError(f"unsubstituted placeholder left in {path}: {text[text.index('${'):][:40]}")
    return text


def import_handlers(functions: dict[str, str] | None = None) -> dict[str, Callable]:
    """{function name: callable} from {function name: "module.attr"}."""
    handlers = {}
    for name, target in (functions or FUNCTIONS).items():
        module, _, attr = target.rpartition(".")
        handlers[name] = getattr(import_module(module), attr)
    return handlers


def lambda_context(name: str, region: str = REGION, timeout_ms: int = 900_000) -> SimpleNamespace:
    deadline = time.monotonic() + timeout_ms / 1000
    return SimpleNamespace(
        function_name=name, function_version="$LATEST", invoked_function_arn=function_arn(name, region),
        memory_limit_in_mb=1024, aws_request_id=str(uuid.uuid4()), log_group_name=f"/aws/lambda/{name}",
        log_stream_name="local",
        get_remaining_time_in_millis=lambda: int((deadline - time.monotonic()) * 1000))


def _make_invoke(handlers: dict[str, Callable]):
    from moto.awslambda.exceptions import UnknownFunctionException

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        name = function_name.split(":")[6] if function_name.startswith("arn:") else function_name
        if name not in handlers:
            raise UnknownFunctionException(function_arn(name, self.region_name, self.account_id))
        event = json.loads(body or "{}")
        try:
            result = handlers[name](event, lambda_context(name, self.region_name))
        except Exception as exc:  # the Python runtime's error envelope
            response_headers["x-amz-function-error"] = "Unhandled"
            result = {"errorType": type(exc).__name__, "errorMessage": str(exc), "requestId": "",
                      "stackTrace": traceback.format_tb(exc.__traceback__)}
        return json.dumps(result).encode()

    return invoke


def _stop_like_aws():
    """Two patches so StopExecution behaves as on AWS while a `.waitForTaskToken` Task waits: moto
    lets the wait run on to its timeout, then records that late States.Timeout as the execution's
    failure (FAILED instead of ABORTED). Here a stop wakes every callback wait of the execution, and an
    error after the stop no longer replaces the stop."""
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    set_error, set_stop = Environment.set_error, Environment.set_stop

    def set_error_unless_stopped(self, error):
        if not isinstance(self.program_state(), ProgramStopped):
            set_error(self, error)

    def set_stop_and_wake_callbacks(self, stop_date, cause, error):
        set_stop(self, stop_date, cause, error)
        for endpoint in list(self.callback_pool_manager._pool.values()):
            endpoint.interrupt_all()

    return [mock.patch.object(Environment, "set_error", set_error_unless_stopped),
            mock.patch.object(Environment, "set_stop", set_stop_and_wake_callbacks)]


@contextlib.contextmanager
def patched_moto(handlers: dict[str, Callable] | None = None, no_sleep: bool = True,
                 real_waits: bool = False) -> Iterator[None]:
    """Lambda Invoke -> our handlers; StopExecution as on AWS (`_stop_like_aws`); with no_sleep, Retry
    back-off returns at once, and so do Wait states unless real_waits (a test that needs time to pass
    between two claims of a queued job, say)."""
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(LambdaSimpleBackend, "invoke",
                                              _make_invoke(handlers or import_handlers())))
        for patch in _stop_like_aws():
            stack.enter_context(patch)
        if no_sleep and not real_waits:
            stack.enter_context(mock.patch.object(wait_function.WaitFunction, "_wait_interval",
                                                  lambda self, env, wait_seconds: None))
        if no_sleep:
            no_time = SimpleNamespace(sleep=lambda seconds: None)
            stack.enter_context(mock.patch.object(retrier_decl, "time", no_time))
        yield


@contextlib.contextmanager
def _env(values: dict[str, str | None]) -> Iterator[None]:
    """Set (None: unset) environment variables for the block, then put the old values back."""
    def put(env: dict[str, str | None]) -> None:
        os.environ.update({key: value for key, value in env.items() if value is not None})
        for key in [key for key, value in env.items() if value is None]:
            os.environ.pop(key, None)

    old = {key: os.environ.get(key) for key in values}
    put(values)
    try:
        yield
    finally:
        put(old)


def _reset_runtime() -> None:
    from prosync.workflow import runtime

    runtime.reset()  # a cold start for every handler: settings and clients read the new environment


class LocalAws:
    """Clients and the workflow's state machine against one moto (in-process or server)."""

    def __init__(self, endpoint_url: str | None = None, region: str = REGION) -> None:
        self.endpoint_url, self.region = endpoint_url, region

    def client(self, service: str):
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def deploy(self, name: str = STATE_MACHINE_NAME, definition: str | None = None) -> str:
        """Create the state machine from the real ASL file (local ARNs); its ARN."""
        sfn = self.client("stepfunctions")
        return sfn.create_state_machine(name=name, definition=definition or load_definition(),
                                        roleArn=ROLE_ARN, type="STANDARD")["stateMachineArn"]

    def start_execution(self, state_machine_arn: str, job_id: str, name: str | None = None) -> str:
        """Start an execution as the API does: name = job id, input {"jobId"}."""
        answer = self.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=name or job_id, input=json.dumps({"jobId": job_id}))
        return answer["executionArn"]

    def wait_execution(self, execution_arn: str, timeout: float = 60.0,
                       interval: float = 0.02) -> dict[str, Any]:
        """describe_execution once the execution has ended (TimeoutError after `timeout` seconds)."""
        sfn, deadline = self.client("stepfunctions"), time.monotonic() + timeout
        while True:
            description = sfn.describe_execution(executionArn=execution_arn)
            if description["status"] in TERMINAL:
                return description
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still {description['status']} after {timeout} s")
            time.sleep(interval)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn, events, token = self.client("stepfunctions"), [], None
        while True:
            page = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000,
                                             **({"nextToken": token} if token else {}))
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return events


def state_names(events: list[dict[str, Any]]) -> list[str]:
    """The states an execution entered, in order."""
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


@contextlib.contextmanager
def local_aws(handlers: dict[str, Callable] | None = None, no_sleep: bool = True,
              region: str = REGION) -> Iterator[LocalAws]:
    """In-process moto (`mock_aws`) running the real ASL with our handlers; no HTTP anywhere."""
    from moto import mock_aws

    env = {"AWS_DEFAULT_REGION": region, "AWS_REGION": region, "AWS_ENDPOINT_URL": None}
    with _env(env), mock_aws(config=MOTO_CONFIG), patched_moto(handlers, no_sleep):
        _reset_runtime()
        try:
            yield LocalAws(region=region)
        finally:
            _reset_runtime()


class LocalAwsServer(LocalAws):
    """moto over HTTP in this process (S3, Step Functions, Secrets Manager) running our handlers.

    `start()` sets MOTO_PORT (the interpreter calls Lambda at localhost:$MOTO_PORT), AWS_ENDPOINT_URL,
    dummy credentials and the region for the handlers' boto3 clients; `stop()` puts them back.
    Presigned URLs point at the server, so other processes (the Sync.so emulator) can fetch them.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, handlers: dict[str, Callable] | None = None,
                 no_sleep: bool = False, region: str = REGION, real_waits: bool = False) -> None:
        super().__init__(None, region)
        self.host, self.port, self.handlers, self.no_sleep = host, port, handlers, no_sleep
        self.real_waits = real_waits
        self._stack: contextlib.ExitStack | None = None

    def start(self) -> LocalAwsServer:
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        _check_port_free(self.host, self.port)  # moto's start() waits for ever when its bind fails
        with contextlib.ExitStack() as stack:  # a failure below undoes what was set up so far
            stack.enter_context(mock.patch.dict(default_user_config, {**default_user_config, **MOTO_CONFIG}))
            stack.enter_context(patched_moto(self.handlers, self.no_sleep, self.real_waits))
            server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
            server.start()
            stack.callback(server.stop)
            self.port = server.get_host_and_port()[1]
            self.endpoint_url = f"http://{self.host}:{self.port}"
            stack.enter_context(_env({
                "MOTO_PORT": str(self.port), "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": None,
                "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}))
            stack.callback(_reset_runtime)
            _reset_runtime()
            self._stack = stack.pop_all()
        return self

    def stop(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    def reset(self) -> None:
        """Forget every bucket, state machine and execution (moto's /moto-api/reset), and cold-start."""
        from urllib.request import Request, urlopen

        urlopen(Request(f"{self.endpoint_url}/moto-api/reset", method="POST")).close()
        _reset_runtime()

    def __enter__(self) -> LocalAwsServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _check_port_free(host: str, port: int) -> None:
    """OSError now when `port` (0: any) cannot be bound on `host`."""
    if port:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server's own bind
            probe.bind((host, port))


def main(argv: list[str] | None = None) -> None:
    """Run a local AWS with the workflow deployed until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m devstack.localaws", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--bucket", default=os.environ.get("MEDIA_BUCKET", "prosync-media"))
    args = parser.parse_args(argv)
    with LocalAwsServer(args.host, args.port) as server:
        create_media_bucket(server.client("s3"), args.bucket)
        arn = server.deploy()
        print(f"moto at {server.endpoint_url}; bucket {args.bucket}; state machine {arn}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
