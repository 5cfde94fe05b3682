"""Adaptive poll interval and the job deadline.

The first wait comes from the model's expected generation time for the job's media length: we sleep
through most of it (`poll_first_wait_fraction`) instead of asking "done yet?" every few seconds.
After that the interval starts small again (we are near the expected end) and grows by
`poll_growth_factor` up to `poll_max_wait_seconds`, so a generation much slower than expected costs
a poll a minute at most. `PROSYNC_WAIT_SCALE` scales the waits the state machine really does
(0 in tests); the unscaled interval is kept in the state so the schedule still grows.

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


def next_interval(previous: float | None, settings: WorkflowTimingSettings) -> int:
    """Unscaled interval after a poll that found the generation still running.

    `previous` is None after the first (model-based) wait: the schedule restarts at the minimum.
    """
    if previous is None:
        return settings.poll_min_wait_seconds
    grown = math.ceil(previous * settings.poll_growth_factor)
    return int(min(max(grown, settings.poll_min_wait_seconds), settings.poll_max_wait_seconds))


def scaled(seconds: float, settings: WorkflowTimingSettings) -> int:
    """What the Wait state really waits (an integer: SecondsPath needs one)."""
    return max(0, math.ceil(seconds * settings.wait_scale))


def wait_schedule(first_wait: float, settings: WorkflowTimingSettings) -> Iterator[float]:
    """The unscaled waits before each poll: first, then min growing by the factor to the cap."""
    yield first_wait
    interval = None
    while True:
        interval = next_interval(interval, settings)
        yield interval


def fixed_schedule(seconds: float) -> Iterator[float]:
    while True:
        yield seconds


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
