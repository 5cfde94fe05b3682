"""sweeper Lambda (in the VPC; EventBridge every 15 minutes, not part of the state machine): expire
jobs whose uploads never came and fail jobs whose execution is missing or over (`prosync.jobs.sweep`).

Answer: the run's counts. A run that could not check or clean up some jobs raises `SweepIncomplete`
after doing the rest (the Errors alarm fires; the next run tries them again).
"""

from aws_lambda_powertools import Logger, Tracer

from prosync import aws
from prosync.db.connection import get_connection, per_invocation
from prosync.db.repository import JobRepository
from prosync.jobs import sweep
from prosync.settings import SweeperSettings
from prosync.workflow import runtime

logger = Logger(service="prosync-sweeper")
tracer = Tracer(service="prosync-sweeper", patch_modules=("botocore",))  # patching all would import every supported library (X-Ray cannot patch psycopg 3 without psycopg_pool)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@per_invocation  # one connection per in-flight invocation, given back at its end
def lambda_handler(event, context):
    settings = runtime.settings(SweeperSettings)
    counts = sweep.run(JobRepository(get_connection(settings)), settings, aws.client("stepfunctions"),
                       aws.client("s3"))
    logger.info("sweep done", extra=counts)
    return counts
