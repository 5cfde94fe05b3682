"""Sync.so v2 client over one reused httpx.Client.

No retries here: the state machine owns retrying (``SyncApiTransient``) with backoff and jitter, so a
Lambda invocation stays short and every attempt is visible in the execution history.

Timeouts: the client's ``timeout`` (short) applies to status, list and estimate calls; create takes
its own (``create_generation(..., timeout=)``), since Sync.so may take long to accept a body (the SDK
waits 60 s, Sync's Premiere extension 120 s).
"""

from __future__ import annotations

from typing import Any, Self
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from .errors import SyncApiRejected, error_from_response, error_from_transport, invalid_response
from .models import LISTABLE_STATUSES, CostEstimate, GenerateRequest, Generation, GenerationStatus

USER_AGENT = "prosync-syncso-client/2"
JSON = "application/json"


def _body_bytes(body: GenerateRequest | bytes) -> bytes:
    return body if isinstance(body, bytes) else body.to_bytes()


class SyncClient:
    """``SyncClient(base_url, api_key)``; use as a context manager or call ``close()``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("a Sync.so API key is required")
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"x-api-key": api_key, "accept": JSON, "user-agent": USER_AGENT},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    # -- API -------------------------------------------------------------------------------------

    def create_generation(
        self, body: GenerateRequest | bytes, idempotency_key: str, *, timeout: float | None = None
    ) -> Generation:
        """POST /v2/generate with exactly these bytes. The same key and body return the same
        generation, never a second one (so a retry must send the very same bytes)."""
        response = self._send(
            "POST", "/v2/generate", content=_body_bytes(body),
            headers={"Idempotency-Key": idempotency_key, "content-type": JSON},
            **({"timeout": timeout} if timeout is not None else {}),
        )
        return self._parse(response)

    def estimate_cost(self, body: GenerateRequest | bytes) -> CostEstimate:
        """POST /v2/analyze/cost with the create body (SDK ``estimate_cost``)."""
        response = self._send("POST", "/v2/analyze/cost", content=_body_bytes(body),
                              headers={"content-type": JSON})
        try:
            return CostEstimate.from_answer(response.json())
        except ValueError as exc:
            raise invalid_response(response, str(exc)) from exc

    def get_generation(self, generation_id: str, *, include_progress: bool = False) -> Generation:
        """GET /v2/generate/{id} (``?include=progress`` adds ``progress_percent``)."""
        if not generation_id:
            raise SyncApiRejected(None, "invalid_generation_id", "generation id is empty")
        params = {"include": "progress"} if include_progress else None
        response = self._send("GET", f"/v2/generate/{quote(generation_id, safe='')}", params=params)
        return self._parse(response)

    def list_generations(
        self,
        status: list[GenerationStatus | str] | None = None,
        ids: list[str] | None = None,
        limit: int | None = None,
    ) -> list[Generation]:
        """GET /v2/generations, filtered by documented statuses (comma list) and/or ids; ``limit``
        bounds the answer (without it the whole organisation history comes back)."""
        params: dict[str, str] = {}
        if status:
            wanted = [GenerationStatus(s).value for s in status]
            unknown = [s for s in wanted if s not in LISTABLE_STATUSES]
            if unknown:  # Sync.so answers 400 to anything else: refuse before asking
                raise ValueError(f"List Generations only filters by {LISTABLE_STATUSES}, not {unknown}")
            params["status"] = ",".join(wanted)
        if ids:
            params["ids"] = ",".join(ids)
        if limit is not None:
            params["limit"] = str(int(limit))
        response = self._send("GET", "/v2/generations", params=params)
        try:
            body = response.json()
            items = body if isinstance(body, list) else None
            if items is None:
                raise invalid_response(response, f"expected a JSON array, got {type(body).__name__}")
            return [Generation.model_validate(item) for item in items]
        except (ValueError, ValidationError) as exc:
            raise invalid_response(response, str(exc)) from exc

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:  # timeouts, refused/reset connections, protocol errors
            raise error_from_transport(exc) from exc
        if not response.is_success:
            raise error_from_response(response)
        return response

    @staticmethod
    def _parse(response: httpx.Response) -> Generation:
        try:
            return Generation.model_validate_json(response.content)
        except ValidationError as exc:
            raise invalid_response(response, str(exc)) from exc
