"""The poll step: ask Sync.so for the generation, decide the next wait, spot the deadline.

The poll state travels in the execution as `$.poll` (small: ids, numbers, one URL):
    {generationId, status, interval, elapsed, waitSeconds, polls, deadline, deadlinePassed,
     outputUrl, outputDuration, error: null | {code, message}}
`interval` is the unscaled wait before the next poll, `elapsed` the unscaled seconds since submit at
that poll, `waitSeconds` the scaled wait the Wait state really does.
The state machine's Choice reads `status` and `deadlinePassed`; a terminal failure or the deadline
carries `error`, which the failure path stores on the job.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prosync.settings import WorkflowTimingSettings
from prosync.syncso import GenerationStatus, SyncClient
from prosync.workflow import polling

RUNNING = (GenerationStatus.PENDING, GenerationStatus.PROCESSING)
# Sync.so's error text goes into the execution's state: bounded, since a state over 256 KB fails the
# execution with States.DataLimitExceeded, which no Catch takes (the job would stay "processing").
MAX_CODE_CHARS, MAX_MESSAGE_CHARS = 200, 2000


def check_generation(
    state: dict[str, Any], client: SyncClient, settings: WorkflowTimingSettings, now: datetime | None = None,
) -> dict[str, Any]:
    generation_id = state["generationId"]
    generation = client.get_generation(generation_id)
    status = generation.status
    polls = int(state.get("polls") or 0) + 1
    result = {**polling.initial_state(generation_id, state), "status": status.value, "polls": polls}
    if status is GenerationStatus.COMPLETED:
        result["outputUrl"] = generation.result_url
        result["outputDuration"] = generation.output_duration
    elif status not in RUNNING:
        result["error"] = {
            "code": (generation.error_code or f"generation_{status.value.lower()}")[:MAX_CODE_CHARS],
            "message": (generation.error or f"Sync.so generation {generation_id} ended {status.value}")[
                :MAX_MESSAGE_CHARS],
        }
    else:
        moment = now or datetime.now(UTC)
        if moment >= polling.parse_deadline(state["deadline"]) or polls >= settings.poll_max_count:
            limit = f"the job's deadline ({state['deadline']})" if polls < settings.poll_max_count else (
                f"the poll limit ({settings.poll_max_count} polls)")
            result["deadlinePassed"] = True
            result["error"] = {
                "code": "deadline_exceeded",
                "message": (f"Sync.so generation {generation_id} was still {status.value} at {limit} "
                            f"after {polls} polls; the job was given up"),
            }
        elapsed = float(state.get("elapsed") or state["interval"])
        result["interval"] = polling.next_interval(elapsed, settings)
        result["elapsed"] = elapsed + result["interval"]
        result["waitSeconds"] = polling.scaled(result["interval"], settings)
    return result
