"""The adaptive poll interval against a fixed 5 s interval (the benchmark reuses these functions)."""

import pytest

from prosync.settings import PollSettings
from prosync.workflow.polling import (
    expected_generation_seconds, first_wait_seconds, fixed_schedule, media_seconds, next_interval, scaled,
    simulate_polls, wait_schedule,
)

MODEL = "lipsync-2"


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.delenv("PROSYNC_WAIT_SCALE", raising=False)
    return PollSettings()


def _media_for(generation_seconds: float, settings: PollSettings) -> float:
    """The media length whose expected generation time is `generation_seconds` (an accurate estimate)."""
    speed = settings.poll_model_seconds_per_media_second[MODEL]
    return (generation_seconds - settings.poll_overhead_seconds) / speed


def _adaptive(media: float, settings: PollSettings):
    return wait_schedule(first_wait_seconds(MODEL, media, settings), settings)


@pytest.mark.parametrize(("generation_seconds", "adaptive_polls", "fixed_polls"), [
    (30, 2, 6), (120, 3, 24), (600, 3, 120),
])
def test_adaptive_interval_needs_far_fewer_polls_than_a_fixed_5s(settings, generation_seconds, adaptive_polls,
                                                                  fixed_polls):
    media = _media_for(generation_seconds, settings)
    assert expected_generation_seconds(MODEL, media, settings) == pytest.approx(generation_seconds)
    adaptive = simulate_polls(generation_seconds, _adaptive(media, settings))
    fixed = simulate_polls(generation_seconds, fixed_schedule(5))

    assert (adaptive.polls, fixed.polls) == (adaptive_polls, fixed_polls)
    assert adaptive.polls * 3 <= fixed.polls  # the benchmark's bar: at most a third of the status calls
    assert 0 <= adaptive.lag <= 0.1 * generation_seconds  # ... and completion noticed within 10 %
    assert 0 <= fixed.lag < 5


@pytest.mark.parametrize("estimate_factor", [0.1, 0.5, 2.0])
def test_a_wrong_estimate_still_costs_few_polls_and_bounded_lag(settings, estimate_factor):
    for generation_seconds in (30, 120, 600):
        estimate = max(settings.poll_overhead_seconds, generation_seconds * estimate_factor)
        media = _media_for(estimate, settings)
        first = first_wait_seconds(MODEL, media, settings)
        run = simulate_polls(generation_seconds, _adaptive(media, settings))
        fixed = simulate_polls(generation_seconds, fixed_schedule(5))
        assert run.polls <= fixed.polls  # never more often than every 5 s
        assert run.polls <= fixed.polls // 3 or estimate_factor < 1  # far fewer unless underestimated
        if generation_seconds > first:  # finished after the first poll: late by a step of the time so far
            assert run.lag <= max(settings.poll_step_fraction * generation_seconds + 1,
                                  settings.poll_min_wait_seconds)
        else:  # the estimate was too long: noticed at the first poll
            assert run.lag == first - generation_seconds


def test_each_wait_after_the_first_is_a_step_of_the_time_so_far_within_bounds(settings):
    waits = wait_schedule(100, settings)
    assert [next(waits) for _ in range(8)] == [100, 8, 9, 10, 11, 12, 12, 13]
    assert next_interval(10, settings) == settings.poll_min_wait_seconds
    assert next_interval(10_000, settings) == settings.poll_max_wait_seconds


def test_first_wait_follows_model_and_media_length_within_bounds(settings):
    assert first_wait_seconds("lipsync-2-pro", 30, settings) > first_wait_seconds("lipsync-2", 30, settings)
    assert first_wait_seconds("lipsync-2", 60, settings) > first_wait_seconds("lipsync-2", 10, settings)
    no_overhead = settings.model_copy(update={"poll_overhead_seconds": 0})
    assert first_wait_seconds("lipsync-1.9.0-beta", 1, no_overhead) == settings.poll_first_wait_min_seconds
    assert first_wait_seconds("sync-3", 3600, settings) == settings.poll_first_wait_max_seconds
    assert first_wait_seconds("a-future-model", 30, settings) > 0


def test_media_length_is_the_video_duration_else_the_last_segment_end():
    segments = [{"startTime": 0, "endTime": 2.5}, {"startTime": 4, "endTime": 6.0}]
    assert media_seconds({"video": {"duration": 12.0}}, segments) == 12.0
    assert media_seconds({"video": {"key": "k"}}, segments) == 6.0


def test_wait_scale_makes_waits_zero_but_not_the_schedule(monkeypatch):
    monkeypatch.setenv("PROSYNC_WAIT_SCALE", "0")
    settings = PollSettings()
    assert scaled(60, settings) == 0
    assert next_interval(300, settings) == 24  # the unscaled schedule is unchanged
    monkeypatch.setenv("PROSYNC_WAIT_SCALE", "0.5")
    assert scaled(5, PollSettings()) == 3  # SecondsPath needs a whole number: rounded up
