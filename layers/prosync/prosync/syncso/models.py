"""Pydantic models of Sync.so's v2 wire format (POST/GET /v2/generate).

Python attribute names are snake_case; the wire names are Sync.so's exact spelling (camelCase at the top
level, snake_case inside ``options`` and for ``error_code``). Every model accepts both spellings
(``populate_by_name``) and keeps unknown fields, so a newer API adding fields never breaks parsing.
Only ``GenerateRequest`` forbids unknown top-level keys: it is built by our own code, and a typo there
must fail loudly instead of being sent to Sync.so.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SYNC_MODES = ("bounce", "loop", "cut_off", "silence", "remap")
MODELS = ("lipsync-2", "lipsync-2-pro", "lipsync-1.9.0-beta", "react-1", "sync-3")


class GenerationStatus(str, Enum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    CANCELED = "CANCELED"
    TIMED_OUT = "TIMED_OUT"

    @property
    def terminal(self) -> bool:
        """True once the generation will not change any more."""
        return self not in (GenerationStatus.PENDING, GenerationStatus.PROCESSING)


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
    """Body of ``POST /v2/generate``."""

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


class Generation(WireModel):
    """A generation as returned by ``GET /v2/generate/{id}`` (and sent to webhooks)."""

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
    error: str | None = None
    error_code: str | None = None

    @property
    def result_url(self) -> str | None:
        """The output URL under either spelling (newer docs: ``outputUrl`` aliases ``outputMediaUrl``)."""
        return self.output_url or self.output_media_url
