"""Wire models: our JSON must be byte-for-byte what the official SDK sends, and parsing must be lenient."""

import json

import httpx
import pydantic
import pytest
from prosync.syncso import (
    GenerateRequest,
    Generation,
    GenerationOptions,
    GenerationStatus,
    InputItem,
    Segment,
    SegmentAudioInput,
)
from sync import Sync
from sync.common import Audio, GenerationSegment, Video
from sync.common import GenerationOptions as SdkOptions
from sync.common import SegmentAudioInput as SdkAudio


def sdk_wire_body(**create_kwargs) -> dict:
    """What syncsdk puts on the wire for generations.create(**kwargs), captured by a MockTransport."""
    captured = {}

    def handler(request: httpx.Request) -> httpx.Response:
        captured["body"] = json.loads(request.content)
        return httpx.Response(
            201,
            json={
                "id": "g",
                "createdAt": "2025-01-01T00:00:00Z",
                "status": "PENDING",
                "model": "lipsync-2",
                "input": [],
            },
        )

    sdk = Sync(
        api_key="k",
        base_url="https://api.example",
        httpx_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    sdk.generations.create(**create_kwargs)
    return captured["body"]


def test_segment_request_matches_the_official_sdk_wire_format():
    ours = GenerateRequest(
        model="lipsync-2",
        input=[
            InputItem(type="video", url="https://v"),
            InputItem(type="audio", url="https://a", ref_id="a1"),
            InputItem(type="audio", url="https://b", ref_id="b1"),
        ],
        options=GenerationOptions(sync_mode="cut_off", temperature=0.4, occlusion_detection_enabled=True),
        segments=[
            Segment(start_time=0, end_time=1.5, audio_input=SegmentAudioInput(ref_id="a1")),
            Segment(
                start_time=2,
                end_time=3,
                audio_input=SegmentAudioInput(ref_id="b1", start_time=0.5, end_time=1.5),
            ),
        ],
        webhook_url="https://hook",
        output_file_name="talk_dubbed",
    )
    theirs = sdk_wire_body(
        model="lipsync-2",
        input=[
            Video(url="https://v"),
            Audio(url="https://a", ref_id="a1"),
            Audio(url="https://b", ref_id="b1"),
        ],
        options=SdkOptions(sync_mode="cut_off", temperature=0.4, occlusion_detection_enabled=True),
        segments=[
            GenerationSegment(start_time=0, end_time=1.5, audio_input=SdkAudio(ref_id="a1")),
            GenerationSegment(
                start_time=2, end_time=3, audio_input=SdkAudio(ref_id="b1", start_time=0.5, end_time=1.5)
            ),
        ],
        webhook_url="https://hook",
        output_file_name="talk_dubbed",
    )
    assert ours.to_wire() == theirs


def test_models_accept_wire_names_and_python_names():
    by_wire = Segment.model_validate(
        {"startTime": 1, "endTime": 2, "audioInput": {"refId": "x", "startTime": 0, "endTime": 1}}
    )
    by_name = Segment(
        start_time=1, end_time=2, audio_input=SegmentAudioInput(ref_id="x", start_time=0, end_time=1)
    )
    assert by_wire == by_name


def test_generation_tolerates_unknown_fields_and_keeps_both_output_spellings():
    generation = Generation.model_validate(
        {
            "id": "g",
            "createdAt": "2025-01-01T00:00:00Z",
            "status": "FAILED",
            "model": "sync-3",
            "input": [{"type": "video", "url": "u", "somethingNew": 1}],
            "error": "boom",
            "error_code": "generation_timeout",
            "outputMediaUrl": "https://m",
            "projectId": "p",
        }
    )
    assert generation.error_code == "generation_timeout" and generation.result_url == "https://m"
    assert generation.model_dump(by_alias=True)["projectId"] == "p"


def test_generate_request_refuses_unknown_top_level_fields():
    with pytest.raises(pydantic.ValidationError):
        GenerateRequest(model="lipsync-2", input=[], webhookurl="typo")


def test_temperature_range_is_checked():
    with pytest.raises(pydantic.ValidationError):
        GenerationOptions(temperature=1.5)


@pytest.mark.parametrize(
    ("status", "terminal"),
    [
        ("PENDING", False),
        ("PROCESSING", False),
        ("COMPLETED", True),
        ("FAILED", True),
        ("REJECTED", True),
        ("CANCELED", True),
        ("TIMED_OUT", True),
    ],
)
def test_terminal_statuses(status, terminal):
    assert GenerationStatus(status).terminal is terminal
    assert GenerationStatus(status) == status  # a str Enum compares equal to the wire string


def _generation(**fields) -> Generation:
    return Generation.model_validate({"id": "g", "createdAt": "2025-01-01T00:00:00Z", "status": "PROCESSING",
                                      "model": "lipsync-2", **fields})


@pytest.mark.parametrize("fields", [{"errorCode": "generation_timeout"}, {"error_code": "generation_timeout"},
                                    {"errorCode": "generation_timeout", "error_code": "generation_timeout"}])
def test_either_failure_code_spelling_is_read(fields):
    assert _generation(status="FAILED", **fields).error_code == "generation_timeout"


@pytest.mark.parametrize(("fields", "url"), [
    ({"outputMediaUrl": "https://m"}, "https://m"),
    ({"outputUrl": "https://o"}, "https://o"),
    ({"outputMediaUrl": "https://m", "outputUrl": "https://m-alias"}, "https://m"),  # the current name wins
])
def test_either_output_url_spelling_is_read(fields, url):
    assert _generation(status="COMPLETED", **fields).result_url == url


@pytest.mark.parametrize(("value", "progress"), [(None, None), (0, 0), (57.9, 57), (100, 100), (130, 100),
                                                 (-3, 0)])
def test_progress_percent_is_a_whole_number_within_0_100(value, progress):
    assert _generation(progress_percent=value).progress == progress


@pytest.mark.parametrize(("status", "normalized", "terminal"), [
    ("PENDING", "PENDING", False), ("PROCESSING", "PROCESSING", False), ("COMPLETED", "COMPLETED", True),
    ("FAILED", "FAILED", True), ("REJECTED", "REJECTED", True), ("CANCELED", "REJECTED", True),
    ("TIMED_OUT", "REJECTED", True), ("QUEUED_FOR_GPU", "PROCESSING", False), ("", None, None),
])
def test_any_status_string_parses_and_normalises(status, normalized, terminal):
    if normalized is None:  # an empty status is no status
        with pytest.raises(pydantic.ValidationError):
            _generation(status=status)
        return
    generation = _generation(status=status)
    assert generation.status.value == status and generation.status == status
    assert generation.status.normalized.value == normalized and generation.status.terminal is terminal
    assert generation.status.known is (status in GenerationStatus.__members__)
    assert generation.to_wire()["status"] == status  # kept as Sync.so said it


def test_request_bytes_are_the_wire_json():
    request = GenerateRequest(model="lipsync-2", input=[InputItem(type="video", url="https://v")])
    assert json.loads(request.to_bytes()) == request.to_wire()
