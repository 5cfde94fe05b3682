"""HTTP API Lambda (API Gateway HTTP API v2, JWT authorizer): routes, the caller, errors.

The routes only turn events into the use cases' arguments (`prosync.api`) and their answers into
responses; every error becomes the one error body here, in one place. The caller is the JWT's
`sub`/`email` (claims put there by the authorizer); no claims -> 401. `/health`, `/api/v1/health` and
`/api/v1/swagger` (Swagger UI; `?format=json` or `/api/v1/openapi.json` give the OpenAPI document) need no caller.

Imports only `prosync.*`, Powertools and the standard library: this file is `handler.lambda_handler`
on Lambda and `functions.api.handler` in tests and the local stack.
"""

import base64
import json
import os
import warnings
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType, RequestValidationError)
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from prosync import api
from prosync.api.body import body_text, form_content_type, nesting_exceeds
from prosync.api import examples
from prosync.api.common import DATABASE_UNAVAILABLE
from prosync.db.connection import get_connection, per_invocation
from prosync.db.repository import JobRepository
from prosync.errors import ProSyncError, Unauthorized
from prosync.jobs.status import JobStatus
from prosync.models import (
    HealthResponse, JobList, LimitsResponse, ProSyncProcessRequest, ProSyncProcessResponse, SegmentJobStatus,
    SegmentValidationError)
from prosync.revisions import api as revisions_api
from prosync.revisions.api import ProJobReviseRequest, ProJobReviseResponse
from prosync.routes import PREFIX, WEBHOOK_PATH
from prosync.settings import WorkflowTimingSettings, api_settings
from prosync.webhooks import routes as webhook_routes

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "prosync-api")
logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE, patch_modules=("botocore",))  # patching all would import every supported library (X-Ray cannot patch psycopg 3 without psycopg_pool)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ProSync"), service=SERVICE)
app = APIGatewayHttpResolver(enable_validation=True)
warnings.filterwarnings("ignore", message="No application metrics to publish")  # most requests add none
router = Router()

OPENAPI: dict[str, Any] = {
    "title": "ProSync API",
    "version": "1.0.0",
    "description": "Segment-based lip-sync jobs: create a job, upload its files with the presigned POSTs, "
                   "start it, poll its status, download the result. Errors always have the body "
                   '`{"error": {"code", "message", "details": [{"loc", "msg"}]}}`.',
    "security_schemes": {"bearerAuth": HTTPBearer(bearerFormat="JWT")},
    "servers": [Server(url="/")],
}
AUTH = [{"bearerAuth": []}]


def _errors(*codes: int, ok: tuple[int, str] | None = None) -> dict[int, dict]:
    """OpenAPI entries of the error answers a route may give (all with the one error body), and of its
    success `ok` = (status, description), whose schema is the route's return annotation."""
    text = {400: "malformed JSON", 401: "no or invalid token", 403: "free tier",
            404: "no such job (or not yours)", 409: "illegal state change",
            413: "a file is larger than allowed", 415: "not JSON",
            422: "invalid request", 429: "too many active jobs (or, at create, jobs awaiting uploads)", 503: "a dependency is unavailable; retry"}
    body = {"application/json": {"model": SegmentValidationError}}
    answers = {ok[0]: {"description": ok[1]}} if ok else {}
    return answers | {code: {"description": text[code], "content": body} for code in codes}


# -- the caller and the job store ----------------------------------------------------------------

PUBLIC_PATHS = ("/health", "/swagger", "/openapi.json", WEBHOOK_PATH)  # (also under the prefix and a stage): no caller needed


def caller_of(event: dict) -> api.Caller | None:
    """The caller from the JWT authorizer's claims (`sub`, `email`), or None."""
    context = event.get("requestContext") or {}
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str) or not sub.strip():
        return None
    email = claims.get("email")
    return api.Caller(user_id=sub, email=email if isinstance(email, str) else None)


def caller() -> api.Caller:
    """The authenticated caller of the current request; none -> 401."""
    found = caller_of(app.current_event.raw_event)
    if found is None:
        raise Unauthorized("a valid bearer token is required")
    return found


def repo() -> JobRepository:
    """The job store on the container's connection (reconnects when the last one dropped)."""
    return JobRepository(get_connection(api_settings()))


# -- routes --------------------------------------------------------------------------------------

@router.post("/sync/pro-sync-process", status_code=201, summary="Create a job and get its upload URLs",
             tags=["jobs"], security=AUTH, responses=_errors(400, 401, 403, 413, 415, 422, 429,
             ok=(201, "created, awaiting its uploads: one presigned POST per file")))
def create_job(
    request: Annotated[ProSyncProcessRequest, Body(openapi_examples=examples.CREATE)],
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", description="a retry with the same key returns the same job")] = None,
) -> ProSyncProcessResponse:
    user = caller()
    answer = api.create_job(user, request, repo=repo(), settings=api_settings(),
                            idempotency_key=idempotency_key)
    logger.append_keys(job_id=str(answer.job_id))
    metrics.add_metric(name="JobsCreated", unit=MetricUnit.Count, value=1)
    return answer


@router.post("/sync/pro-job/<job_id>/start", status_code=202, summary="Check the uploads and start the job",
             tags=["jobs"], security=AUTH, responses=_errors(401, 403, 404, 413, 422, 429, 503,
             ok=(202, "started (or already running): the job's status")))
def start_job(job_id: UUID) -> SegmentJobStatus:
    user = caller()
    logger.append_keys(job_id=str(job_id))
    answer = api.start_job(user, job_id, repo=repo(), settings=api_settings())
    metrics.add_metric(name="JobStarts", unit=MetricUnit.Count, value=1)
    return answer


@router.post("/sync/pro-job/<job_id>/edit", status_code=200,
             summary="Change the segments and options of a job awaiting its uploads",
             description="Validated exactly as create; the files stay those declared at create, so a "
                         "refused start is fixed without uploading them again. 409 once the job has left "
                         "`awaiting_upload`.",
             tags=["jobs"], security=AUTH, responses=_errors(400, 401, 403, 404, 409, 413, 415, 422,
             ok=(200, "changed: the job's status with its new segments")))
def edit_job(
    job_id: UUID, request: Annotated[api.ProJobEditRequest, Body(openapi_examples=examples.EDIT)],
) -> SegmentJobStatus:
    user = caller()
    logger.append_keys(job_id=str(job_id))
    return api.edit_job(user, job_id, request, repo=repo(), settings=api_settings())


@router.post("/sync/pro-job/<job_id>/revise", status_code=201,
             summary="Revise a completed job: re-do only the changed segments",
             description="The revised job's segments (unchanged ones as they were) and the new audios (one "
                         "presigned POST each, as at create); a new job linked to its parent "
                         "(`parentJobId`) that sends Sync.so only the changed ranges and splices them into "
                         "the parent's result. 409 unless the parent completed; 422 when nothing changed. "
                         "Start it with `/start` once its new audios are uploaded.",
             tags=["jobs"], security=AUTH, responses=_errors(400, 401, 403, 404, 409, 413, 415, 422, 429,
             ok=(201, "the revision, awaiting its uploads")))
def revise_job(
    job_id: UUID, request: ProJobReviseRequest,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", description="a retry with the same key returns the same revision")] = None,
) -> ProJobReviseResponse:
    user = caller()
    logger.append_keys(job_id=str(job_id))
    answer = revisions_api.revise_job(user, job_id, request, repo=repo(), settings=api_settings(),
                                      idempotency_key=idempotency_key)
    metrics.add_metric(name="JobsRevised", unit=MetricUnit.Count, value=1)
    return answer


@router.get("/sync/pro-job/<job_id>/status", summary="A job's status (result URL once completed)",
            tags=["jobs"], security=AUTH, responses=_errors(401, 404, 422, ok=(200, "the job's status")))
def job_status(job_id: UUID) -> SegmentJobStatus:
    user = caller()
    logger.append_keys(job_id=str(job_id))
    return api.get_status(user, job_id, repo=repo(), settings=api_settings())


@router.get("/sync/pro-jobs", summary="The caller's jobs, newest first", tags=["jobs"], security=AUTH,
            responses=_errors(401, 422, ok=(200, "a page of jobs")))
def list_jobs(
    limit: Annotated[int, Query(ge=1, le=100, description="jobs per page")] = 20,
    status: Annotated[JobStatus | None, Query(description="only jobs in this status")] = None,
    cursor: Annotated[str | None, Query(max_length=512, description="`nextCursor` of the last page")] = None,
) -> JobList:
    user = caller()
    return api.list_jobs(user, repo=repo(), settings=api_settings(), limit=limit, status=status,
                         cursor=cursor)


@router.post("/sync/pro-job/<job_id>/cancel", status_code=202, summary="Cancel a job and stop its execution",
             tags=["jobs"], security=AUTH, responses=_errors(401, 404, 409, 422,
             ok=(202, "canceled: the job's status")))
def cancel_job(job_id: UUID) -> SegmentJobStatus:
    user = caller()
    logger.append_keys(job_id=str(job_id))
    answer = api.cancel_job(user, job_id, repo=repo(), settings=api_settings())
    metrics.add_metric(name="JobsCanceled", unit=MetricUnit.Count, value=1)
    return answer


@router.get("/sync/limits", summary="The caller's tier and limits", tags=["account"], security=AUTH,
            responses=_errors(401, ok=(200, "the tier, its limits and the jobs counted against them")))
def limits() -> LimitsResponse:
    return api.get_limits(caller(), repo=repo(), settings=api_settings())


@router.post(WEBHOOK_PATH, summary="Sync.so's generation webhook (no bearer token: Sync-Signature is checked)",
             tags=["webhooks"], responses={
                 200: {"description": "taken: `action` says what it did (woke, filed, progress, stale, ignored)"},
                 **_errors(400, 401, 503)})
def syncso_webhook():  # no return annotation: the answer is built here, not modelled
    """Verify `Sync-Signature` over the raw body; resume the execution waiting on that generation."""
    from botocore.exceptions import BotoCoreError, ClientError

    from prosync.syncso.webhooks import WebhookPayloadInvalid, WebhookSignatureInvalid
    from prosync.workflow import callback

    event = app.current_event
    raw = base64.b64decode(event.body or "") if event.is_base64_encoded else (event.body or "").encode()
    now = datetime.now(UTC)
    try:  # the signature first: an unsigned request costs no database connection
        generation = callback.verified(raw, event.headers.get("sync-signature"), api_settings(), now)
        answer = callback.receive_webhook(generation, raw, repo=repo(), timing=_timing(), now=now)
    except WebhookSignatureInvalid as exc:
        logger.warning("webhook refused", extra={"reason": exc.reason})
        metrics.add_metric(name="WebhooksRefused", unit=MetricUnit.Count, value=1)
        return _error(401, "invalid_signature", "the Sync-Signature header does not sign this body")
    except WebhookPayloadInvalid as exc:
        return _error(400, "invalid_payload", str(exc)[:500])
    except (BotoCoreError, ClientError) as exc:  # Step Functions unreachable: the poll fallback still runs
        logger.warning("webhook: SendTaskSuccess failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        return _error(503, "workflow_unavailable", "could not resume the job's workflow; retry")
    metrics.add_metric(name=f"Webhooks{answer['action'].capitalize()}", unit=MetricUnit.Count, value=1)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=answer)


_timing = cache(WorkflowTimingSettings)  # how a webhook's poll state is advanced (deadline, schedule)


@router.get("/health", summary="Liveness", tags=["health"])
def health() -> HealthResponse:
    return HealthResponse()


app.include_router(router, prefix=PREFIX)
app.include_router(webhook_routes.router, prefix=PREFIX)  # client webhooks (prosync.webhooks)
app.get("/health", include_in_schema=False)(health)
app.enable_swagger(path=f"{PREFIX}/swagger", **OPENAPI)


def openapi_json() -> str:
    """The OpenAPI document (what `/swagger?format=json` serves; `make openapi` writes it to docs/)."""
    return app.get_openapi_json_schema(**OPENAPI)


@app.get(f"{PREFIX}/openapi.json", include_in_schema=False)
def openapi_document():  # no return annotation: Powertools would model it
    """The OpenAPI document at the route the HTTP API leaves public for client generators."""
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_json())


# -- errors: every failure becomes the one error body, here ----------------------------------------

def _error(status: int, code: str, message: str, details: list | None = None,
           headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, headers=headers,
                    body={"error": {"code": code, "message": message, "details": details or []}})


@app.exception_handler(ProSyncError)
def _domain_error(exc: ProSyncError) -> Response:
    if exc.status >= 500:
        cause = exc.__cause__
        logger.warning("unavailable", extra={"code": exc.code, "error": exc.message,
                                             "cause": f"{type(cause).__name__}: {cause}" if cause else None})
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return _error(exc.status, exc.code, exc.message, exc.details, headers)


@app.exception_handler(RequestValidationError)
def _request_invalid(exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return _error(400, "invalid_json", "the request body is not valid JSON")
    details = [{"loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "invalid"))} for e in errors]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    message = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}" if first["loc"] else first["msg"]
    return _error(422, "validation_failed", message, details)


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_type(exc: RequestUnsupportedContentType) -> Response:
    return _error(415, "unsupported_media_type", "send the request body as application/json")


@app.exception_handler(ServiceError)
def _service_error(exc: ServiceError) -> Response:  # Powertools' own (404 for an unknown route...)
    code = "not_found" if exc.status_code == 404 else "error"
    return _error(exc.status_code, code, exc.msg if exc.status_code != 404 else "no such route")


@app.exception_handler(list(DATABASE_UNAVAILABLE))
def _database_unavailable(exc: Exception) -> Response:
    logger.warning("database unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
    metrics.add_metric(name="DatabaseUnavailable", unit=MetricUnit.Count, value=1)
    return _error(503, "database_unavailable", "the job store is unavailable; retry shortly")


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    logger.exception("unhandled error")
    metrics.add_metric(name="UnhandledErrors", unit=MetricUnit.Count, value=1)
    return _error(500, "internal_error", "internal error; try again later")


def _refused_unparsed(status: int, code: str, message: str) -> dict:
    """An error answer given before the request is parsed (the one error body, as API Gateway wants it)."""
    body = json.dumps({"error": {"code": code, "message": message, "details": []}}, separators=(",", ":"))
    return {"statusCode": status, "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": body, "isBase64Encoded": False}


def _body_bytes(event: dict) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode("utf-8", "surrogatepass"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@per_invocation  # one connection per in-flight invocation, given back at its end
def lambda_handler(event: dict, context: Any) -> dict:
    path = ((event.get("requestContext") or {}).get("http") or {}).get("path") or event.get("rawPath") or ""
    if caller_of(event) is None and not path.rstrip("/").endswith(PUBLIC_PATHS):
        # before the request is even parsed: an anonymous caller learns nothing about its payload
        return _refused_unparsed(401, "unauthorized", "a valid bearer token is required")
    limit = api_settings().max_body_bytes
    if _body_bytes(event) > limit:
        # never parsed: a huge invalid body would make an error answer over Lambda's 6 MB limit
        return _refused_unparsed(413, "payload_too_large", f"the request body is larger than {limit} bytes")
    if form_content_type(event):  # Powertools would parse it (a multipart type without boundary: 500)
        return _refused_unparsed(415, "unsupported_media_type", "send the request body as application/json")
    depth = api_settings().max_json_depth
    if event.get("body") and nesting_exceeds(body_text(event), depth):
        # json.loads recurses: 5,000 `[` would be a RecursionError (500)
        return _refused_unparsed(400, "invalid_json", f"the request body nests deeper than {depth} levels")
    return app.resolve(event, context)
