"""jobstore Lambda (in the VPC): every database write of the workflow, one action per step.

Event: `{"action": ..., "jobId": ..., ...}`; see `prosync.workflow.jobstore` for the actions.
"""

from aws_lambda_powertools import Logger, Tracer

from prosync.db.connection import per_invocation
from prosync.settings import JobStoreSettings
from prosync.workflow import jobstore, runtime

logger = Logger(service="prosync-jobstore")
tracer = Tracer(service="prosync-jobstore", patch_modules=("botocore",))  # patching all would import every supported library (X-Ray cannot patch psycopg 3 without psycopg_pool)


@logger.inject_lambda_context(correlation_id_path="jobId", clear_state=True)
@tracer.capture_lambda_handler
@per_invocation  # one connection per in-flight invocation, given back at its end
def lambda_handler(event, context):
    return jobstore.handle(event, runtime.settings(JobStoreSettings))
