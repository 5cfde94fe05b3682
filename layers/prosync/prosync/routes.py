"""The HTTP API's routes: one table used by the CDK stack (API Gateway routes and which need a JWT),
the local gateway (route matching, 404s) and the api handler (the prefix).

Pure data on purpose: importing it costs nothing and pulls in no AWS or CDK code.
"""

PREFIX = "/api/v1"
PUBLIC_ROUTES = [("GET", "/health"), ("GET", "/swagger"), ("GET", "/openapi.json"),
                 ("POST", "/webhooks/syncso")]  # Sync.so's webhook: no JWT, its Sync-Signature is checked
WEBHOOK_PATH = "/webhooks/syncso"
PROTECTED_ROUTES = [
    ("POST", "/sync/pro-sync-process"),
    ("POST", "/sync/pro-job/{job_id}/start"),
    ("POST", "/sync/pro-job/{job_id}/edit"),
    ("POST", "/sync/pro-job/{job_id}/revise"),  # issue 17
    ("GET", "/sync/pro-job/{job_id}/status"),
    ("GET", "/sync/pro-jobs"),
    ("POST", "/sync/pro-job/{job_id}/cancel"),
    ("GET", "/sync/limits"),
]
# Client webhooks (issue 14): the caller's endpoints, their delivery log, redelivery
PROTECTED_ROUTES += [
    ("POST", "/webhooks/endpoints"),
    ("GET", "/webhooks/endpoints"),
    ("GET", "/webhooks/endpoints/{endpoint_id}"),
    ("PATCH", "/webhooks/endpoints/{endpoint_id}"),
    ("DELETE", "/webhooks/endpoints/{endpoint_id}"),
    ("POST", "/webhooks/endpoints/{endpoint_id}/rotate-secret"),
    ("GET", "/webhooks/endpoints/{endpoint_id}/deliveries"),
    ("POST", "/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver"),
]
