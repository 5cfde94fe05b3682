"""Background lifecycle of a generation: PENDING -> PROCESSING -> COMPLETED | FAILED, or PENDING -> REJECTED.

Timing: the generation stays PENDING for 10 % of ``generation_seconds``, then PROCESSING while the
inputs are fetched and the MP4 is rendered, and reaches its final status no sooner than
``generation_seconds`` after it was picked up (0 = as fast as rendering allows). The final status is
then posted to the webhook URL, if any (as a ``webhook`` fault says: dropped, twice, late, early...).
Progress (``?include=progress``) follows the real work: inputs fetched, then frames encoded.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx

from .faults import FaultPlan
from .problems import ApiProblem
from .records import ACTIVE, GenerationRecord
from .render import RenderFailure, render_generation
from .store import GenerationStore
from .webhooks import WebhookSender

log = logging.getLogger("devstack.emulator.worker")
PENDING_SHARE = 0.1


class GenerationWorker:
    def __init__(
        self,
        store: GenerationStore,
        faults: FaultPlan,
        webhooks: WebhookSender,
        output_dir: Path,
        output_url: Callable[[GenerationRecord], str],
        generation_seconds: float = 0.0,
        concurrency: int = 2,
        fetch_timeout: float = 30.0,
        on_input_fetched: Callable[[dict], None] | None = None,
    ) -> None:
        self.store, self.faults, self.webhooks = store, faults, webhooks
        self.output_dir = output_dir
        self.output_url = output_url
        self.generation_seconds = generation_seconds
        self.on_input_fetched = on_input_fetched
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="emulator-generation")
        self.http = httpx.Client(timeout=fetch_timeout, follow_redirects=True)

    def submit(self, record: GenerationRecord) -> None:
        self._pool.submit(self._run, record.id)

    def stop(self) -> None:
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.http.close()

    # -- lifecycle -------------------------------------------------------------------------------

    def _run(self, generation_id: str) -> None:
        try:
            self._lifecycle(generation_id)
        except Exception as exc:  # the emulator must never leave a generation stuck in PROCESSING
            log.exception("generation %s crashed", generation_id)
            self._finish(
                generation_id,
                "FAILED",
                ACTIVE,
                error=f"unhandled error: {exc}",
                error_code="generation_unhandled_error",
            )

    def _lifecycle(self, generation_id: str) -> None:
        deadline = time.monotonic() + self.generation_seconds
        if self._sleep(self.generation_seconds * PENDING_SHARE):
            return
        failure = self.faults.take_generation_failure()
        if failure is not None and failure.outcome == "REJECTED":
            if not self._sleep_until(deadline):
                self._finish(
                    generation_id,
                    "REJECTED",
                    ("PENDING",),
                    error=failure.message or "Generation rejected",
                    error_code=failure.error_code or "generation_rejected",
                )
            return
        started = time.monotonic()
        window = {"processing_started": started, "processing_deadline": max(deadline, started)}
        if not self.store.transition(generation_id, "PROCESSING", ("PENDING",), **window):
            return  # deleted meanwhile
        if failure is not None:
            self.store.update(generation_id, work_fraction=0.5)  # it fails half way
            if not self._sleep_until(deadline):
                self._finish(
                    generation_id,
                    "FAILED",
                    ("PROCESSING",),
                    error=failure.message or "Generation failed",
                    error_code=failure.error_code or "generation_pipeline_failed",
                )
            return
        record = self.store.get(generation_id)
        output = self.output_dir / f"{generation_id}.mp4"
        workdir = Path(tempfile.mkdtemp(prefix=f"{generation_id}-", dir=self.output_dir))
        try:
            fetched = self._fetched(generation_id)
            duration = render_generation(
                record.input,
                record.segments,
                workdir,
                output,
                self.http,
                fetched,
                on_progress=lambda fraction: self.store.update(generation_id, work_fraction=fraction),
            )
        except RenderFailure as exc:
            output.unlink(missing_ok=True)
            if not self._sleep_until(deadline):
                self._finish(generation_id, "FAILED", ("PROCESSING",), error=exc.message, error_code=exc.code)
            return
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if self._sleep_until(deadline):
            return
        self._finish(
            generation_id, "COMPLETED", ("PROCESSING",), output_path=output, output_duration=duration
        )

    def _fetched(self, generation_id: str) -> Callable[[dict], None] | None:
        if self.on_input_fetched is None:
            return None
        report = self.on_input_fetched
        return lambda item: report({"generationId": generation_id, **item})

    def _finish(self, generation_id: str, status: str, allowed_from: tuple[str, ...], **fields) -> bool:
        try:
            record = self.store.get(generation_id)
        except ApiProblem:
            return False  # deleted meanwhile
        fault = self.faults.take_webhook() if record.webhook_url else None
        if fault is not None and fault.mode == "early":
            # the final payload goes out first; GET shows the final status only `seconds` later
            final = replace(record, status=status, **fields)
            self.webhooks.send(record.webhook_url, final.to_wire(self.output_url(final)), "early")
            if self._sleep(fault.seconds):
                return False
        if not self.store.transition(generation_id, status, allowed_from, **fields):
            return False
        if record.webhook_url and not (fault is not None and fault.mode == "early"):
            mode, seconds = (fault.mode, fault.seconds) if fault is not None else (None, 0.0)
            self.webhooks.deliver(record.webhook_url, record.to_wire(self.output_url(record)), mode, seconds)
        return True

    def _sleep(self, seconds: float) -> bool:
        """Sleep; True when the emulator is stopping."""
        if seconds <= 0:
            return self._stopping.is_set()
        return self._stopping.wait(seconds)

    def _sleep_until(self, deadline: float) -> bool:
        return self._sleep(deadline - time.monotonic())
