"""A seekable, read-only file object over S3 ranged GETs.

Reads are served from fixed-size blocks fetched on demand (consecutive missing blocks in one GET) and
kept in a small LRU cache, so a demuxer that reads a header, seeks to the end and back costs a few
small requests instead of the whole object. `bytes_fetched` and `requests` say what it cost;
`max_fetch_bytes` bounds it (a hostile file cannot make a probe download gigabytes).

With `version_id` (from the HeadObject that gave the size, in a versioned bucket) every GET reads that
version, whatever is uploaded to the key meanwhile. With `etag` every GET is also `If-Match`: in a
bucket without versioning, an object replaced since then, deleted, or shorter than `size` raises
`ObjectChanged` rather than feeding the reader's caller bytes of another file. The first failure of a
GET (that, or the botocore error of an S3 failure) is kept in `failure`, because a demuxer may swallow
an exception raised in its read callback.
"""

import io
from collections import OrderedDict

from botocore.exceptions import BotoCoreError, ClientError

from prosync.aws import client

# GetObject error codes that mean "not the object that was sized": gone, shorter, or replaced.
CHANGED_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404", "InvalidRange", "416", "PreconditionFailed",
                           "412"})


class FetchBudgetExceeded(IOError):
    pass


class ObjectChanged(Exception):
    """The object is no longer the one that was sized (replaced, deleted or cut short)."""


class S3RangeReader(io.RawIOBase):
    def __init__(self, bucket: str, key: str, size: int | None = None, *, block_size: int = 64 * 1024,
                 cache_blocks: int = 64, max_fetch_bytes: int | None = 64 * 1024 * 1024, s3=None,
                 etag: str | None = None, version_id: str | None = None):
        super().__init__()
        self.bucket, self.key, self.etag, self.version_id = bucket, key, etag, version_id
        self.failure: Exception | None = None
        self._s3 = s3 or client("s3")
        self._version = {"VersionId": version_id} if version_id else {}
        if size is None:
            size = self._s3.head_object(Bucket=bucket, Key=key, **self._version)["ContentLength"]
        self.size = size
        self.block_size, self.cache_blocks, self.max_fetch_bytes = block_size, cache_blocks, max_fetch_bytes
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._pos = 0
        self.bytes_fetched = 0
        self.requests = 0

    # io.RawIOBase ------------------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        position = base + offset
        if position < 0:
            raise ValueError("negative seek position")
        self._pos = position
        return position

    def readinto(self, buffer) -> int:
        data = self._read_at(self._pos, len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self._pos
        data = self._read_at(self._pos, size)
        self._pos += len(data)
        return data

    # blocks ------------------------------------------------------------------------------------
    def _read_at(self, position: int, size: int) -> bytes:
        end = min(self.size, position + max(0, size))
        if position >= end:
            return b""
        first, last = position // self.block_size, (end - 1) // self.block_size
        self._ensure(first, last)
        joined = b"".join(self._block(i) for i in range(first, last + 1))
        while len(self._blocks) > self.cache_blocks:  # least recently used first; this read is done
            self._blocks.popitem(last=False)
        offset = position - first * self.block_size
        return joined[offset : offset + (end - position)]

    def _block(self, index: int) -> bytes:
        self._blocks.move_to_end(index)
        return self._blocks[index]

    def _ensure(self, first: int, last: int) -> None:
        missing = [i for i in range(first, last + 1) if i not in self._blocks]
        while missing:  # fetch each run of consecutive missing blocks with one GET
            run_end = 0
            while run_end + 1 < len(missing) and missing[run_end + 1] == missing[run_end] + 1:
                run_end += 1
            self._fetch(missing[0], missing[run_end])
            missing = missing[run_end + 1 :]

    def _fetch(self, first: int, last: int) -> None:
        start = first * self.block_size
        stop = min(self.size, (last + 1) * self.block_size) - 1
        wanted = stop - start + 1
        if self.max_fetch_bytes is not None and self.bytes_fetched + wanted > self.max_fetch_bytes:
            raise FetchBudgetExceeded(f"reading s3://{self.bucket}/{self.key} would fetch more than "
                                      f"{self.max_fetch_bytes} bytes")
        data = self._get(start, stop)
        if len(data) != wanted:
            raise self._failed(ObjectChanged(f"s3://{self.bucket}/{self.key} is shorter than the "
                                             f"{self.size} bytes it had (read {len(data)} of {wanted} "
                                             f"bytes at {start})"))
        self.requests += 1
        self.bytes_fetched += len(data)
        for i in range(first, last + 1):
            offset = (i - first) * self.block_size
            self._blocks[i] = data[offset : offset + self.block_size]
            self._blocks.move_to_end(i)

    def _get(self, start: int, stop: int) -> bytes:
        condition = {"IfMatch": self.etag} if self.etag else {}
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={start}-{stop}",
                                           **self._version, **condition)
            return response["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in CHANGED_CODES:
                raise self._failed(ObjectChanged(f"s3://{self.bucket}/{self.key} changed since it was "
                                                 f"sized ({code})")) from exc
            raise self._failed(exc)
        except BotoCoreError as exc:
            raise self._failed(exc)

    def _failed(self, exc: Exception) -> Exception:
        if self.failure is None:
            self.failure = exc
        return exc
