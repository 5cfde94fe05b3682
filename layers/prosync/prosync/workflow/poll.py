"""The poll step: ask Sync.so for the generation, decide the next wait, spot the deadline.

The poll state travels in the execution as `$.poll` (small: ids, numbers, one URL):
    {generationId, status, rawStatus, interval, elapsed, waitSeconds, polls, deadline, deadlinePassed,
     outputUrl, outputDuration, error: null | {code, message}, progressPercent, retryable, statusErrors}
`interval` is the unscaled wait before the next poll, `elapsed` the unscaled seconds since submit at
that poll, `waitSeconds` the scaled wait the Wait state really does.
`status` is one of PENDING, PROCESSING, COMPLETED, FAILED, REJECTED (CANCELED and TIMED_OUT count as
REJECTED, an unknown string as PROCESSING); `rawStatus` is Sync.so's own word. `progressPercent` (0-100
or null) never goes backwards. `retryable` is true for a FAILED generation whose code is in
`POLL_RETRYABLE_ERROR_CODES` (worth a new attempt). `statusErrors` counts failed status calls in a row.
The state machine's Choice reads `status`, `retryable` and `deadlinePassed`; a terminal failure or the
deadline carries `error`, which the failure path stores on the job.

A status outage never throws a paid generation away: 5xx, 429, timeouts and unreadable answers of the
status route give the same state back with `statusErrors + 1` and a capped exponential wait; only the
deadline ends it. 401 and 404 still raise `SyncApiRejected` (no key, or no such generation).

`advance(state, generation, settings, now)` is the pure step from a Generation however it was obtained
(this GET, or a verified webhook body); `check_generation` = one GET + `advance`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from prosync.settings import WorkflowTimingSettings
from prosync.syncso import Generation, GenerationStatus, SyncApiTransient, SyncClient
from prosync.workflow import polling

log = logging.getLogger(__name__)

# Sync.so's error text goes into the execution's state: bounded, since a state over 256 KB fails the
# execution with States.DataLimitExceeded, which no Catch takes (the job would stay "processing").
MAX_CODE_CHARS, MAX_MESSAGE_CHARS, MAX_STATUS_CHARS = 200, 2000, 64
FAILURES = (GenerationStatus.FAILED, GenerationStatus.REJECTED)


def check_generation(
    state: dict[str, Any], client: SyncClient, settings: WorkflowTimingSettings, now: datetime | None = None,
) -> dict[str, Any]:
    """One status call (`?include=progress`) and the next poll state."""
    counted = {**state, "polls": int(state.get("polls") or 0) + 1}
    try:
        generation = client.get_generation(state["generationId"], include_progress=True)
    except SyncApiTransient as exc:
        return status_unavailable(counted, exc, settings, now)
    return advance(counted, generation, settings, now)


def advance(
    state: dict[str, Any], generation: Generation, settings: WorkflowTimingSettings,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The next poll state from `generation` (pure: no I/O). Raises ValueError for another generation."""
    if generation.id != state["generationId"]:
        raise ValueError(f"generation {generation.id} is not this job's ({state['generationId']})")
    status = generation.status.normalized
    if not generation.status.known:
        log.warning("unknown Sync.so status %r for %s: treated as still running",
                    generation.status.value, generation.id)
    result = _carried(state)
    result.update(status=status.value, rawStatus=generation.status.value[:MAX_STATUS_CHARS], statusErrors=0)
    seen = 100 if status is GenerationStatus.COMPLETED else generation.progress
    result["progressPercent"] = _never_back(state.get("progressPercent"), seen)
    if status is GenerationStatus.COMPLETED:
        result["outputUrl"] = generation.result_url
        result["outputDuration"] = generation.output_duration
    elif status in FAILURES:
        code = generation.error_code or f"generation_{generation.status.value.lower()}"
        result["error"] = {
            "code": code[:MAX_CODE_CHARS],
            "message": (generation.error or f"Sync.so generation {generation.id} ended "
                        f"{generation.status.value}")[:MAX_MESSAGE_CHARS],
        }
        retryable_code = code in settings.poll_retryable_error_codes
        result["retryable"] = status is GenerationStatus.FAILED and retryable_code
    else:
        elapsed = _elapsed(state)
        _schedule(result, elapsed, polling.next_interval(elapsed, settings), settings)
        _check_deadline(result, state, settings, now, "")
    return result


def status_unavailable(
    state: dict[str, Any], exc: SyncApiTransient, settings: WorkflowTimingSettings,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The state after a failed status call: nothing known changes; wait longer; only the deadline ends it."""
    result = _carried(state)
    errors = int(state.get("statusErrors") or 0) + 1
    result["statusErrors"] = errors
    log.warning("Sync.so status call %d in a row failed for %s: %s", errors, state["generationId"], exc)
    elapsed = _elapsed(state)
    _schedule(result, elapsed, polling.status_error_wait(errors, elapsed, settings), settings)
    detail = f"; the last {errors} status calls failed ({exc.code}: {exc.message})"[:MAX_MESSAGE_CHARS // 2]
    _check_deadline(result, state, settings, now, detail)
    return result


def _carried(state: dict[str, Any]) -> dict[str, Any]:
    """What a poll keeps from the state it was given (defaults for fields an older state lacks)."""
    result = polling.initial_state(state["generationId"], state)
    status = state.get("status") or "PENDING"
    result.update(
        status=status,
        rawStatus=state.get("rawStatus") or status,
        polls=int(state.get("polls") or 0),
        progressPercent=state.get("progressPercent"),
        statusErrors=int(state.get("statusErrors") or 0),
    )
    return result


def _never_back(before: int | None, seen: int | None) -> int | None:
    values = [int(v) for v in (before, seen) if v is not None]
    return max(values) if values else None


def _elapsed(state: dict[str, Any]) -> float:
    return float(state.get("elapsed") or state["interval"])


def _schedule(
    result: dict[str, Any], elapsed: float, interval: int, settings: WorkflowTimingSettings
) -> None:
    result["interval"] = interval
    result["elapsed"] = elapsed + interval
    result["waitSeconds"] = polling.scaled(interval, settings)


def _check_deadline(result: dict[str, Any], state: dict[str, Any], settings: WorkflowTimingSettings,
                    now: datetime | None, detail: str) -> None:
    moment = now or datetime.now(UTC)
    polls, limit_polls = result["polls"], settings.poll_max_count
    if moment < polling.parse_deadline(state["deadline"]) and polls < limit_polls:
        return
    limit = (f"the job's deadline ({state['deadline']})" if polls < limit_polls
             else f"the poll limit ({limit_polls} polls)")
    result["deadlinePassed"] = True
    result["error"] = {
        "code": "deadline_exceeded",
        "message": (f"Sync.so generation {state['generationId']} was still {result['rawStatus']} at {limit} "
                    f"after {polls} polls; the job was given up{detail}")[:MAX_MESSAGE_CHARS],
    }
