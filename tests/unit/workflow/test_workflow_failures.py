"""What the failure path stores from a Catch's {Error, Cause}, and the multipart writer's bounds."""

import json

import boto3
import pytest
from moto import mock_aws

from prosync.storage.multipart import MIB, EmptyUpload, MultipartUpload, upload_stream
from prosync.syncso import SyncApiTransient
from prosync.workflow.errors import JobCanceled
from prosync.workflow.jobstore import describe_failure


def _envelope(exc: Exception) -> dict:
    """A Catch's $.error for a Lambda that raised `exc` (the Python runtime's envelope as Cause)."""
    cause = {"errorType": type(exc).__name__, "errorMessage": str(exc), "requestId": "r",
             "stackTrace": ["..."]}
    return {"Error": type(exc).__name__, "Cause": json.dumps(cause)}


def test_sync_errors_keep_syncs_code_and_message():
    error = _envelope(SyncApiTransient(503, "service_unavailable", "maintenance window"))
    assert describe_failure(error) == ("SyncApiTransient", "service_unavailable", "maintenance window")


def test_our_workflow_errors_keep_their_code():
    assert describe_failure(_envelope(JobCanceled("gone")))[1:] == ("job_canceled", "gone")


def test_a_bug_keeps_the_exception_name_as_code_and_no_stack_trace():
    assert describe_failure(_envelope(KeyError("video"))) == ("KeyError", "KeyError", "KeyError: 'video'")


def test_pass_state_errors_and_service_errors():
    cause = json.dumps({"code": "deadline_exceeded", "message": "too slow"})
    assert describe_failure({"Error": "DeadlineExceeded", "Cause": cause}) == (
        "DeadlineExceeded", "deadline_exceeded", "too slow")
    assert describe_failure({"Error": "States.Timeout"}) == ("States.Timeout",) * 3
    assert describe_failure({"Error": "Lambda.ServiceException", "Cause": "Rate exceeded"}) == (
        "Lambda.ServiceException", "Lambda.ServiceException", "Lambda.ServiceException: Rate exceeded")
    assert describe_failure(None)[0] == "UnknownError"


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="unit-bucket")
        yield client


def test_parts_are_exactly_part_size_and_memory_stays_at_one_part(s3):
    chunks = (bytes([n % 251]) * 300_000 for n in range(40))  # 12,000,000 bytes in 300 kB chunks
    with MultipartUpload(s3, "unit-bucket", "k", part_size=5 * MIB) as upload:
        for chunk in chunks:
            upload.write(chunk)
            assert len(upload._buffer) < 5 * MIB  # never more than one part held
        result = upload.complete()
    assert (result.size, result.parts) == (12_000_000, 3)
    assert s3.head_object(Bucket="unit-bucket", Key="k")["ContentLength"] == 12_000_000


def test_a_failing_source_aborts_the_upload(s3):
    def source():
        yield b"x" * (6 * MIB)  # one part goes up
        raise ConnectionError("peer went away")

    with pytest.raises(ConnectionError):
        upload_stream(s3, "unit-bucket", "k", source(), part_size=5 * MIB)
    assert s3.list_multipart_uploads(Bucket="unit-bucket").get("Uploads", []) == []
    assert s3.list_objects_v2(Bucket="unit-bucket").get("KeyCount") == 0


def test_an_empty_source_is_an_error_not_an_empty_object(s3):
    with pytest.raises(EmptyUpload):
        upload_stream(s3, "unit-bucket", "k", iter([]), part_size=5 * MIB)
    assert s3.list_multipart_uploads(Bucket="unit-bucket").get("Uploads", []) == []
