"""Lazily created, cached boto3 clients (cold starts pay only for the clients a function uses).

boto3 honours AWS_ENDPOINT_URL itself, so the same code talks to moto locally.
"""

import os
import threading
from functools import cache

import boto3
from botocore.config import Config

_lock = threading.Lock()


@cache
def _client(service: str, signature_version: str | None):
    if service == "s3":
        # Virtual-hosted URLs on AWS (no 307 redirect for browsers); path style against a local endpoint.
        style = "path" if os.environ.get("AWS_ENDPOINT_URL") else "virtual"
        config = Config(signature_version=signature_version, s3={"addressing_style": style})
    else:
        config = Config(retries={"mode": "standard"})
    with _lock:  # boto3's default session is not thread-safe while creating clients
        return boto3.client(service, config=config)


def client(service: str):
    return _client(service, "s3v4" if service == "s3" else None)


def media_s3_client():
    """S3 for the media Lambdas (text removal, revise), made per invocation (one per video step: cheap
    beside it). Whole-object GETs of results written by multipart upload carry a composite checksum
    the SDK cannot check against the body (moto reports a whole-object one that differs): validated
    only when required, as ranged reads are."""
    config = Config(response_checksum_validation="when_required", retries={"mode": "standard"})
    with _lock:  # boto3's default session is not thread-safe while creating clients
        return boto3.client("s3", config=config)


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints between moto instances)."""
    _client.cache_clear()
