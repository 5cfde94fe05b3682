"""Synchronous validation of ``POST /v2/generate`` (and ``/v2/analyze/cost``, same body) like the
real API: 400 with an errorCode.

The rules follow the documented ones (docs' segments guide, SDK docstrings). Where the real API's
code names were not published, the emulator uses the descriptive codes listed in ``problems.py``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .problems import ApiProblem, invalid
from .speaker import check_active_speaker, check_options_override
from .records import STATUSES, sanitize_output_file_name

MODELS = ("lipsync-2", "lipsync-2-pro", "lipsync-1.9.0-beta", "react-1", "sync-3")
SYNC_MODES = ("bounce", "loop", "cut_off", "silence", "remap")
MODEL_MODES = ("lips", "face", "head")
PROMPTS = ("happy", "sad", "angry", "disgusted", "surprised", "neutral")
TOP_LEVEL_FIELDS = {"model", "input", "options", "segments", "webhookUrl", "outputFileName", "projectId"}
OUTPUT_FILE_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._~-]{1,128}")


def validate_idempotency_key(value: str | None) -> str | None:
    """None when the header is absent; 400 INVALID_IDEMPOTENCY_KEY when present but malformed."""
    if value is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise ApiProblem(
            400, "Idempotency-Key must be 1-128 characters of [A-Za-z0-9._~-]", "INVALID_IDEMPOTENCY_KEY"
        )
    return value


def validate_generate_body(body: Any) -> dict[str, Any]:
    """Check a create body; returns it with absent/null optionals dropped. Raises ApiProblem."""
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    unknown = sorted(set(body) - TOP_LEVEL_FIELDS)
    if unknown:
        raise invalid(f"property {unknown[0]} should not exist")
    clean = {key: value for key, value in body.items() if value is not None}
    model = clean.get("model")
    if not isinstance(model, str) or model not in MODELS:
        raise ApiProblem(
            400,
            f"model {model!r} is not supported; use one of {', '.join(MODELS)}",
            "generation_unsupported_model",
        )
    audio_refs = _check_inputs(clean.get("input"))
    segments = clean.get("segments")
    if segments is not None:
        _check_segments(segments, audio_refs)
    elif len(audio_refs) > 1:
        raise invalid("several audio inputs need a segments array", "generation_segments_required")
    if "options" in clean:
        _check_options(clean["options"], model)
    if "webhookUrl" in clean and not _is_http_url(clean["webhookUrl"]):
        raise invalid("webhookUrl must be an http(s) URL")
    if "outputFileName" in clean:
        if not isinstance(clean["outputFileName"], str):
            raise invalid("outputFileName must be a string")
        # the current API sanitises the name instead of refusing it (spaces -> '_', others stripped)
        name = sanitize_output_file_name(clean.pop("outputFileName"))
        if name:
            clean["outputFileName"] = name
    return clean


def _check_inputs(items: Any) -> list[str | None]:
    """Validates ``input``; returns the refIds of the audio/text items (None where not given)."""
    if not isinstance(items, list) or not items:
        raise invalid("input must be a non-empty array")
    videos, refs = 0, []
    for index, item in enumerate(items):
        where = f"input[{index}]"
        if not isinstance(item, dict) or item.get("type") not in ("video", "audio", "text", "image"):
            raise invalid(f"{where}.type must be one of video, audio, text, image")
        kind = item["type"]
        if kind == "image":
            raise invalid(f"{where}: image inputs are not supported by the emulator")
        if kind == "text":
            if not isinstance(item.get("provider"), dict):
                raise invalid(f"{where}.provider must be an object")
        elif item.get("assetId") is not None:
            raise invalid(f"{where}.assetId: the emulator has no asset library; give a url")
        elif not _is_http_url(item.get("url")):
            raise invalid(f"{where}.url must be an http(s) URL")
        if kind == "video":
            videos += 1
            continue
        ref = item.get("refId")
        if ref is not None and (not isinstance(ref, str) or not ref):
            raise invalid(f"{where}.refId must be a non-empty string")
        if ref is not None and ref in refs:
            raise invalid(f"refId {ref!r} is used by more than one input", "generation_duplicate_ref_id")
        refs.append(ref)
    if videos == 0:
        raise invalid("input needs one video item", "generation_video_missing")
    if videos > 1:
        raise invalid("input may hold only one video item")
    if not refs:
        raise invalid("input needs at least one audio or text item", "generation_audio_missing")
    return refs


def _check_segments(segments: Any, audio_refs: list[str | None]) -> None:
    if not isinstance(segments, list) or not segments:
        raise invalid("segments must be a non-empty array")
    if None in audio_refs:
        raise invalid("every audio/text input needs a refId when segments are used")
    for index, segment in enumerate(segments):
        where = f"segments[{index}]"
        if not isinstance(segment, dict):
            raise invalid(f"{where} must be an object")
        start, end = segment.get("startTime"), segment.get("endTime")
        if not (_is_number(start) and _is_number(end)):
            raise invalid(f"{where}.startTime and endTime must be numbers")
        if start < 0 or start > end:
            raise invalid(
                f"{where}: startTime {start} must be >= 0 and <= endTime {end}",
                "generation_segment_invalid_range",
            )
        audio = segment.get("audioInput")
        if not isinstance(audio, dict) or not isinstance(audio.get("refId"), str) or not audio["refId"]:
            raise invalid(f"{where}.audioInput.refId must be a non-empty string")
        if audio["refId"] not in audio_refs:
            raise invalid(
                f"{where}.audioInput.refId {audio['refId']!r} matches no input refId",
                "generation_segment_ref_not_found",
            )
        if segment.get("optionsOverride") is not None:
            check_options_override(segment["optionsOverride"], f"{where}.optionsOverride")
        crop_start, crop_end = audio.get("startTime"), audio.get("endTime")
        if (crop_start is None) != (crop_end is None):
            raise invalid(
                f"{where}.audioInput: startTime and endTime must be given together",
                "generation_segment_audio_crop_incomplete",
            )
        if crop_start is not None:
            if not (_is_number(crop_start) and _is_number(crop_end)):
                raise invalid(f"{where}.audioInput.startTime and endTime must be numbers")
            if crop_start < 0 or crop_start >= crop_end:
                raise invalid(
                    f"{where}.audioInput: crop startTime must be >= 0 and < endTime",
                    "generation_segment_invalid_range",
                )


def _check_options(options: Any, model: str) -> None:
    if not isinstance(options, dict):
        raise invalid("options must be an object")
    mode = options.get("sync_mode")
    if mode is not None and mode not in SYNC_MODES:
        raise invalid(f"options.sync_mode must be one of {', '.join(SYNC_MODES)}")
    temperature = options.get("temperature")
    if temperature is not None and not (_is_number(temperature) and 0 <= temperature <= 1):
        raise invalid("options.temperature must be a number between 0 and 1")
    check_active_speaker(options.get("active_speaker_detection"), "options.active_speaker_detection")
    occlusion = options.get("occlusion_detection_enabled")
    if occlusion is not None and not isinstance(occlusion, bool):
        raise invalid("options.occlusion_detection_enabled must be a boolean")
    for key, allowed in (("model_mode", MODEL_MODES), ("prompt", PROMPTS)):
        value = options.get(key)
        if value is not None and (model != "react-1" or value not in allowed):
            raise invalid(f"options.{key} is only for react-1 and must be one of {', '.join(allowed)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


LIST_LIMIT = (1, 100)


def parse_list_query(query: str) -> tuple[set[str], set[str], int | None]:
    """``GET /v2/generations`` query: (statuses, ids, limit). ``status`` and ``ids`` are comma lists
    or repeated (the SDK repeats them); a status outside the five documented ones, or a ``limit``
    that is not an integer in 1..100, is a 400 (the real code for it is not published)."""
    params = parse_qs(query)
    statuses = {s.strip() for value in params.get("status", []) for s in value.split(",") if s.strip()}
    unknown = sorted(statuses - set(STATUSES))
    if unknown:
        raise invalid(f"status {unknown[0]!r} is not one of {', '.join(STATUSES)}")
    ids = {i.strip() for value in params.get("ids", []) for i in value.split(",") if i.strip()}
    limit = None
    if "limit" in params:
        raw = params["limit"][-1]
        if not re.fullmatch(r"\d+", raw) or not LIST_LIMIT[0] <= int(raw) <= LIST_LIMIT[1]:
            raise invalid(f"limit must be an integer from {LIST_LIMIT[0]} to {LIST_LIMIT[1]}")
        limit = int(raw)
    return statuses, ids, limit


def wants_progress(query: str) -> bool:
    """``?include=progress`` (a comma list or repeated)."""
    return "progress" in {p.strip() for v in parse_qs(query).get("include", []) for p in v.split(",")}
