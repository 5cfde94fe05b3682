"""`prosync submit`'s argument forms, and the streamed multipart body of a presigned POST."""

import pytest

from devstack.client import ApiError, build_request, multipart_body
from devstack.commands.submit import parse_audio, parse_segment


def test_segments_with_and_without_crop():
    assert parse_segment("0-2.5:intro") == {
        "startTime": 0.0,
        "endTime": 2.5,
        "audioInput": {"refId": "intro"},
    }
    assert parse_segment(" 4-6:out_ro-2@0.5-2.5 ") == {
        "startTime": 4.0,
        "endTime": 6.0,
        "audioInput": {"refId": "out_ro-2", "startTime": 0.5, "endTime": 2.5},
    }


@pytest.mark.parametrize("bad", ["0-2", "a-b:x", "0-2:", "0-2:x@1", "-1-2:x", "0-2:x y"])
def test_malformed_segments_are_refused(bad):
    with pytest.raises(ValueError, match="START-END:REF"):
        parse_segment(bad)


def test_audio_argument():
    ref, path = parse_audio("intro=media/intro.wav")
    assert ref == "intro" and str(path) == "media/intro.wav"
    with pytest.raises(ValueError):
        parse_audio("intro.wav")


def test_multipart_body_streams_fields_then_the_file_with_an_exact_length(tmp_path):
    data = bytes(range(256)) * 5000
    path = tmp_path / "talk.mp4"
    path.write_bytes(data)
    seen = []
    chunks, length, content_type = multipart_body(
        {"key": "uploads/u/j/video.mp4", "Content-Type": "video/mp4"},
        path,
        "video/mp4",
        lambda done, total: seen.append((done, total)),
    )
    body = b"".join(chunks)
    assert len(body) == length
    boundary = content_type.split("boundary=")[1].encode()
    parts = body.split(b"--" + boundary)
    assert b'name="key"' in parts[1] and b'name="Content-Type"' in parts[2]
    assert b'name="file"; filename="talk.mp4"' in parts[3] and data in parts[3]
    assert parts[-1] == b"--\r\n"
    assert seen[-1] == (len(data), len(data))


def test_request_declares_each_file(tmp_path):
    (tmp_path / "v.mov").write_bytes(b"x" * 10)
    (tmp_path / "a.m4a").write_bytes(b"y" * 3)
    request = build_request(tmp_path / "v.mov", {"a": tmp_path / "a.m4a"}, [], model="lipsync-2-pro")
    assert request["video"] == {"fileName": "v.mov", "contentType": "video/quicktime", "size": 10}
    assert request["audios"] == [{"fileName": "a.m4a", "contentType": "audio/mp4", "size": 3, "refId": "a"}]
    with pytest.raises(ValueError, match="unsupported"):
        build_request(tmp_path / "v.txt", {}, [])


def test_api_error_from_gateway_and_api_bodies():
    import httpx

    api = httpx.Response(
        422,
        json={
            "error": {
                "code": "validation_failed",
                "message": "m",
                "details": [{"loc": ["body", "segments", 1], "msg": "x"}],
            }
        },
    )
    error = ApiError.from_response(api)
    assert (error.status, error.code, error.details[0]["loc"]) == (
        422,
        "validation_failed",
        ["body", "segments", 1],
    )
    gateway = ApiError.from_response(httpx.Response(401, json={"message": "Unauthorized"}))
    assert (gateway.code, gateway.message) == ("unauthorized", "Unauthorized")
