"""The output at outputUrl: Range, expiry, cut streams, large synthetic outputs; and media failures."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from prosync.syncso import (
    GenerateRequest,
    GenerationStatus,
    InputItem,
    Segment,
    SegmentAudioInput,
    SyncClient,
)

from devstack.emulator import EmulatorServer, synthetic_bytes


def make_request(media, video="talk.mp4", audio="intro.wav", crop=None) -> GenerateRequest:
    crop_start, crop_end = crop or (None, None)
    return GenerateRequest.for_segments(
        model="lipsync-2",
        video_url=media.url(video),
        audio_urls={"a": media.url(audio)},
        segments=[
            Segment(
                start_time=0.5,
                end_time=2.0,
                audio_input=SegmentAudioInput(ref_id="a", start_time=crop_start, end_time=crop_end),
            )
        ],
    )


@pytest.fixture
def completed(client, media, wait_done):
    generation = wait_done(client.create_generation(make_request(media), "job-1").id)
    assert generation.status is GenerationStatus.COMPLETED, generation.error
    return generation


def test_output_supports_ranges_like_s3(completed):
    whole = httpx.get(completed.output_url)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "video/mp4" and whole.content[4:8] == b"ftyp"
    size = len(whole.content)
    head = httpx.head(completed.output_url)
    assert int(head.headers["content-length"]) == size and head.content == b""
    part = httpx.get(completed.output_url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.headers["content-range"] == f"bytes 100-199/{size}"
    assert part.content == whole.content[100:200]
    tail = httpx.get(completed.output_url, headers={"Range": "bytes=-50"})
    assert tail.content == whole.content[-50:]
    rest = httpx.get(completed.output_url, headers={"Range": f"bytes={size - 10}-"})
    assert rest.content == whole.content[-10:]
    beyond = httpx.get(completed.output_url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"


def test_unknown_output_is_404_xml(emulator, completed):
    wrong = completed.output_url.replace(completed.id, "0" * 36)
    response = httpx.get(wrong)
    assert response.status_code == 404 and b"<Code>NoSuchKey</Code>" in response.content


def test_expired_output_url_is_403_and_get_mints_a_fresh_one(tmp_path, media):
    with (
        EmulatorServer(api_key="k", output_dir=tmp_path, output_url_ttl=1.0) as emu,
        SyncClient(emu.url, "k") as sync,
    ):
        created = sync.create_generation(make_request(media), "job-1")
        deadline = time.monotonic() + 10
        while (generation := sync.get_generation(created.id)).status is not GenerationStatus.COMPLETED:
            assert time.monotonic() < deadline
        old_url = generation.output_url
        assert "Expires=" in old_url and httpx.get(old_url).status_code == 200
        tampered = old_url.replace("Signature=", "Signature=0")
        assert httpx.get(tampered).status_code == 403
        expires = float(parse_qs(urlsplit(old_url).query)["Expires"][0])
        time.sleep(max(0.0, expires - time.time()) + 0.05)
        expired = httpx.get(old_url)
        assert expired.status_code == 403
        assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.content
        fresh = sync.get_generation(created.id).output_url
        assert fresh != old_url and httpx.get(fresh).status_code == 200


@pytest.mark.parametrize("count", ["once", "always"])
def test_broken_output_stream_is_cut_after_k_bytes(emulator, completed, count):
    httpx.post(
        f"{emulator.url}/_emulator/faults",
        json={"kind": "broken_output", "after_bytes": 1000, "count": count},
    )
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", completed.output_url) as response:
        assert response.status_code == 200 and int(response.headers["content-length"]) > 1000
        for chunk in response.iter_bytes():
            received += chunk
    assert len(received) == 1000
    retry = httpx.get(completed.output_url) if count == "once" else None
    if count == "once":
        assert retry.status_code == 200 and retry.content[:1000] == bytes(received)
    else:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(completed.output_url)


def test_synthetic_output_streams_n_generated_bytes(emulator, client):
    size = 5 * 1024 * 1024 + 123
    created = httpx.post(
        f"{emulator.url}/_emulator/synthetic", json={"size": size, "outputFileName": "big"}
    ).json()
    assert created["status"] == "COMPLETED"
    generation = client.get_generation(created["id"])
    assert generation.output_url.endswith("/big.mp4")
    total, first = 0, b""
    with httpx.stream("GET", generation.output_url) as response:
        assert int(response.headers["content-length"]) == size
        for chunk in response.iter_bytes():
            first = first or chunk[:4096]
            total += len(chunk)
    assert total == size and first == synthetic_bytes(generation.id, 0, 4096)
    middle = httpx.get(generation.output_url, headers={"Range": "bytes=3000000-3000099"})
    assert middle.content == synthetic_bytes(generation.id, 3_000_000, 100)
    assert emulator.stats_snapshot()["output_bytes"] == size + 100


def test_synthetic_rejects_bad_size(emulator):
    response = httpx.post(f"{emulator.url}/_emulator/synthetic", json={"size": "big"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("video", "audio", "crop", "code"),
    [
        ("missing.mp4", "intro.wav", None, "generation_video_missing"),  # 404 at the input URL
        ("garbage.mp4", "intro.wav", None, "generation_video_missing"),  # not media
        ("intro.wav", "intro.wav", None, "generation_video_missing"),  # no video stream
        ("talk.mp4", "missing.wav", None, "generation_audio_missing"),
        ("talk.mp4", "garbage.mp4", None, "generation_audio_missing"),
        ("talk.mp4", "long_silence.flac", None, "generation_audio_length_exceeded"),  # 301 s in one segment
        ("talk.mp4", "long_silence.flac", (0.0, 300.5), "generation_audio_length_exceeded"),
    ],
)
def test_media_problems_end_the_generation_failed(client, media, wait_done, video, audio, crop, code):
    generation = wait_done(client.create_generation(make_request(media, video, audio, crop), "job-1").id)
    assert generation.status is GenerationStatus.FAILED
    assert generation.error_code == code and generation.error
    assert "?" not in generation.error  # never echoes (presigned) query strings


def test_a_crop_within_the_limit_of_a_long_audio_completes(client, media, wait_done):
    generation = wait_done(
        client.create_generation(
            make_request(media, audio="long_silence.flac", crop=(290.0, 291.0)), "job-1"
        ).id
    )
    assert generation.status is GenerationStatus.COMPLETED


def test_text_to_speech_inputs_are_not_emulated(client, media, wait_done):
    request = GenerateRequest(
        model="lipsync-2",
        input=[
            InputItem(type="video", url=media.url("talk.mp4")),
            InputItem(type="text", provider={"name": "elevenlabs", "voiceId": "v", "script": "hello"}),
        ],
    )
    generation = wait_done(client.create_generation(request, "job-1").id)
    assert (generation.status, generation.error_code) == (
        GenerationStatus.FAILED,
        "generation_pipeline_failed",
    )


def test_output_bytes_are_counted_by_the_time_the_client_has_them(emulator):
    # they were counted after the last write, so a client that had read the whole body could still
    # see the old count (a flaky test_synthetic_output_streams_n_generated_bytes)
    created = httpx.post(f"{emulator.url}/_emulator/synthetic", json={"size": 3000}).json()
    url = f"{emulator.url}/outputs/{created['id']}/{created['outputUrl'].rsplit('/', 1)[-1]}"
    with httpx.Client() as http:
        for n in range(1, 51):
            assert len(http.get(url).content) == 3000
            assert emulator.stats_snapshot()["output_bytes"] == 3000 * n
