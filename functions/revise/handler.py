"""revise Lambda (outside the VPC, no database; issue 17): cut a revision's clip from the parent's
result, and splice the generation back into it (`prosync.revisions.steps`)."""

import logging
import os

from prosync import aws
from prosync.revisions import steps

logger = logging.getLogger("prosync.revise")
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    logger.info("revision %s of job %s", event.get("action"), event.get("jobId"))
    answer = steps.handle(event, aws.media_s3_client(), os.environ["MEDIA_BUCKET"])
    logger.info("revision %s done: %s", event.get("action"), {k: v for k, v in answer.items() if k != "segments"})
    return answer
