"""What reaches Sync.so for a speaker choice (issue 17): the real submit handler against the emulator.
The job's point becomes `options.active_speaker_detection = {"auto_detect": false, "frame_number",
"coordinates"}` in frames and pixels of the probed video (here 96x64 at 12 fps, as start records it);
a segment's point or auto-detection goes in that segment's `optionsOverride`. The emulator checks the
shape and keeps what it was asked (GET /_emulator/generations)."""

from __future__ import annotations

import httpx
import pytest

from prosync.syncso import SyncApiRejected

from .test_submit_poll_lambdas import lambdas, start_state  # noqa: F401 (fixture)

GEOMETRY = {"width": 96, "height": 64, "frameRate": 12.0, "duration": 4.0}


def asked(emulator) -> list[dict]:
    answer = httpx.get(f"{emulator.url}/_emulator/generations", timeout=10)
    assert answer.status_code == 200
    return answer.json()["generations"]


def test_job_and_segment_speakers_reach_sync_in_its_shape(lambdas):  # noqa: F811
    job = lambdas.job()
    job["videoGeometry"] = GEOMETRY
    job["options"] = {"sync_mode": "cut_off", "speaker": {"time": 1.5, "x": 0.5, "y": 0.25}}
    job["segments"][1]["speaker"] = {"time": 2.0, "x": 0.999, "y": 1.0}
    job["segments"][2]["activeSpeakerDetection"] = True
    answer = lambdas.submit(job, 1)
    assert answer["outcome"] == "created"

    (generation,) = asked(lambdas.emulator)
    assert generation["id"] == answer["generationId"]
    assert generation["options"] == {"sync_mode": "cut_off", "active_speaker_detection": {
        "auto_detect": False, "frame_number": 18, "coordinates": [48, 16]}}
    overrides = [s.get("optionsOverride") for s in generation["segments"]]
    assert overrides == [None,
                         {"active_speaker_detection": {"auto_detect": False, "frame_number": 24,
                                                       "coordinates": [95, 63]}},
                         {"active_speaker_detection": {"auto_detect": True}}]
    assert all("speaker" not in s and "activeSpeakerDetection" not in s for s in generation["segments"])
    final, _ = lambdas.poll_until_final(start_state(answer["generationId"]))
    assert final["status"] == "COMPLETED"  # the emulator renders a job with overrides as any other


def test_auto_detection_alone_is_sent_as_before(lambdas):  # noqa: F811
    job = lambdas.job()
    job["options"] = {"active_speaker_detection": False}
    lambdas.submit(job, 1)
    (generation,) = asked(lambdas.emulator)
    assert generation["options"] == {"active_speaker_detection": {"auto_detect": False}}
    assert all("optionsOverride" not in s for s in generation["segments"])


@pytest.mark.parametrize("speaker, message", [
    ({"auto_detect": "yes"}, "auto_detect must be a boolean"),
    ({"frame_number": -1, "coordinates": [1, 2]}, "frame_number must be an integer"),
    ({"frame_number": 3, "coordinates": [1.5, 2]}, "coordinates must be [x, y]"),
    ({"auto_detect": True, "frame_number": 3, "coordinates": [1, 2]}, "without auto_detect: true"),
    ({"x": 1}, "x should not exist"),
    ({}, "needs auto_detect"),
])
def test_the_emulator_refuses_a_wrong_speaker_shape(lambdas, speaker, message):  # noqa: F811
    for where in ("options", "override"):
        body = {"model": "lipsync-2", "input": [{"type": "video", "url": "http://127.0.0.1:9/v.mp4"},
                                                 {"type": "audio", "url": "http://127.0.0.1:9/a.wav", "refId": "a"}],
                "segments": [{"startTime": 0, "endTime": 1, "audioInput": {"refId": "a"}}]}
        if where == "options":
            body["options"] = {"active_speaker_detection": speaker}
        else:
            body["segments"][0]["optionsOverride"] = {"active_speaker_detection": speaker}
        answer = httpx.post(f"{lambdas.emulator.url}/v2/generate", json=body, timeout=10,
                            headers={"x-api-key": lambdas.emulator.api_key})
        assert answer.status_code == 400 and message in answer.text, (where, answer.text)
    assert asked(lambdas.emulator) == []


def test_an_unknown_override_key_is_refused(lambdas):  # noqa: F811
    job = lambdas.job()
    job["segments"][0]["optionsOverride"] = {"speaker": 1}
    with pytest.raises(SyncApiRejected):
        lambdas.submit(job, 1)


def test_a_point_without_the_probed_geometry_fails_loudly(lambdas):  # noqa: F811
    job = lambdas.job()
    job["options"] = {"speaker": {"time": 1.0, "x": 0.5, "y": 0.5}}
    with pytest.raises(ValueError, match="frame rate and size"):
        lambdas.submit(job, 1)
