"""The output's audio really holds each segment's audio at the segment's place, and silence elsewhere."""

from __future__ import annotations

import httpx
import pytest
from prosync.syncso import GenerateRequest, GenerationStatus, InputItem, Segment, SegmentAudioInput

from devstack.media_samples import decode_audio_pcm, media_duration, tone_profile

RATE = 8000
SILENT = 200  # RMS of AAC silence is ~0; a 0.5-amplitude tone is ~11500
LOUD = 5000


def render(client, media, wait_done, tmp_path, request: GenerateRequest):
    generation = wait_done(client.create_generation(request, "job-1").id)
    assert generation.status is GenerationStatus.COMPLETED, (generation.error_code, generation.error)
    output = tmp_path / "output.mp4"
    output.write_bytes(httpx.get(generation.output_url).content)
    return generation, output


def test_segments_place_their_audio_and_crops_on_the_timeline(client, media, wait_done, tmp_path):
    request = GenerateRequest.for_segments(
        model="lipsync-2",
        video_url=media.url("talk.mp4"),  # 4 s video whose own sound is a 300 Hz tone
        audio_urls={
            "intro": media.url("intro.wav"),
            "outro": media.url("outro.mp3"),
            "tones": media.url("two_tones.flac"),
        },
        segments=[  # listed out of order on purpose
            Segment(start_time=3.0, end_time=3.8, audio_input=SegmentAudioInput(ref_id="outro")),
            Segment(start_time=0.5, end_time=1.5, audio_input=SegmentAudioInput(ref_id="intro")),
            Segment(
                start_time=2.0,
                end_time=2.6,
                audio_input=SegmentAudioInput(ref_id="tones", start_time=1.0, end_time=1.6),
            ),
        ],
    )
    generation, output = render(client, media, wait_done, tmp_path, request)
    assert generation.output_duration == pytest.approx(4.0, abs=0.01)
    assert media_duration(output) == pytest.approx(4.0, abs=0.1)
    pcm = decode_audio_pcm(output, RATE)
    margin = 0.08  # AAC priming and frame edges
    expectations = [  # (start, end, expected frequency or None for silence)
        (0.0, 0.5, None),
        (0.5, 1.5, 440),  # intro
        (1.5, 2.0, None),
        (2.0, 2.6, 660),  # second half of two_tones (crop 1.0-1.6)
        (2.6, 3.0, None),
        (3.0, 3.8, 880),  # outro, 3 s long: cut off at the segment end
        (3.8, 4.0, None),
    ]
    for start, end, freq in expectations:
        level, measured = tone_profile(pcm, RATE, start + margin, end - margin)
        if freq is None:
            assert level < SILENT, f"expected silence in [{start}, {end}), RMS {level:.0f}"
        else:
            assert level > LOUD, f"expected a tone in [{start}, {end}), RMS {level:.0f}"
            assert measured == pytest.approx(freq, rel=0.04), f"[{start}, {end}) plays {measured:.0f} Hz"


def test_short_audio_leaves_silence_in_the_rest_of_its_segment(client, media, wait_done, tmp_path):
    request = GenerateRequest.for_segments(
        model="lipsync-2",
        video_url=media.url("talk.mp4"),
        audio_urls={"intro": media.url("intro.wav")},
        segments=[Segment(start_time=1.0, end_time=4.0, audio_input=SegmentAudioInput(ref_id="intro"))],
    )
    _, output = render(client, media, wait_done, tmp_path, request)
    pcm = decode_audio_pcm(output, RATE)
    assert tone_profile(pcm, RATE, 1.1, 2.4)[0] > LOUD  # 1.5 s of intro from 1.0 s
    assert tone_profile(pcm, RATE, 2.6, 4.0)[0] < SILENT


def test_without_segments_the_single_audio_plays_from_the_start(client, media, wait_done, tmp_path):
    request = GenerateRequest(
        model="lipsync-2",
        input=[
            InputItem(type="video", url=media.url("talk.mp4")),
            InputItem(type="audio", url=media.url("outro.mp3")),
        ],
    )
    _, output = render(client, media, wait_done, tmp_path, request)
    pcm = decode_audio_pcm(output, RATE)
    level, freq = tone_profile(pcm, RATE, 0.1, 2.9)
    assert level > LOUD and freq == pytest.approx(880, rel=0.04)
    assert tone_profile(pcm, RATE, 3.1, 4.0)[0] < SILENT  # outro is 3 s; the video runs on silent
