"""revise Lambda (outside the VPC, no database; issue 17): cut a revision's clip from the parent's
result, and splice the generation back into it (`prosync.revisions.steps`)."""

import logging
import os

from prosync.revisions import steps

logger = logging.getLogger("prosync.revise")
logger.setLevel(logging.INFO)


def s3_client():
    """Whole-object GETs of results written by multipart upload: checksums validated only when
    required (as the text removal Lambda reads them)."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(response_checksum_validation="when_required",
                                            retries={"mode": "standard"}))


def lambda_handler(event, context):
    logger.info("revision %s of job %s", event.get("action"), event.get("jobId"))
    answer = steps.handle(event, s3_client(), os.environ["MEDIA_BUCKET"])
    logger.info("revision %s done: %s", event.get("action"), {k: v for k, v in answer.items() if k != "segments"})
    return answer
