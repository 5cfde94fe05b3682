"""Pydantic models of Sync.so's v2 wire format (POST/GET /v2/generate, list, cost estimate).

Python attribute names are snake_case; the wire names are Sync.so's exact spelling (camelCase at the top
level, snake_case inside ``options``). Answers are read leniently, as the official SDK reads them
(shared/reference/syncso-api.md §9): both failure-code spellings (``errorCode``, ``error_code``), both
output URL spellings (``outputMediaUrl``, its deprecated alias ``outputUrl``), ``progress_percent``, and
any status string (an unknown one parses and counts as still running). Unknown fields are kept. Only
``GenerateRequest`` forbids unknown top-level keys: it is built by our own code, and a typo there must
fail loudly instead of being sent to Sync.so.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import Enum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

SYNC_MODES = ("bounce", "loop", "cut_off", "silence", "remap")
MODELS = ("lipsync-2", "lipsync-2-pro", "lipsync-1.9.0-beta", "react-1", "sync-3")


class GenerationStatus(str, Enum):
    """Sync.so's generation status. A string Sync.so adds later parses too (a pseudo-member that is
    not terminal): the SDK types the field ``Literal[...] | Any`` and so must we."""

    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    CANCELED = "CANCELED"  # old docs-v2 only: tolerated as a final failure
    TIMED_OUT = "TIMED_OUT"  # oldest docs only: tolerated as a final failure

    @classmethod
    def _missing_(cls, value: object) -> GenerationStatus | None:
        if not isinstance(value, str) or not value:
            return None
        member = str.__new__(cls, value)
        member._name_ = member._value_ = value
        return member

    @property
    def known(self) -> bool:
        return self.value in GenerationStatus.__members__

    @property
    def terminal(self) -> bool:
        """True once the generation will not change any more (unknown statuses: still running)."""
        return self.value in FINAL_STATUSES

    @property
    def normalized(self) -> GenerationStatus:
        """One of the five documented statuses: CANCELED/TIMED_OUT count as REJECTED (a final failure
        that is not worth retrying), an unknown status as PROCESSING (still running)."""
        if self.value in ("CANCELED", "TIMED_OUT"):
            return GenerationStatus.REJECTED
        return self if self.known else GenerationStatus.PROCESSING


FINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "REJECTED", "CANCELED", "TIMED_OUT"})
# What List Generations accepts as a filter (anything else is a documented 400).
LISTABLE_STATUSES = ("PENDING", "PROCESSING", "COMPLETED", "FAILED", "REJECTED")


class WireModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    def to_wire(self) -> dict[str, Any]:
        """The JSON object as Sync.so spells it, unset optionals omitted."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class InputItem(WireModel):
    """One element of ``input``: a video, an audio, a TTS text or (sync-3) an image."""

    type: str  # "video", "audio", "text" (TTS) or "image"; kept open so a new kind never breaks polling
    url: str | None = None
    asset_id: str | None = Field(default=None, alias="assetId")
    ref_id: str | None = Field(default=None, alias="refId")
    provider: dict[str, Any] | None = None  # TTS provider object of a "text" item


class GenerationOptions(WireModel):
    """``options``: snake_case on the wire too, so no aliases."""

    sync_mode: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=1.0)
    active_speaker_detection: dict[str, Any] | None = None
    occlusion_detection_enabled: bool | None = None
    model_mode: str | None = None
    prompt: str | None = None


class SegmentAudioInput(WireModel):
    ref_id: str = Field(alias="refId")
    start_time: float | None = Field(default=None, alias="startTime")
    end_time: float | None = Field(default=None, alias="endTime")


class Segment(WireModel):
    start_time: float = Field(alias="startTime")
    end_time: float = Field(alias="endTime")
    audio_input: SegmentAudioInput = Field(alias="audioInput")
    options_override: dict[str, Any] | None = Field(default=None, alias="optionsOverride")


class GenerateRequest(WireModel):
    """Body of ``POST /v2/generate`` (and of ``POST /v2/analyze/cost``)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    model: str
    input: list[InputItem]
    options: GenerationOptions | None = None
    segments: list[Segment] | None = None
    webhook_url: str | None = Field(default=None, alias="webhookUrl")
    output_file_name: str | None = Field(default=None, alias="outputFileName")

    @classmethod
    def for_segments(
        cls,
        *,
        model: str,
        video_url: str,
        audio_urls: dict[str, str],
        segments: list[Segment],
        options: GenerationOptions | None = None,
        webhook_url: str | None = None,
        output_file_name: str | None = None,
    ) -> GenerateRequest:
        """A request with one video and one audio item per refId (``audio_urls`` maps refId to URL)."""
        items = [InputItem(type="video", url=video_url)]
        items += [InputItem(type="audio", url=url, ref_id=ref_id) for ref_id, url in audio_urls.items()]
        return cls(
            model=model,
            input=items,
            options=options,
            segments=segments,
            webhook_url=webhook_url,
            output_file_name=output_file_name,
        )

    def to_bytes(self) -> bytes:
        """The exact bytes sent: compact UTF-8 JSON (stored once per attempt and replayed as is)."""
        return json.dumps(self.to_wire(), separators=(",", ":"), ensure_ascii=False).encode()


def video_url_of(body: bytes | dict[str, Any]) -> str | None:
    """The video input's URL of a create body (stored bytes or parsed)."""
    parsed = json.loads(body) if isinstance(body, bytes | str) else body
    for item in parsed.get("input") or []:
        if isinstance(item, dict) and item.get("type") == "video":
            return item.get("url")
    return None


class Generation(WireModel):
    """A generation as returned by ``GET /v2/generate/{id}``, listed, or posted to a webhook."""

    id: str
    created_at: dt.datetime = Field(alias="createdAt")
    status: GenerationStatus
    model: str
    input: list[InputItem] = Field(default_factory=list)
    options: GenerationOptions | None = None
    segments: list[Segment] | None = None
    webhook_url: str | None = Field(default=None, alias="webhookUrl")
    output_url: str | None = Field(default=None, alias="outputUrl")
    output_media_url: str | None = Field(default=None, alias="outputMediaUrl")
    output_duration: float | None = Field(default=None, alias="outputDuration")
    segment_output_url: str | None = Field(default=None, alias="segmentOutputUrl")
    progress_percent: float | None = Field(
        default=None, validation_alias=AliasChoices("progress_percent", "progressPercent"),
        serialization_alias="progress_percent")
    error: str | None = None
    error_code: str | None = Field(default=None, alias="error_code")

    @model_validator(mode="before")
    @classmethod
    def _either_code_spelling(cls, data: Any) -> Any:
        """``errorCode`` (current reference pages) or ``error_code`` (SDK 0.3.0, webhook page)."""
        if isinstance(data, dict) and data.get("errorCode") and not data.get("error_code"):
            data = {**data, "error_code": data["errorCode"]}
        return data

    @property
    def result_url(self) -> str | None:
        """The output URL under either spelling (``outputUrl`` is the deprecated alias)."""
        return self.output_media_url or self.output_url

    @property
    def progress(self) -> int | None:
        """``progress_percent`` as a whole number 0-100, when Sync.so gave one."""
        if self.progress_percent is None:
            return None
        return int(min(100.0, max(0.0, self.progress_percent)))


class CostEstimate(BaseModel):
    """``POST /v2/analyze/cost``: what the body would cost, in USD and frames (summed over the items)."""

    usd: float
    frames: int

    @classmethod
    def from_answer(cls, answer: Any) -> CostEstimate:
        """From the SDK's array of ``{estimatedFrameCount, estimatedGenerationCost}`` (or one object,
        as the newer estimate route answers). Raises ValueError on any other shape."""
        items = answer if isinstance(answer, list) else [answer]
        if not items or not all(isinstance(item, dict) for item in items):
            raise ValueError(f"unexpected cost estimate: {str(answer)[:200]}")
        try:
            usd = sum(float(item["estimatedGenerationCost"]) for item in items)
            frames = sum(float(item["estimatedFrameCount"]) for item in items)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"unexpected cost estimate: {str(answer)[:200]}") from exc
        return cls(usd=round(usd, 6), frames=int(round(frames)))
