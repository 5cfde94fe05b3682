"""The submit step: build Sync.so's request from the job and create the generation.

Input (from the jobstore's `mark_submitting`): `{jobId, model, videoKey, audioKeys: {refId: key},
videoVersionId?, audioVersionIds?: {refId: versionId}, segments, options, outputFileName}`. Inputs go
to Sync.so as presigned GET URLs of the uploaded objects, each with the `versionId` start checked when
it recorded one (a versioned bucket): Sync.so's plain GET then fetches exactly the checked bytes, even
after a re-upload to the key. Without one (a bucket without versioning, a job started before version
ids were recorded) the URL is of the key, as it is now. `Idempotency-Key` is the job id, so a retried
submit never makes a second generation.

A presigned URL carries its signing time and credentials, so a retry after Sync.so already took the
first request sends a different body under the same key: Sync.so then answers 409
`IDEMPOTENCY_KEY_REUSED`. That means "this job already has a generation": we find it (the generation
whose video input is this job's object) instead of failing the job.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from prosync.settings import SubmitSettings
from prosync.storage.presign import presign_input
from prosync.syncso import (
    GenerateRequest, Generation, GenerationOptions, GenerationStatus, Segment, SyncApiRejected, SyncClient,
)

KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


def build_request(event: dict[str, Any], settings: SubmitSettings, s3) -> GenerateRequest:
    def url(key: str, version_id: str | None) -> str:
        return presign_input(s3, bucket=settings.media_bucket, key=key, version_id=version_id,
                             expires_in=settings.sync_input_url_expiry_seconds)

    versions = event.get("audioVersionIds") or {}
    return GenerateRequest.for_segments(
        model=event["model"],
        video_url=url(event["videoKey"], event.get("videoVersionId")),
        audio_urls={ref_id: url(key, versions.get(ref_id)) for ref_id, key in event["audioKeys"].items()},
        segments=[Segment.model_validate(segment) for segment in event["segments"]],
        options=sync_options(event.get("options")),
        webhook_url=settings.webhook_url,
        output_file_name=event.get("outputFileName") or None,
    )


def sync_options(options: dict[str, Any] | None) -> GenerationOptions | None:
    """The job's options as Sync.so takes them. Our API's `active_speaker_detection` is a boolean
    (auto-detection on or off); Sync.so's is an object, `{"auto_detect": bool}` for that."""
    if not options:
        return None
    wire = dict(options)
    if isinstance(wire.get("active_speaker_detection"), bool):
        wire["active_speaker_detection"] = {"auto_detect": wire["active_speaker_detection"]}
    return GenerationOptions.model_validate(wire)


def submit(event: dict[str, Any], settings: SubmitSettings, client: SyncClient, s3) -> dict[str, Any]:
    request = build_request(event, settings, s3)
    try:
        generation = client.create_generation(request, idempotency_key=str(event["jobId"]))
    except SyncApiRejected as exc:
        if exc.code != KEY_REUSED:
            raise
        generation = find_existing(client, event["videoKey"])
        if generation is None:
            raise
    return {"generationId": generation.id, "status": generation.status.value}


def find_existing(client: SyncClient, video_key: str) -> Generation | None:
    """The newest generation whose video input is the object `video_key` (unique per job)."""
    for generation in client.list_generations(status=list(GenerationStatus)):
        for item in generation.input:
            path = unquote(urlsplit(item.url).path) if item.url else ""
            if item.type == "video" and path.endswith("/" + video_key):
                return generation
    return None
