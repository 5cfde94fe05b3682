"""THE BAR: the official syncsdk client drives the emulator end to end, inputs as moto S3 presigned URLs."""

from __future__ import annotations

import time

import av
import boto3
import httpx
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer
from sync import Sync
from sync.common import Audio, GenerationOptions, GenerationSegment, SegmentAudioInput, Video
from sync.common.errors import BadRequestError, NotFoundError, UnauthorizedError

from devstack.media_samples import decode_audio_pcm, media_duration, tone_profile


@pytest.fixture(scope="module")
def s3_inputs(media_dir):
    """The sample media uploaded to a moto S3 server; returns presigned GET URLs by file name."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4"),
    )
    s3.create_bucket(Bucket="prosync-media")
    urls = {}
    for name in ("talk.mp4", "intro.wav", "outro.mp3", "two_tones.flac"):
        key = f"uploads/user-1/job-1/{name}"
        s3.upload_file(str(media_dir / name), "prosync-media", key)
        urls[name] = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "prosync-media", "Key": key}, ExpiresIn=600
        )
    yield urls
    server.stop()


@pytest.fixture
def sdk(emulator):
    return Sync(base_url=emulator.url, api_key=emulator.api_key)


def test_official_sdk_three_segment_generation_completes_with_a_real_mp4(sdk, s3_inputs, tmp_path):
    assert "X-Amz-Signature" in s3_inputs["talk.mp4"]  # really presigned
    created = sdk.generations.create(
        model="lipsync-2-pro",
        input=[
            Video(url=s3_inputs["talk.mp4"]),
            Audio(url=s3_inputs["intro.wav"], ref_id="intro"),
            Audio(url=s3_inputs["outro.mp3"], ref_id="outro"),
            Audio(url=s3_inputs["two_tones.flac"], ref_id="tones"),
        ],
        segments=[
            GenerationSegment(start_time=0.0, end_time=1.0, audio_input=SegmentAudioInput(ref_id="intro")),
            GenerationSegment(
                start_time=1.5,
                end_time=2.5,
                audio_input=SegmentAudioInput(ref_id="tones", start_time=1.0, end_time=2.0),
            ),
            GenerationSegment(start_time=3.0, end_time=4.0, audio_input=SegmentAudioInput(ref_id="outro")),
        ],
        options=GenerationOptions(sync_mode="cut_off", temperature=0.5),
        output_file_name="talk_dubbed",
    )
    assert created.status == "PENDING" and created.model == "lipsync-2-pro"
    assert [s.audio_input.ref_id for s in created.segments] == ["intro", "tones", "outro"]

    deadline = time.monotonic() + 20
    generation = sdk.generations.get(created.id)
    while generation.status not in ("COMPLETED", "FAILED", "REJECTED"):
        assert time.monotonic() < deadline, f"still {generation.status}"
        time.sleep(0.05)
        generation = sdk.generations.get(created.id)
    assert generation.status == "COMPLETED", (generation.error_code, generation.error)
    assert generation.output_url.endswith("/talk_dubbed.mp4")
    assert generation.output_duration == pytest.approx(4.0, abs=0.05)

    output = tmp_path / "out.mp4"
    output.write_bytes(httpx.get(generation.output_url).content)
    with av.open(str(output)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert (container.streams.video[0].width, container.streams.video[0].height) == (160, 120)
        assert container.streams.audio[0].codec_context.name == "aac"
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 100  # every frame of the 4 s, 25 fps input
    assert media_duration(output) == pytest.approx(4.0, abs=0.1)
    pcm = decode_audio_pcm(output)
    level, freq = tone_profile(pcm, 8000, 1.65, 2.35)
    assert level > 3000 and freq == pytest.approx(
        660, rel=0.05
    )  # the crop [1, 2) of two_tones is its 660 Hz half


def test_official_sdk_sees_list_and_typed_errors(sdk, emulator, s3_inputs):
    created = sdk.generations.create(
        model="lipsync-2", input=[Video(url=s3_inputs["talk.mp4"]), Audio(url=s3_inputs["intro.wav"])]
    )
    listed = sdk.generations.list(ids=[created.id])
    assert [g.id for g in listed] == [created.id]
    with pytest.raises(BadRequestError) as bad:
        sdk.generations.create(model="lipsync-9", input=[Video(url=s3_inputs["talk.mp4"])])
    assert bad.value.status_code == 400
    assert bad.value.body.model_dump(by_alias=True)["errorCode"] == "generation_unsupported_model"
    with pytest.raises(NotFoundError):
        sdk.generations.get("does-not-exist")
    with pytest.raises(UnauthorizedError):
        Sync(base_url=emulator.url, api_key="wrong").generations.get(created.id)
