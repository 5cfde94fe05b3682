"""The poll step's contract: `advance` from any Generation (GET or webhook), and a status outage that
never ends a paid generation before the deadline. Sync.so's answers come from httpx.MockTransport."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from prosync.settings import PollSettings
from prosync.syncso import Generation, SyncApiRejected, SyncClient
from prosync.workflow import polling
from prosync.workflow.poll import advance, check_generation

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FIELDS = {"generationId", "status", "rawStatus", "interval", "elapsed", "waitSeconds", "polls", "deadline",
          "deadlinePassed", "outputUrl", "outputDuration", "error", "progressPercent", "retryable",
          "statusErrors"}


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.delenv("PROSYNC_WAIT_SCALE", raising=False)
    return PollSettings(sync_api_key="k")


def start_state(deadline: datetime = NOW + timedelta(hours=1)) -> dict:
    seed = {"interval": 20, "waitSeconds": 20, "deadline": deadline.isoformat()}
    return polling.initial_state("gen-1", seed)


def generation(status: str, **fields) -> Generation:
    return Generation.model_validate({"id": "gen-1", "createdAt": "2026-01-01T11:59:00Z", "status": status,
                                      "model": "lipsync-2", **fields})


def scripted(*answers):
    """A SyncClient whose GETs get these answers in turn (an httpx.Response or an exception to raise)."""
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return seen, SyncClient("https://api.example", "key", transport=httpx.MockTransport(handler))


def ok(status: str, **fields) -> httpx.Response:
    return httpx.Response(200, json={"id": "gen-1", "createdAt": "2026-01-01T11:59:00Z", "status": status,
                                     "model": "lipsync-2", **fields})


def test_every_field_is_always_present(settings):
    for result in (advance(start_state(), generation("PROCESSING"), settings, NOW),
                   advance(start_state(), generation("COMPLETED", outputMediaUrl="https://o"), settings, NOW),
                   advance(start_state(), generation("FAILED", errorCode="x"), settings, NOW)):
        assert set(result) == FIELDS


def test_completed_gives_the_output_and_full_progress(settings):
    done = generation("COMPLETED", outputMediaUrl="https://m", outputUrl="https://m2", outputDuration=4.0)
    result = advance(start_state(), done, settings, NOW)
    assert (result["status"], result["outputUrl"], result["outputDuration"]) == ("COMPLETED", "https://m", 4)
    assert (result["progressPercent"], result["error"], result["retryable"]) == (100, None, False)


@pytest.mark.parametrize(("status", "fields", "code", "retryable"), [
    ("FAILED", {"errorCode": "generation_timeout"}, "generation_timeout", True),
    ("FAILED", {"error_code": "generation_pipeline_failed"}, "generation_pipeline_failed", True),
    ("FAILED", {"error_code": "generation_database_error"}, "generation_database_error", True),
    ("FAILED", {"error_code": "generation_audio_length_exceeded"}, "generation_audio_length_exceeded", False),
    ("FAILED", {}, "generation_failed", False),
    ("REJECTED", {"errorCode": "generation_timeout"}, "generation_timeout", False),  # only FAILED is retried
])
def test_failures_keep_syncs_code_and_say_whether_a_new_attempt_is_worth_it(settings, status, fields, code,
                                                                            retryable):
    result = advance(start_state(), generation(status, error="it broke", **fields), settings, NOW)
    assert (result["status"], result["rawStatus"], result["retryable"]) == (status, status, retryable)
    assert result["error"] == {"code": code, "message": "it broke"}


def test_retryable_codes_are_a_setting(settings):
    narrow = settings.model_copy(update={"poll_retryable_error_codes": ["generation_database_error"]})
    failed = generation("FAILED", error_code="generation_timeout")
    assert advance(start_state(), failed, settings, NOW)["retryable"] is True
    assert advance(start_state(), failed, narrow, NOW)["retryable"] is False


@pytest.mark.parametrize(("raw", "code"), [("CANCELED", "generation_canceled"),
                                           ("TIMED_OUT", "generation_timed_out")])
def test_old_final_statuses_are_rejected_like_failures_keeping_their_word(settings, raw, code):
    result = advance(start_state(), generation(raw), settings, NOW)
    assert (result["status"], result["rawStatus"], result["error"]["code"]) == ("REJECTED", raw, code)
    assert result["retryable"] is False


def test_an_unknown_status_is_still_running_and_logged(settings, caplog):
    result = advance(start_state(), generation("QUEUED_FOR_GPU"), settings, NOW)
    assert (result["status"], result["rawStatus"], result["error"]) == ("PROCESSING", "QUEUED_FOR_GPU", None)
    assert result["deadlinePassed"] is False and result["interval"] >= settings.poll_min_wait_seconds
    assert "QUEUED_FOR_GPU" in caplog.text


def test_progress_never_goes_backwards(settings):
    state, seen = start_state(), []
    for value in (None, 10, 35, 20, None, 60):  # Sync.so's word, out of order or missing
        state = advance(state, generation("PROCESSING", progress_percent=value), settings, NOW)
        seen.append(state["progressPercent"])
    assert seen == [None, 10, 35, 35, 35, 60]
    failed = advance(state, generation("FAILED", progress_percent=5), settings, NOW)
    assert failed["progressPercent"] == 60


def test_advance_refuses_another_generation(settings):
    with pytest.raises(ValueError, match="gen-2"):
        advance(start_state(), generation("COMPLETED").model_copy(update={"id": "gen-2"}), settings, NOW)


def test_the_get_asks_for_progress_and_counts_the_poll(settings):
    seen, client = scripted(ok("PROCESSING", progress_percent=40))
    result = check_generation(start_state(), client, settings, NOW)
    assert seen[0].url.path == "/v2/generate/gen-1" and seen[0].url.params["include"] == "progress"
    assert (result["polls"], result["progressPercent"], result["statusErrors"]) == (1, 40, 0)


def test_a_status_outage_longer_than_any_retry_policy_never_fails_the_job(settings):
    storm = [httpx.Response(503, json={"message": "down"}), httpx.Response(500, text="oops"),
             httpx.Response(429, json={"errorCode": "rate_limit_exceeded"}), httpx.ReadTimeout("slow"),
             httpx.ConnectError("refused"), httpx.Response(502, text="<html>"), httpx.Response(504, text=""),
             httpx.Response(200, content=b"<html>proxy</html>"), httpx.Response(408, text=""),
             httpx.Response(503, json={})]
    _, client = scripted(*storm, ok("PROCESSING", progress_percent=70))
    state = {**start_state(), "status": "PROCESSING", "rawStatus": "PROCESSING", "progressPercent": 50}
    waits = []
    for _ in storm:
        state = check_generation(state, client, settings, NOW)
        waits.append(state["interval"])
        assert (state["status"], state["progressPercent"]) == ("PROCESSING", 50)
        assert state["deadlinePassed"] is False
        assert state["error"] is None
    assert state["statusErrors"] == len(storm) and state["polls"] == len(storm)
    assert waits == sorted(waits) and waits[0] >= settings.poll_status_error_backoff_base_seconds
    assert max(waits) == settings.poll_status_error_backoff_max_seconds  # capped
    recovered = check_generation(state, client, settings, NOW)
    assert (recovered["statusErrors"], recovered["progressPercent"]) == (0, 70)
    assert recovered["interval"] <= settings.poll_max_wait_seconds  # back to the normal schedule


def test_only_the_deadline_ends_an_outage(settings):
    down = httpx.Response(503, json={"errorCode": "service_unavailable", "message": "maintenance"})
    _, client = scripted(down)
    state = start_state(deadline=NOW + timedelta(minutes=1))
    state = check_generation(state, client, settings, NOW)
    assert state["deadlinePassed"] is False
    late = check_generation(state, client, settings, NOW + timedelta(minutes=2))
    assert late["deadlinePassed"] is True and late["statusErrors"] == 2
    assert late["error"]["code"] == "deadline_exceeded"
    assert "gen-1" in late["error"]["message"] and "service_unavailable" in late["error"]["message"]


@pytest.mark.parametrize("status", [401, 404])
def test_no_key_or_no_such_generation_still_raise(settings, status):
    _, client = scripted(httpx.Response(status, json={"message": "nope"}))
    with pytest.raises(SyncApiRejected):
        check_generation(start_state(), client, settings, NOW)


def test_outage_waits_are_scaled_like_every_wait(settings, monkeypatch):
    monkeypatch.setenv("PROSYNC_WAIT_SCALE", "0")
    _, client = scripted(httpx.Response(503, json={}))
    result = check_generation(start_state(), client, PollSettings(sync_api_key="k"), NOW)
    assert result["waitSeconds"] == 0 and result["interval"] >= 5
