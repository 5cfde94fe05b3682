"""The range reader and the probe when the object changes under them or S3 fails: a changed object
(replaced, shorter, deleted) is `ObjectChanged`; an S3 failure stays the botocore error, never a
`MediaUnreadable` (that would blame the user's file for our storage)."""

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from prosync.media.probe import MediaUnreadable, probe_object
from prosync.storage.range_reader import ObjectChanged, S3RangeReader
from tests.unit.api.test_api_range_probe import BUCKET, media, put, s3  # noqa: F401 (fixtures)


def _etag(s3, key: str) -> str:
    return s3.head_object(Bucket=BUCKET, Key=key)["ETag"]


def test_a_replaced_object_is_noticed_by_its_etag(s3, media):
    data = media["v.mp4"].read_bytes()
    put(s3, "v.mp4", data)
    etag = _etag(s3, "v.mp4")
    put(s3, "v.mp4", data[:-1] + bytes([data[-1] ^ 1]))  # same size, other bytes
    with pytest.raises(ObjectChanged, match="v.mp4"):
        probe_object(BUCKET, "v.mp4", len(data), etag=etag)


def test_an_unchanged_object_probes_with_its_etag(s3, media):
    data = media["t.wav"].read_bytes()
    put(s3, "t.wav", data)
    assert probe_object(BUCKET, "t.wav", len(data), etag=_etag(s3, "t.wav")).has_audio


def test_a_range_past_the_end_of_a_shrunk_object_is_a_change(s3):
    put(s3, "blob", b"x" * 10_000)
    reader = S3RangeReader(BUCKET, "blob", size=100_000, block_size=8192)
    reader.seek(50_000)
    with pytest.raises(ObjectChanged, match="blob"):
        reader.read(100)  # S3: 416 InvalidRange
    assert isinstance(reader.failure, ObjectChanged)


def test_a_short_body_is_a_change(s3):
    put(s3, "blob", b"x" * 10_000)
    reader = S3RangeReader(BUCKET, "blob", size=20_000, block_size=8192)
    with pytest.raises(ObjectChanged, match="shorter"):
        reader.read(20_000)  # S3 answers the 10,000 bytes there are


def test_a_deleted_object_is_a_change(s3, media):
    data = media["t.wav"].read_bytes()
    put(s3, "t.wav", data)
    s3.delete_object(Bucket=BUCKET, Key="t.wav")
    with pytest.raises(ObjectChanged):
        probe_object(BUCKET, "t.wav", len(data))


@pytest.mark.parametrize("code, http", [("SlowDown", 503), ("AccessDenied", 403), ("InternalError", 500)])
def test_s3_failures_while_probing_are_not_unreadable_media(s3, code, http):
    with Stubber(s3) as stub:
        stub.add_client_error("get_object", service_error_code=code, http_status_code=http)
        with pytest.raises(ClientError) as raised:
            probe_object(BUCKET, "t.wav", 50_000, s3=s3)
    assert raised.value.response["Error"]["Code"] == code
    assert not isinstance(raised.value, MediaUnreadable)


def test_a_missing_bucket_while_probing_is_an_s3_failure(s3, media):
    with pytest.raises(ClientError, match="NoSuchBucket"):
        probe_object("no-such-bucket", "t.wav", 50_000)


def _versioned(s3) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})


def test_with_its_version_id_the_checked_version_is_read_whatever_was_uploaded_since(s3, media):
    _versioned(s3)
    data = media["v.mp4"].read_bytes()
    put(s3, "v.mp4", data)
    head = s3.head_object(Bucket=BUCKET, Key="v.mp4")
    put(s3, "v.mp4", media["t.wav"].read_bytes())  # another file on the key (a re-upload)
    info = probe_object(BUCKET, "v.mp4", len(data), etag=head["ETag"], version_id=head["VersionId"])
    assert info.has_video and not info.format_name.startswith("wav")
    s3.delete_object(Bucket=BUCKET, Key="v.mp4")  # a delete marker: the version is still there
    assert probe_object(BUCKET, "v.mp4", len(data), version_id=head["VersionId"]).has_video


def test_a_version_deleted_for_good_is_a_change(s3, media):
    _versioned(s3)
    data = media["t.wav"].read_bytes()
    put(s3, "t.wav", data)
    version = s3.head_object(Bucket=BUCKET, Key="t.wav")["VersionId"]
    s3.delete_object(Bucket=BUCKET, Key="t.wav", VersionId=version)
    with pytest.raises(ObjectChanged):
        probe_object(BUCKET, "t.wav", len(data), version_id=version)
