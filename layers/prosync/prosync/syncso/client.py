"""Sync.so v2 client over one reused httpx.Client.

No retries here: the state machine owns retrying (``SyncApiTransient``) with backoff and jitter, so a
Lambda invocation stays short and every attempt is visible in the execution history.
"""

from __future__ import annotations

from typing import Any, Self
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from .errors import SyncApiRejected, error_from_response, error_from_transport, invalid_response
from .models import GenerateRequest, Generation, GenerationStatus

USER_AGENT = "prosync-syncso-client/1"


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
            headers={"x-api-key": api_key, "accept": "application/json", "user-agent": USER_AGENT},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    # -- API -------------------------------------------------------------------------------------

    def create_generation(self, request: GenerateRequest, idempotency_key: str) -> Generation:
        """POST /v2/generate. The same key and body return the same generation, never a second one."""
        response = self._send(
            "POST", "/v2/generate", json=request.to_wire(), headers={"Idempotency-Key": idempotency_key}
        )
        return self._parse(response, Generation)

    def get_generation(self, generation_id: str) -> Generation:
        """GET /v2/generate/{id}."""
        if not generation_id:
            raise SyncApiRejected(None, "invalid_generation_id", "generation id is empty")
        response = self._send("GET", f"/v2/generate/{quote(generation_id, safe='')}")
        return self._parse(response, Generation)

    def list_generations(
        self, status: list[GenerationStatus] | None = None, ids: list[str] | None = None
    ) -> list[Generation]:
        """GET /v2/generations filtered by statuses and/or ids (comma-separated, as the SDK sends)."""
        params: dict[str, str] = {}
        if status:
            params["status"] = ",".join(GenerationStatus(s).value for s in status)
        if ids:
            params["ids"] = ",".join(ids)
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
    def _parse(response: httpx.Response, model: type[Generation]) -> Generation:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise invalid_response(response, str(exc)) from exc
