"""The local AWS harness fails fast and leaves nothing patched when its moto server cannot start."""

import os
import socket
import threading

from devstack.localaws import LocalAwsServer


def test_a_busy_port_fails_at_once_and_leaves_moto_unpatched():
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.core.config import default_user_config

    invoke, config = LambdaSimpleBackend.invoke, dict(default_user_config)
    env = {k: os.environ.get(k) for k in ("MOTO_PORT", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID")}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        outcome: list = []

        def start():
            try:
                LocalAwsServer(port=port).start()
                outcome.append("started")
            except OSError as exc:
                outcome.append(exc)

        thread = threading.Thread(target=start, daemon=True)
        thread.start()
        thread.join(timeout=10)  # moto's ThreadedMotoServer.start() waited for ever on a failed bind
    assert outcome and isinstance(outcome[0], OSError), outcome
    assert LambdaSimpleBackend.invoke is invoke and dict(default_user_config) == config
    assert {k: os.environ.get(k) for k in env} == env
