"""Streaming multipart upload to S3 with bounded part buffers.

One part is sent in a background thread while the next is read, so reading the source and writing
to S3 overlap; memory stays at about two parts (`part_size`, >= 5 MiB as S3 requires for all but the
last part) plus one incoming chunk, whatever the object's size. Any failure (the source breaking half-way, an S3
error, an exception from the caller) aborts the multipart upload, so no orphan parts are left
behind; the bucket's lifecycle rule for incomplete uploads is only the backstop for a killed process.
Parts carry CRC32 checksums (declared at create, echoed at complete, as S3 wants it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024
MIN_PART_BYTES = 5 * MIB
MAX_PARTS = 10_000

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


class MultipartUpload:
    """`with MultipartUpload(s3, bucket, key) as up: up.write(b"..."); result = up.complete()`."""

    def __init__(self, s3, bucket: str, key: str, part_size: int = 8 * MIB, content_type: str | None = None):
        if part_size < MIN_PART_BYTES:
            raise ValueError(f"part_size must be at least {MIN_PART_BYTES} bytes")
        self.s3, self.bucket, self.key, self.part_size = s3, bucket, key, part_size
        self.content_type = content_type
        self.upload_id: str | None = None
        self.size = 0
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._next_part = 1
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="multipart")
        self._in_flight: Future | None = None  # at most one part being sent
        self._done = False

    def __enter__(self) -> MultipartUpload:
        extra = {"ContentType": self.content_type} if self.content_type else {}
        self.upload_id = self.s3.create_multipart_upload(
            Bucket=self.bucket, Key=self.key, ChecksumAlgorithm="CRC32", **extra)["UploadId"]
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if not self._done:
            self.abort()
        self._sender.shutdown(wait=True)
        return False

    def write(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= self.part_size:
            self._upload_part(bytes(self._buffer[: self.part_size]))
            del self._buffer[: self.part_size]

    def complete(self) -> UploadResult:
        if self.size == 0:
            raise EmptyUpload(f"nothing to upload to s3://{self.bucket}/{self.key}")
        if self._buffer:
            self._upload_part(bytes(self._buffer))
            self._buffer.clear()
        self._wait_in_flight()
        answer = self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self._parts})
        self._done = True
        return UploadResult(self.bucket, self.key, self.size, len(self._parts), answer.get("ETag", ""))

    def abort(self) -> None:
        """Drop every part uploaded so far (safe to call twice; logs rather than masks an error)."""
        if self._done or self.upload_id is None:
            return
        self._done = True
        self._buffer.clear()
        try:  # a part still being sent would otherwise land after the abort and be orphaned
            self._wait_in_flight()
        except Exception:
            pass
        try:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
        except Exception:  # the caller's own error matters more; lifecycle cleans up what is left
            log.exception("could not abort multipart upload %s of s3://%s/%s",
                          self.upload_id, self.bucket, self.key)

    def _upload_part(self, body: bytes) -> None:
        number = self._next_part
        if number > MAX_PARTS:
            raise ValueError(f"more than {MAX_PARTS} parts: raise part_size")
        self._next_part += 1
        self._wait_in_flight()  # re-raises the previous part's error; bounds memory to one part in flight
        self._in_flight = self._sender.submit(self._send_part, number, body)

    def _wait_in_flight(self) -> None:
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            in_flight.result()

    def _send_part(self, number: int, body: bytes) -> None:
        answer = self.s3.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                     PartNumber=number, Body=body, ChecksumAlgorithm="CRC32")
        part = {"PartNumber": number, "ETag": answer["ETag"]}
        if answer.get("ChecksumCRC32"):
            part["ChecksumCRC32"] = answer["ChecksumCRC32"]
        self._parts.append(part)


def upload_stream(s3, bucket: str, key: str, chunks: Iterable[bytes], part_size: int = 8 * MIB,
                  content_type: str | None = None) -> UploadResult:
    """Upload everything `chunks` yields as one object; abort the upload if anything fails."""
    with MultipartUpload(s3, bucket, key, part_size=part_size, content_type=content_type) as upload:
        for chunk in chunks:
            upload.write(chunk)
        return upload.complete()
