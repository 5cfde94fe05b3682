"""Multipart upload to S3: parts sent concurrently in a bounded window, CRC32-checked, resumable.

- At most `in_flight` parts are held in memory or being sent at once (`parts.PartWindow`): a caller that
  wants to add a part waits for a free slot first, so memory is `in_flight` parts (plus the one a
  streaming writer is filling) whatever the object's size. Parts are sent by `in_flight` threads.
- Every part carries its CRC32 (`ChecksumAlgorithm=CRC32`: botocore computes it, S3 refuses a part
  whose bytes do not match); the upload is created with CRC32 and completed with each part's checksum.
- Resumable: `find_upload` finds the in-progress upload of a key (ListMultipartUploads, then ListParts),
  so a retried (or crashed and restarted) copy continues it and sends only the parts it lacks.
  `abort_uploads` drops every in-progress upload of a key but one: after a completion nothing of the
  key is left half-done.
- `MultipartUpload` aborts on an error unless the caller says the error will be retried
  (`keep_on`): then the upload and its parts stay for the retry to resume. The bucket's lifecycle
  rule for incomplete uploads is the backstop for a process that is killed or never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from prosync.storage.parts import MAX_PARTS, MIB, PartWindow, Source

MIN_PART_BYTES = 5 * MIB

log = logging.getLogger(__name__)


class EmptyUpload(ValueError):
    """Nothing was written: S3 cannot complete a multipart upload without bytes."""


@dataclass(frozen=True)
class UploadResult:
    bucket: str
    key: str
    size: int
    parts: int
    etag: str
    sent_parts: int = 0  # parts sent by this run (the others were uploaded by an earlier attempt)
    upload_id: str = ""


def part_size_for(size: int | None, preferred: int) -> int:
    """`preferred`, or larger (whole MiB) when `size` would need more than S3's 10,000 parts."""
    if size is None or size <= preferred * MAX_PARTS:
        return preferred
    return -(-size // (MAX_PARTS * MIB)) * MIB


def find_upload(s3, bucket: str, key: str) -> tuple[str | None, dict[int, dict[str, Any]]]:
    """The in-progress upload of `key` holding the most bytes, and its parts by number (None, {}
    when there is none). A listing S3 refuses (no permission) is logged and means none."""
    best: tuple[str | None, dict[int, dict[str, Any]]] = (None, {})
    try:
        for upload_id in _upload_ids(s3, bucket, key):
            try:
                parts = {p["PartNumber"]: p for page in s3.get_paginator("list_parts").paginate(
                    Bucket=bucket, Key=key, UploadId=upload_id) for p in page.get("Parts", [])}
            except ClientError as exc:
                if _code(exc) != "NoSuchUpload":  # aborted or completed meanwhile
                    raise
                continue
            if best[0] is None or _bytes(parts) > _bytes(best[1]):
                best = (upload_id, parts)
    except (ClientError, BotoCoreError) as exc:
        log.warning("cannot list the multipart uploads of s3://%s/%s, starting afresh: %s", bucket, key, exc)
        return None, {}
    return best


def abort_uploads(s3, bucket: str, key: str, keep: str | None = None) -> int:
    """Abort every in-progress upload of `key` except `keep`; how many were aborted (failures logged)."""
    aborted = 0
    try:
        for upload_id in _upload_ids(s3, bucket, key):
            if upload_id != keep:
                _abort(s3, bucket, key, upload_id)
                aborted += 1
    except (ClientError, BotoCoreError) as exc:
        log.warning("cannot list the multipart uploads of s3://%s/%s: %s", bucket, key, exc)
    return aborted


def _upload_ids(s3, bucket: str, key: str) -> list[str]:
    pages = s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=key)
    return [u["UploadId"] for page in pages for u in page.get("Uploads", []) if u["Key"] == key]


def _abort(s3, bucket: str, key: str, upload_id: str) -> None:
    try:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except (ClientError, BotoCoreError):  # the caller's own error matters more; lifecycle cleans up
        log.exception("could not abort multipart upload %s of s3://%s/%s", upload_id, bucket, key)


def _bytes(parts: dict[int, dict[str, Any]]) -> int:
    return sum(int(p.get("Size", 0)) for p in parts.values())


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class MultipartUpload:
    """`with MultipartUpload(s3, bucket, key) as up: up.write(b"..."); result = up.complete()`.

    `upload_id`/`existing` (from `find_upload`) resume an upload: `has(n, size)` tells whether part n
    is already there with that size, and `put(n, fetch)` sends a part fetched in a worker.
    `keep_on(exc)`: True when the failure will be retried, so the upload is kept for the retry."""

    def __init__(self, s3, bucket: str, key: str, part_size: int = 8 * MIB, content_type: str | None = None,
                 in_flight: int = 2, upload_id: str | None = None,
                 existing: dict[int, dict[str, Any]] | None = None,
                 keep_on: Callable[[BaseException], bool] = lambda exc: False):
        if part_size < MIN_PART_BYTES:
            raise ValueError(f"part_size must be at least {MIN_PART_BYTES} bytes")
        self.s3, self.bucket, self.key, self.part_size = s3, bucket, key, part_size
        self.content_type, self.in_flight, self.upload_id = content_type, in_flight, upload_id
        self.existing = dict(existing or {}) if upload_id else {}
        self.keep_on = keep_on
        self.size = 0
        self._buffer = bytearray()
        self._next_part = 1
        self._window: PartWindow | None = None
        self._done = False

    def __enter__(self) -> MultipartUpload:
        if self.upload_id is None:
            extra = {"ContentType": self.content_type} if self.content_type else {}
            self.upload_id = self.s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ChecksumAlgorithm="CRC32", **extra)["UploadId"]
        self._window = PartWindow(self.s3, self.bucket, self.key, self.upload_id, self.in_flight, self.part_size)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self._window is not None
        self._window.close()
        if not self._done:
            if exc is not None and self.keep_on(exc):
                log.info("multipart upload %s of s3://%s/%s kept for a retry (%d parts)", self.upload_id,
                         self.bucket, self.key, len(self.existing) + len(self._window.parts))
            else:
                self.abort()
        return False

    @property
    def sent(self) -> int:
        return self._window.sent if self._window else 0

    def has(self, number: int, size: int) -> bool:
        return int(self.existing.get(number, {}).get("Size", -1)) == size

    def put(self, number: int, source: Source) -> None:
        """Send part `number` once a slot is free (`source`: bytes, or a fetch run in the worker)."""
        assert self._window is not None
        self._window.reserve()
        self._window.send(number, source)

    def write(self, data: bytes) -> None:
        """Append to the object (streaming): full parts go out in order, parts numbered from 1."""
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= self.part_size:
            self._stream_part(bytes(self._buffer[: self.part_size]))
            del self._buffer[: self.part_size]

    def complete(self, size: int | None = None, count: int | None = None) -> UploadResult:
        """Complete with parts 1..`count` (this run's and the kept ones), by default up to the last one
        written; `size`: the object's size (by default what was written)."""
        assert self._window is not None
        if self._buffer:
            self._stream_part(bytes(self._buffer))
            self._buffer.clear()
        self._window.drain()
        parts = {**self.existing, **self._window.parts}
        last = count if count is not None else self._next_part - 1
        listed = [parts[n] for n in range(1, last + 1) if n in parts]
        total = size if size is not None else self.size or _bytes({p["PartNumber"]: p for p in listed})
        if total == 0 or not listed:
            raise EmptyUpload(f"nothing to upload to s3://{self.bucket}/{self.key}")
        if len(listed) != last:
            raise RuntimeError(f"parts missing from upload {self.upload_id}: {last - len(listed)} of {last}")
        wanted = [{k: p[k] for k in ("PartNumber", "ETag", "ChecksumCRC32") if p.get(k)} for p in listed]
        answer = self.s3.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                                   MultipartUpload={"Parts": wanted})
        self._done = True
        abort_uploads(self.s3, self.bucket, self.key, keep=self.upload_id)  # e.g. a duplicate attempt's
        return UploadResult(self.bucket, self.key, total, len(listed), answer.get("ETag", ""),
                            self._window.sent, self.upload_id)

    def abort(self) -> None:
        """Drop every part uploaded so far (safe to call twice; logs rather than masks an error)."""
        if self._done or self.upload_id is None:
            return
        self._done = True
        self._buffer.clear()
        if self._window is not None:
            self._window.close()  # a part still being sent would otherwise land after the abort
        _abort(self.s3, self.bucket, self.key, self.upload_id)

    def _stream_part(self, body: bytes) -> None:
        number, self._next_part = self._next_part, self._next_part + 1
        if not self.has(number, len(body)):
            self.put(number, body)


def upload_stream(s3, bucket: str, key: str, chunks: Iterable[bytes], part_size: int = 8 * MIB,
                  content_type: str | None = None, in_flight: int = 2) -> UploadResult:
    """Upload everything `chunks` yields as one object; abort the upload if anything fails."""
    with MultipartUpload(s3, bucket, key, part_size=part_size, content_type=content_type,
                         in_flight=in_flight) as upload:
        for chunk in chunks:
            upload.write(chunk)
        return upload.complete()
