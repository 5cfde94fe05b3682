"""textremoval Lambda (outside the VPC, no database): plan, clean a chunk, join, clean up.

Event `{action, jobId, ...}` (`prosync.textremoval.steps`). On AWS two functions run this code: the
one for plan/join/cleanup (with the text detector) and the chunk worker of the Map (with OpenCV),
each with the layer its dependencies fit in (docs/TEXT_REMOVAL.md).
"""

from aws_lambda_powertools import Logger

from prosync import aws
from prosync.textremoval import steps
from prosync.workflow import runtime

logger = Logger(service="prosync-textremoval")


@logger.inject_lambda_context(correlation_id_path="jobId", clear_state=True)
def lambda_handler(event, context):
    settings = runtime.settings(steps.TextRemovalSettings)
    return steps.handle(event, settings, aws.client("s3"))
