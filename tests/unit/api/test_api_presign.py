"""Presigned POST policy (decoded: S3 checks it, moto does not), server-made keys, presigned GET."""

import base64
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prosync.storage.presign import (
    audio_slot, presign_download, presign_upload, upload_key, user_segment, video_slot)

JOB = UUID("0f8b3c52-9a4e-4a53-8f55-2b8c1d2f9e10")


def policy_of(target) -> dict:
    return json.loads(base64.b64decode(target.fields["policy"]))


def test_policy_pins_key_type_and_size(fake_aws):
    key = upload_key("user-1", JOB, video_slot(), "talk.mp4")
    before = datetime.now(UTC)
    target = presign_upload(bucket="media", key=key, content_type="video/mp4", max_bytes=10_485_760,
                            expires_in=900)
    policy = policy_of(target)
    conditions = policy["conditions"]
    assert key == f"uploads/user-1/{JOB}/video.mp4" == target.key == target.fields["key"]
    assert {"key": key} in conditions and {"bucket": "media"} in conditions
    assert {"Content-Type": "video/mp4"} in conditions and target.fields["Content-Type"] == "video/mp4"
    assert ["content-length-range", 1, 10_485_760] in conditions
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert 0 < (expiration - before).total_seconds() <= 900 + 1
    assert abs((target.expires_at - expiration).total_seconds()) < 2


def test_expiry_never_exceeds_15_minutes(fake_aws):
    target = presign_upload(bucket="media", key="uploads/u/k", content_type="audio/wav", max_bytes=5,
                            expires_in=7 * 24 * 3600)
    expiration = datetime.fromisoformat(policy_of(target)["expiration"].replace("Z", "+00:00"))
    assert (expiration - datetime.now(UTC)).total_seconds() <= 900


def test_max_bytes_must_be_positive(fake_aws):
    with pytest.raises(ValueError):
        presign_upload(bucket="media", key="k", content_type="audio/wav", max_bytes=0, expires_in=60)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(max_size=1024), st.sampled_from(
    ["../../etc/passwd.mp4", "..\\..\\x.wav", "a/b/c.mp4", "\u202egnp.exe.mp4", "x" * 1024 + ".mp3",
     "name.MP4", "video", ".", "..", "%2e%2e%2f.mp4", "a\x00b.wav"])))
def test_hostile_file_names_never_change_the_key(file_name):
    key = upload_key("user-1", JOB, audio_slot("intro"), file_name)
    prefix = f"uploads/user-1/{JOB}/audio-intro"
    assert key.startswith(prefix)
    assert key[len(prefix):] in {"", ".mp4", ".mov", ".m4a", ".webm", ".avi", ".wav", ".mp3", ".ogg", ".flac",
                                 ".aac"}


@pytest.mark.parametrize("sub", ["../../x", "a/b", "", "ü", "a" * 200, ".."])
def test_odd_user_ids_are_hashed_into_one_segment(sub):
    segment = user_segment(sub)
    assert "/" not in segment and segment not in {".", ".."} and segment.startswith("h-")
    assert user_segment(sub) == segment  # stable: a user's uploads stay under one prefix


def test_plain_user_ids_are_kept():
    assert user_segment("auth0|abc-123") == "auth0|abc-123"
    assert user_segment(str(JOB)) == str(JOB)


def test_audio_slot_refuses_unsafe_ref_ids():
    assert audio_slot("intro_2") == "audio-intro_2"
    with pytest.raises(ValueError):
        audio_slot("../x")


def test_presigned_get_names_the_download(fake_aws):
    url = presign_download(bucket="media", key=f"results/{uuid4()}/talk.mp4", expires_in=3600,
                           download_name="talk_dubbed.mp4")
    query = parse_qs(urlparse(url).query)
    assert query["response-content-disposition"] == ['attachment; filename="talk_dubbed.mp4"']
    assert query["X-Amz-Expires"] == ["3600"]
