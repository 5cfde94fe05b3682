"""textremoval Lambda (outside the VPC, no database): plan, clean a chunk, join, clean up.

Event `{action, jobId, ...}` (`prosync.textremoval.steps`). On AWS two functions run this code: the
one for plan/join/cleanup (with the text detector) and the chunk worker of the Map (with OpenCV),
each with the layer its dependencies fit in (docs/TEXT_REMOVAL.md).
"""

import logging

from prosync import aws
from prosync.textremoval import steps
from prosync.workflow import runtime

logger = logging.getLogger("prosync.textremoval")
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    """Plain logging: the text-removal layers hold PyAV, OpenCV/onnxruntime and numpy, and no room is
    left for Powertools within Lambda's 250 MB (infra/text_removal.py)."""
    settings = runtime.settings(steps.TextRemovalSettings)
    logger.info("text removal %s of job %s", event.get("action"), event.get("jobId"))
    answer = steps.handle(event, settings, aws.media_s3_client())
    logger.info("text removal %s done: %s", event.get("action"), answer)
    return answer
