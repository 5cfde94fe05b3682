"""submit Lambda (outside the VPC, no database): one Sync.so generation per attempt.

Event: the `submit` object of the jobstore's `mark_submitting` plus `attempt`; answer
`{"outcome": "created", ...}` or `{"outcome": "concurrency_limited", ...}` (`prosync.workflow.submit`).
"""

import time

from aws_lambda_powertools import Logger, Tracer

from prosync import aws
from prosync.settings import SubmitSettings
from prosync.workflow import runtime, submit

logger = Logger(service="prosync-submit")
tracer = Tracer(service="prosync-submit", patch_modules=("botocore", "httpx"))  # only what it uses: patching all imports every supported library


@logger.inject_lambda_context(correlation_id_path="jobId", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    settings = runtime.settings(SubmitSettings)
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000
    return submit.submit(event, settings, runtime.sync_client(settings), aws.client("s3"), deadline=deadline)
