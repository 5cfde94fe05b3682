"""download Lambda (outside the VPC, no database): stream Sync.so's output into S3 results/.

Event: `{jobId, generationId, outputUrl, outputDuration, outputFileName}`; answer
`{resultKey, size, duration}` (`prosync.workflow.download`). `{action: "abort", jobId,
outputFileName}` (the failure path) aborts the result's in-progress multipart uploads.
"""

from aws_lambda_powertools import Logger, Tracer

from prosync import aws
from prosync.settings import DownloadSettings
from prosync.workflow import download, runtime

logger = Logger(service="prosync-download")
tracer = Tracer(service="prosync-download", patch_modules=("botocore", "httpx"))  # only what it uses: patching all imports every supported library


@logger.inject_lambda_context(correlation_id_path="jobId", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    settings = runtime.settings(DownloadSettings)
    if event.get("action") == "abort":  # the failure path: drop the upload a last retry kept
        return download.abort_partial(event, settings, aws.client("s3"))
    http = download.output_client(settings)  # output URLs only ever go through the address guard
    return download.download(event, settings, aws.client("s3"), http, lambda: runtime.sync_client(settings))
