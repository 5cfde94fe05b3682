"""The create body through the handler, before any database work: JSON nested too deep is a 400 (never
a RecursionError 500), and types are strict (no string -> number, no bool -> int), each a 422 on its
field. Refused before the route runs, so no database is needed."""

import base64
import json

import pytest

from prosync.api.body import nesting_exceeds
from tests.unit.api.apitest import call, http_event, invoke, job_request

CREATE = "/sync/pro-sync-process"


def create_raw(raw: str):
    return call("POST", CREATE, user="pro", raw_body=raw)


@pytest.mark.parametrize("raw", ["[" * 5000, "{\"a\":" * 5000, "[" * 5000 + "]" * 5000,
                                 '{"video": ' + '{"x": [' * 20 + "1" + "]}" * 20 + "}"])
def test_json_nested_too_deep_is_400_with_the_error_body(raw):
    answer = create_raw(raw)
    assert answer.status == 400, answer.body
    assert answer.body == {"error": {"code": "invalid_json", "details": [],
                                     "message": "the request body nests deeper than 32 levels"}}


def test_a_base64_body_nested_too_deep_is_400_too():
    event = http_event("POST", f"/api/v1{CREATE}", raw_body=base64.b64encode(b"[" * 5000).decode(),
                       claims={"sub": "pro"})
    event["isBase64Encoded"] = True
    answer = invoke(event)
    assert answer.status == 400 and answer.code == "invalid_json"


def test_32_levels_are_parsed_as_usual():
    deep = json.dumps(job_request(outputFileName=None) | {"extra": json.loads("[" * 31 + "]" * 31)})
    answer = create_raw(deep)
    assert answer.status == 422 and ["body", "extra"] in answer.locs  # parsed: the unknown field is named


def test_brackets_inside_strings_are_text():
    body = job_request(extra=True)  # an unknown field: refused once parsed, before any database work
    body["video"]["fileName"] = "[" * 100 + '\\"{' * 100 + ".mp4"
    answer = create_raw(json.dumps(body))
    assert answer.status == 422 and answer.locs == [["body", "extra"]]


@pytest.mark.parametrize("text, deeper_than_2", [
    ('[[1]]', False), ('[[[1]]]', True), ('["[[[["]', False), ('["\\"[[["]', False),
    ('["\\\\", [[1]]]', True), ('[]]]][[1]]', False), ('{"a": {"b": {"c": 1}}}', True),
])
def test_the_nesting_scan(text, deeper_than_2):
    assert nesting_exceeds(text, 2) is deeper_than_2


@pytest.mark.parametrize("where, value, loc", [
    (("video", "size"), True, ["body", "video", "size"]),
    (("video", "size"), "100", ["body", "video", "size"]),
    (("video", "size"), 100.0, ["body", "video", "size"]),
    (("audios", 0, "size"), False, ["body", "audios", 0, "size"]),
    (("options", "active_speaker_detection"), "yes", ["body", "options", "active_speaker_detection"]),
    (("options", "active_speaker_detection"), 1, ["body", "options", "active_speaker_detection"]),
    (("options", "occlusion_detection_enabled"), "true", ["body", "options", "occlusion_detection_enabled"]),
    (("options", "temperature"), "0.5", ["body", "options", "temperature"]),
    (("options", "temperature"), True, ["body", "options", "temperature"]),
    (("segments", 0, "startTime"), "2", ["body", "segments", 0, "startTime"]),
    (("segments", 0, "audioInput", "endTime"), "1.2", ["body", "segments", 0, "audioInput", "endTime"]),
    (("video", "fileName"), 123, ["body", "video", "fileName"]),
    (("model",), 1, ["body", "model"]),
])
def test_lax_types_are_422_on_their_field(where, value, loc):
    body = job_request()
    target = body
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    answer = call("POST", CREATE, user="pro", body=body)
    assert answer.status == 422 and answer.code == "validation_failed", answer.body
    assert answer.locs == [loc]


def test_an_integer_is_still_a_valid_float():
    body = job_request(extra=True)
    body["options"]["temperature"] = 1
    body["segments"][1]["endTime"] = 2
    body["segments"][0]["audioInput"]["startTime"] = 0
    answer = call("POST", CREATE, user="pro", body=body)
    assert answer.status == 422 and answer.locs == [["body", "extra"]]  # the integers passed
