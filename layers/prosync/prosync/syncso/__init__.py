"""Sync.so v2 generation API: client, wire models, typed errors, webhook signatures."""

from .client import SyncClient
from .errors import SyncApiError, SyncApiRejected, SyncApiTransient
from .models import (
    FINAL_STATUSES,
    LISTABLE_STATUSES,
    MODELS,
    SYNC_MODES,
    CostEstimate,
    GenerateRequest,
    Generation,
    GenerationOptions,
    GenerationStatus,
    InputItem,
    Segment,
    SegmentAudioInput,
    video_url_of,
)
from .webhooks import (
    SIGNATURE_HEADER,
    WebhookError,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
    sign,
    sign_payload,
    verify,
    verify_signature,
)

__all__ = [
    "FINAL_STATUSES",
    "LISTABLE_STATUSES",
    "MODELS",
    "SIGNATURE_HEADER",
    "SYNC_MODES",
    "CostEstimate",
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
    "WebhookError",
    "WebhookPayloadInvalid",
    "WebhookSignatureInvalid",
    "sign",
    "sign_payload",
    "verify",
    "verify_signature",
    "video_url_of",
]
