"""Adaptive poll interval and the job deadline.

The first wait comes from the model's expected generation time for the job's media length: we sleep
through most of it (`poll_first_wait_fraction`, 0.9) instead of asking "done yet?" every few seconds.
After that each wait is `poll_step_fraction` (8 %) of the time elapsed since submit, at least
`poll_min_wait_seconds` and at most `poll_max_wait_seconds`: whenever the generation ends after the
first poll, it is noticed within 8 % of its own duration (or one minimum wait), with a number of
polls that grows with the logarithm of how wrong the estimate was, never linearly with time.
`PROSYNC_WAIT_SCALE` scales the waits the state machine really does (0 in tests); the unscaled
elapsed time is kept in the state so the schedule is the same.

`simulate_polls` replays a schedule against a generation of known length; the unit tests and the
benchmark compare it with a fixed interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prosync.settings import WorkflowTimingSettings


def media_seconds(inputs: dict[str, Any], segments: list[dict[str, Any]]) -> float:
    """How much video Sync.so has to render: the video's duration, else the end of the last segment."""
    duration = (inputs.get("video") or {}).get("duration")
    last_end = max((float(s.get("endTime") or 0) for s in segments), default=0.0)
    return max(float(duration or 0), last_end)


def expected_generation_seconds(model: str, seconds: float, settings: WorkflowTimingSettings) -> float:
    per_second = settings.poll_model_seconds_per_media_second.get(
        model, settings.poll_default_seconds_per_media_second)
    return settings.poll_overhead_seconds + per_second * max(0.0, seconds)


def first_wait_seconds(model: str, seconds: float, settings: WorkflowTimingSettings) -> int:
    """Unscaled seconds before the first poll."""
    wanted = settings.poll_first_wait_fraction * expected_generation_seconds(model, seconds, settings)
    return int(min(max(wanted, settings.poll_first_wait_min_seconds), settings.poll_first_wait_max_seconds))


def next_interval(elapsed: float, settings: WorkflowTimingSettings) -> int:
    """Unscaled wait after a poll, `elapsed` unscaled seconds after submit, that found it still running."""
    step = math.ceil(elapsed * settings.poll_step_fraction)
    return int(min(max(step, settings.poll_min_wait_seconds), settings.poll_max_wait_seconds))


def scaled(seconds: float, settings: WorkflowTimingSettings) -> int:
    """What the Wait state really waits (an integer: SecondsPath needs one)."""
    return max(0, math.ceil(seconds * settings.wait_scale))


def wait_schedule(first_wait: float, settings: WorkflowTimingSettings) -> Iterator[float]:
    """The unscaled waits before each poll: the first, then a step proportional to the time so far."""
    yield first_wait
    elapsed = first_wait
    while True:
        interval = next_interval(elapsed, settings)
        elapsed += interval
        yield interval


def fixed_schedule(seconds: float) -> Iterator[float]:
    while True:
        yield seconds


def initial_state(generation_id: str, seed: dict[str, Any]) -> dict[str, Any]:
    """The poll state right after submit (see `prosync.workflow.poll`): the first wait was chosen by
    the jobstore step; `elapsed` counts the unscaled seconds waited up to the next poll."""
    return {
        "generationId": generation_id,
        "status": "PENDING",
        "rawStatus": "PENDING",
        "interval": seed["interval"],
        "elapsed": seed.get("elapsed", seed["interval"]),
        "waitSeconds": seed["waitSeconds"],
        "polls": 0,
        "deadline": seed["deadline"],
        "deadlinePassed": False,
        "outputUrl": None,
        "outputDuration": None,
        "error": None,
        "progressPercent": None,
        "retryable": False,
        "statusErrors": 0,
    }


def status_error_wait(errors: int, elapsed: float, settings: WorkflowTimingSettings) -> int:
    """Unscaled wait after the `errors`-th failed status call in a row: capped exponential backoff,
    never shorter than the normal schedule's next wait."""
    backoff = settings.poll_status_error_backoff_base_seconds * 2 ** max(0, min(errors - 1, 30))
    capped = min(backoff, settings.poll_status_error_backoff_max_seconds)
    return int(max(capped, next_interval(elapsed, settings)))


@dataclass(frozen=True)
class PollRun:
    polls: int  # GETs until one saw the generation finished
    detected_at: float  # seconds after submit
    lag: float  # detected_at - generation_seconds


def simulate_polls(generation_seconds: float, waits: Iterable[float], max_polls: int = 100_000) -> PollRun:
    """Poll after each wait until the generation (done at `generation_seconds`) is seen finished."""
    elapsed, polls = 0.0, 0
    for wait in waits:
        elapsed += wait
        polls += 1
        if elapsed >= generation_seconds or polls >= max_polls:
            break
    return PollRun(polls, elapsed, elapsed - generation_seconds)


def deadline_after(now: datetime, settings: WorkflowTimingSettings) -> str:
    return (now + timedelta(seconds=settings.workflow_deadline_seconds)).isoformat()


def parse_deadline(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
