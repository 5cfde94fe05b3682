"""The parts of a multipart upload in flight: a bounded window of sender threads and reused buffers.

A slot is taken before a part's bytes exist and given back once S3 has the part, so at most
`in_flight` parts are held at once whatever the object's size. Fetched parts are filled into reused
buffers and sent from them in place (`_PartBody`), so memory does not churn part after part.
"""

from __future__ import annotations

import base64
import io
import queue
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

MIB = 1024 * 1024
MAX_PARTS = 10_000
Source = bytes | Callable[[bytearray], int]  # a part's bytes, or a fill(buffer) -> length


def crc32_b64(data: bytes) -> str:
    """S3's `ChecksumCRC32`: the big-endian CRC32 in base64."""
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


class PartWindow:
    """Parts sent by `in_flight` threads; a slot is taken (`reserve`) before a part's bytes exist
    and given back when S3 has it, so at most `in_flight` parts are ever held by the window.
    Fetched parts are filled into `in_flight` reused buffers of `part_size` and sent from them
    without a copy (`_PartBody`), so memory does not churn part after part."""

    def __init__(self, s3, bucket: str, key: str, upload_id: str, in_flight: int, part_size: int = 8 * MIB):
        self.s3, self.bucket, self.key, self.upload_id = s3, bucket, key, upload_id
        self.part_size = part_size
        self._buffers: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self.parts: dict[int, dict[str, Any]] = {}
        self.sent = 0
        self.failure: BaseException | None = None
        self._slots = threading.Semaphore(in_flight)
        self._in_flight = in_flight
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="part")

    def reserve(self) -> None:
        """Wait for a free slot; re-raise a failed part's error instead of taking more."""
        self._slots.acquire()
        if self.failure is not None:
            self._slots.release()
            raise self.failure

    def send(self, number: int, source: Source) -> None:
        """Send part `number` in a worker (after `reserve`): `source` is its bytes, or a function
        that fills a part buffer there and returns the length (fetching runs `in_flight` wide too)."""
        if not 1 <= number <= MAX_PARTS:
            self._slots.release()
            raise ValueError(f"part {number} is outside 1..{MAX_PARTS}: raise the part size")
        self._pool.submit(self._run, number, source)

    def drain(self) -> None:
        """Wait until every part sent so far is in S3 (or failed); raise the first failure."""
        for _ in range(self._in_flight):
            self._slots.acquire()
        for _ in range(self._in_flight):
            self._slots.release()
        if self.failure is not None:
            raise self.failure

    def close(self) -> None:
        """Stop: parts not started yet are skipped, the running ones are waited for."""
        if self.failure is None:
            self.failure = _Stopped()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, number: int, source: Source) -> None:
        try:
            if self.failure is not None:
                return
            if callable(source):
                buffer = self._take_buffer()
                try:
                    self._upload(number, memoryview(buffer)[:source(buffer)])
                finally:
                    self._buffers.put(buffer)
            else:
                self._upload(number, memoryview(source))
        except BaseException as exc:  # noqa: BLE001 - kept and re-raised in the caller's thread
            with self._lock:
                if self.failure is None:
                    self.failure = exc
        finally:
            self._slots.release()


    def _upload(self, number: int, view: memoryview) -> None:
        # botocore computes the CRC32 (as an unsigned trailer over https, so the payload is not
        # SHA256-signed too) and S3 checks it; its answer echoes it for CompleteMultipartUpload
        answer = self.s3.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                     PartNumber=number, Body=_PartBody(view), ChecksumAlgorithm="CRC32")
        with self._lock:
            self.parts[number] = {"PartNumber": number, "ETag": answer["ETag"], "Size": len(view),
                                  "ChecksumCRC32": answer.get("ChecksumCRC32") or crc32_b64(view)}
            self.sent += 1

    def _take_buffer(self) -> bytearray:
        try:
            return self._buffers.get_nowait()
        except queue.Empty:  # at most `in_flight` are ever made: one per worker at a time
            return bytearray(self.part_size)


class _PartBody(io.RawIOBase):
    """A seekable read-only file over a part's bytes, so botocore sends (and checksums) them in place."""

    def __init__(self, view: memoryview):
        super().__init__()
        self._view, self._pos = view, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), len(self._view) - self._pos))
        buffer[:count] = self._view[self._pos:self._pos + count]
        self._pos += count
        return count

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        data = bytes(self._view[self._pos:end]) if end > self._pos else b""
        self._pos = max(self._pos, end)
        return data


class _Stopped(Exception):
    pass
