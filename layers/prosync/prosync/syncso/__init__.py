"""Sync.so v2 generation API: client, wire models, typed errors, webhook signatures."""

from .client import SyncClient
from .errors import SyncApiError, SyncApiRejected, SyncApiTransient
from .models import (
    MODELS,
    SYNC_MODES,
    GenerateRequest,
    Generation,
    GenerationOptions,
    GenerationStatus,
    InputItem,
    Segment,
    SegmentAudioInput,
)
from .webhooks import SIGNATURE_HEADER, sign_payload, verify_signature

__all__ = [
    "MODELS",
    "SIGNATURE_HEADER",
    "SYNC_MODES",
    "GenerateRequest",
    "Generation",
    "GenerationOptions",
    "GenerationStatus",
    "InputItem",
    "Segment",
    "SegmentAudioInput",
    "SyncApiError",
    "SyncApiRejected",
    "SyncApiTransient",
    "SyncClient",
    "sign_payload",
    "verify_signature",
]
