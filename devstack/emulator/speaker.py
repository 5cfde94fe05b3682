"""The emulator's check of ``active_speaker_detection`` (job ``options`` and a segment's
``optionsOverride``), after shared/reference/syncso-api.md §2.4 and §9: an object that is either
``{"auto_detect": bool}``, or a manual point ``{"frame_number": int >= 0, "coordinates": [x, y]}``
(ints >= 0, pixels; ``auto_detect`` absent or false), or ``{"bounding_boxes": [[x1, y1, x2, y2] | null,
...]}`` (one entry per frame). Nothing else is accepted: a wrong shape is 400 like any invalid body.

``optionsOverride``'s fields are not documented (reference §2.5); the emulator takes the per-generation
options that make sense per range (``active_speaker_detection``, ``sync_mode``, ``temperature``,
``occlusion_detection_enabled``), with the same rules as ``options``, and refuses any other key so
that a typo in our own request shows up in tests (docs/ARCHITECTURE.md, "Speaker selection").
"""

from __future__ import annotations

from typing import Any

from .problems import invalid

SPEAKER_KEYS = {"auto_detect", "frame_number", "coordinates", "bounding_boxes"}
OVERRIDE_KEYS = {"active_speaker_detection", "sync_mode", "temperature", "occlusion_detection_enabled"}


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_active_speaker(speaker: Any, where: str) -> None:
    if speaker is None:
        return
    if not isinstance(speaker, dict):
        raise invalid(f"{where} must be an object")
    unknown = sorted(set(speaker) - SPEAKER_KEYS)
    if unknown:
        raise invalid(f"{where}.{unknown[0]} should not exist")
    auto = speaker.get("auto_detect")
    if auto is not None and not isinstance(auto, bool):
        raise invalid(f"{where}.auto_detect must be a boolean")
    manual = "frame_number" in speaker or "coordinates" in speaker
    boxes = speaker.get("bounding_boxes")
    if manual:
        if auto or boxes is not None:
            raise invalid(f"{where}: frame_number + coordinates go without auto_detect: true or bounding_boxes")
        if not _int(speaker.get("frame_number")):
            raise invalid(f"{where}.frame_number must be an integer >= 0")
        point = speaker.get("coordinates")
        if not (isinstance(point, list) and len(point) == 2 and all(_int(v) for v in point)):
            raise invalid(f"{where}.coordinates must be [x, y], integers >= 0 (pixels)")
    elif boxes is not None:
        if auto or not isinstance(boxes, list) or not boxes:
            raise invalid(f"{where}.bounding_boxes must be a non-empty array, without auto_detect: true")
        for box in boxes:
            if box is not None and not (isinstance(box, list) and len(box) == 4 and all(_int(v) for v in box)):
                raise invalid(f"{where}.bounding_boxes: each entry is [x1, y1, x2, y2] (integers) or null")
    elif auto is None:
        raise invalid(f"{where} needs auto_detect, frame_number + coordinates, or bounding_boxes")


def check_options_override(override: Any, where: str) -> None:
    if not isinstance(override, dict):
        raise invalid(f"{where} must be an object")
    unknown = sorted(set(override) - OVERRIDE_KEYS)
    if unknown:
        raise invalid(f"{where}.{unknown[0]} should not exist")
    check_active_speaker(override.get("active_speaker_detection"), f"{where}.active_speaker_detection")
