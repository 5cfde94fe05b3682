"""poll Lambda (outside the VPC, no database): one GET of the generation, and the next wait.

Event and answer: the poll state (`prosync.workflow.poll`).
"""

from aws_lambda_powertools import Logger, Tracer

from prosync.settings import PollSettings
from prosync.workflow import poll, runtime

logger = Logger(service="prosync-poll")
tracer = Tracer(service="prosync-poll", patch_modules=("botocore", "httpx"))  # only what it uses: patching all imports every supported library


@logger.inject_lambda_context(correlation_id_path="generationId", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    settings = runtime.settings(PollSettings)
    return poll.check_generation(event, runtime.sync_client(settings), settings)
