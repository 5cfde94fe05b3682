"""A local stand-in for Sync.so's v2 generation API (same paths, validation, statuses, errors,
signed webhooks) that renders real MP4s from the input URLs, with faults on demand."""

from .faults import Fault, FaultPlan
from .outputs import synthetic_bytes
from .server import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, EmulatorServer

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_WEBHOOK_SECRET",
    "EmulatorServer",
    "Fault",
    "FaultPlan",
    "synthetic_bytes",
]
