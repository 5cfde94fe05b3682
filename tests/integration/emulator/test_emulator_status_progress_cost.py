"""Unknown statuses, failure codes on demand (retryable or not), progress_percent and the cost estimate."""

from __future__ import annotations

import time

import httpx
import pytest

from devstack.emulator import EmulatorServer
from tests.integration.emulator.conftest import API_KEY, create_body, wait_status

RETRYABLE = ("generation_timeout", "generation_pipeline_failed", "generation_database_error")


@pytest.mark.parametrize("route", ["get", "list", "create"])
def test_unknown_status_is_answered_for_count_answers_then_the_real_one(emulator, raw, media, route):
    created = raw.post("/v2/generate", json=create_body(media)).json()
    wait_status(raw, created["id"])
    raw.post(
        "/_emulator/faults",
        json={"kind": "unknown_status", "route": route, "count": 2, "reported_status": "QUEUED_FOR_GPU"},
    )

    def answer() -> dict:
        if route == "get":
            return raw.get(f"/v2/generate/{created['id']}").json()
        if route == "list":
            return raw.get("/v2/generations", params={"ids": created["id"]}).json()[0]
        return raw.post("/v2/generate", json=create_body(media), headers={"Idempotency-Key": "same"}).json()

    seen = [answer()["status"] for _ in range(3)]
    assert seen[:2] == ["QUEUED_FOR_GPU", "QUEUED_FOR_GPU"] and seen[2] in (
        "PENDING",
        "PROCESSING",
        "COMPLETED",
    )
    assert emulator.store.get(created["id"]).status == "COMPLETED"  # only the answers lied
    assert emulator.stats_snapshot()["faults_fired"] == {"unknown_status": 2}


def test_unknown_status_on_any_route_defaults_to_queued_for_gpu(emulator, raw, media):
    created = raw.post("/v2/generate", json=create_body(media)).json()
    raw.post("/_emulator/faults", json={"kind": "unknown_status", "count": "always"})
    assert raw.get(f"/v2/generate/{created['id']}").json()["status"] == "QUEUED_FOR_GPU"
    assert raw.get("/v2/generations").json()[0]["status"] == "QUEUED_FOR_GPU"
    raw.delete("/_emulator/faults")
    assert wait_status(raw, created["id"])["status"] == "COMPLETED"


@pytest.mark.parametrize("code", [*RETRYABLE, "generation_audio_length_exceeded", "any_new_code"])
def test_the_next_n_generations_fail_with_the_given_code(emulator, raw, media, code):
    raw.post("/_emulator/faults", json={"kind": "generation_failure", "count": 2, "error_code": code})
    ids = [raw.post("/v2/generate", json=create_body(media)).json()["id"] for _ in range(3)]
    ends = [wait_status(raw, generation_id) for generation_id in ids]
    assert [(g["status"], g["errorCode"], g["error_code"]) for g in ends[:2]] == [("FAILED", code, code)] * 2
    assert all(g["error"] and g["outputUrl"] is None and g["outputMediaUrl"] is None for g in ends[:2])
    assert ends[2]["status"] == "COMPLETED" and ends[2]["errorCode"] is None
    assert emulator.stats_snapshot()["billing"]["billedGenerations"] == 3  # a failed generation was created


def test_generation_failure_given_as_a_cli_string(tmp_path, media):
    with (
        EmulatorServer(
            api_key=API_KEY,
            output_dir=tmp_path,
            faults=["kind=generation_failure,count=1,error_code=generation_database_error"],
        ) as emu,
        httpx.Client(base_url=emu.url, headers={"x-api-key": API_KEY}) as http,
    ):
        failed = wait_status(http, http.post("/v2/generate", json=create_body(media)).json()["id"])
    assert (failed["status"], failed["errorCode"]) == ("FAILED", "generation_database_error")


def test_progress_percent_follows_the_work_and_never_goes_back(tmp_path, media):
    with (
        EmulatorServer(api_key=API_KEY, generation_seconds=1.5, output_dir=tmp_path) as emu,
        httpx.Client(base_url=emu.url, headers={"x-api-key": API_KEY}) as http,
    ):
        created = http.post("/v2/generate", json=create_body(media)).json()
        assert "progress_percent" not in created
        seen: list[tuple[str, int]] = []
        while True:
            answer = http.get(f"/v2/generate/{created['id']}", params={"include": "progress"}).json()
            seen.append((answer["status"], answer["progress_percent"]))
            if answer["status"] == "COMPLETED":
                break
            time.sleep(0.05)
        assert "progress_percent" not in http.get(f"/v2/generate/{created['id']}").json()
        # include may be a comma list, as other include values could come with it
        listed = http.get(f"/v2/generate/{created['id']}?include=segments,progress").json()
    values = [value for _, value in seen]
    assert values == sorted(values) and all(0 <= v <= 100 for v in values)
    assert all(value == 0 for status, value in seen if status == "PENDING")
    assert seen[-1] == ("COMPLETED", 100) and listed["progress_percent"] == 100
    assert all(value < 100 for status, value in seen if status == "PROCESSING")
    assert len({value for status, value in seen if status == "PROCESSING"}) >= 3  # it moves while processing


def test_a_failed_generation_keeps_its_last_progress(emulator, raw, media):
    body = create_body(media)
    body["input"][1]["url"] = media.url("missing.wav")  # the video is fetched, then the audio fails
    failed = wait_status(raw, raw.post("/v2/generate", json=body).json()["id"])
    progress = raw.get(f"/v2/generate/{failed['id']}?include=progress").json()["progress_percent"]
    assert failed["errorCode"] == "generation_audio_missing" and 0 <= progress < 100


@pytest.mark.parametrize(
    ("model", "cost"),
    [
        ("lipsync-2", 0.2),
        ("lipsync-2-pro", 0.332),
        ("sync-3", 0.532),
        ("react-1", 0.332),
        ("lipsync-1.9.0-beta", 0.2),
    ],
)
def test_cost_is_output_frames_times_the_models_price_per_frame(raw, media, model, cost):
    """talk.mp4 is 4 s at 25 fps: 100 frames; lipsync-2 $0.05/s at 25 fps = $0.002 per frame."""
    answer = raw.post("/v2/analyze/cost", json=create_body(media, model=model))
    assert answer.status_code == 200
    assert answer.json() == [{"estimatedFrameCount": 100, "estimatedGenerationCost": pytest.approx(cost)}]


def test_cost_uses_the_videos_frame_rate(raw, media, media_dir):
    from devstack.media_samples import make_video

    make_video(media_dir / "talk30.mp4", 2.0, fps=30, size=(64, 48), tone_freq=300)
    body = create_body(media)
    body["input"][0]["url"] = media.url("talk30.mp4")
    assert raw.post("/v2/analyze/cost", json=body).json() == [
        {"estimatedFrameCount": 60, "estimatedGenerationCost": pytest.approx(0.12)}
    ]


def test_cost_validates_like_create_and_creates_nothing(emulator, raw, media):
    bad = raw.post("/v2/analyze/cost", json={**create_body(media), "model": "lipsync-9"})
    assert bad.status_code == 400 and bad.json()["errorCode"] == "generation_unsupported_model"
    missing = create_body(media)
    missing["segments"][0]["audioInput"]["refId"] = "nobody"
    assert (
        raw.post("/v2/analyze/cost", json=missing).json()["errorCode"] == "generation_segment_ref_not_found"
    )
    unreachable = create_body(media)
    unreachable["input"][0]["url"] = media.url("missing.mp4")
    refused = raw.post("/v2/analyze/cost", json=unreachable)
    assert refused.status_code == 422 and refused.json()["errorCode"] == "cost_estimate_unavailable"
    assert (
        raw.post("/v2/analyze/cost", json=create_body(media), headers={"x-api-key": "no"}).status_code == 401
    )
    assert emulator.store.list() == [] and emulator.stats_snapshot()["billing"]["billedGenerations"] == 0
