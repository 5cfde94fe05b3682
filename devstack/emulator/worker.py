"""Background lifecycle of a generation: PENDING -> PROCESSING -> COMPLETED | FAILED (| REJECTED).

Timing: the generation stays PENDING for 10 % of ``generation_seconds``, then PROCESSING while the
inputs are fetched and the MP4 is rendered, and reaches its terminal status no sooner than
``generation_seconds`` after it was picked up (0 = as fast as rendering allows). A terminal status is
then posted to the webhook URL, if any.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from .faults import FaultPlan
from .render import RenderFailure, render_generation
from .store import ACTIVE, GenerationRecord, GenerationStore
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
        self._http = httpx.Client(timeout=fetch_timeout, follow_redirects=True)

    def submit(self, record: GenerationRecord) -> None:
        self._pool.submit(self._run, record.id)

    def cancel(self, generation_id: str) -> bool:
        """PENDING -> CANCELED (the old docs' cancel: only before processing starts)."""
        return self._finish(generation_id, "CANCELED", ("PENDING",), error="Generation canceled")

    def stop(self) -> None:
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

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
        if not self.store.transition(generation_id, "PROCESSING", ("PENDING",)):
            return  # canceled meanwhile
        if failure is not None:
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
            duration = render_generation(record.input, record.segments, workdir, output, self._http, fetched)
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
        if not self.store.transition(generation_id, status, allowed_from, **fields):
            return False
        record = self.store.get(generation_id)
        if record.webhook_url:
            self.webhooks.send(record.webhook_url, record.to_wire(self.output_url(record)))
        return True

    def _sleep(self, seconds: float) -> bool:
        """Sleep; True when the emulator is stopping."""
        if seconds <= 0:
            return self._stopping.is_set()
        return self._stopping.wait(seconds)

    def _sleep_until(self, deadline: float) -> bool:
        return self._sleep(deadline - time.monotonic())
