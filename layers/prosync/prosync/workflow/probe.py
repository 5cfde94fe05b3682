"""Media duration of an S3 object, read with PyAV through ranged GETs (never the whole object).

Used by the download step only when Sync.so gives no `outputDuration`.
"""

from __future__ import annotations

import io

import av

BLOCK = 256 * 1024
MAX_BLOCKS = 16  # read-ahead cache: at most 4 MiB in memory


class S3RangeReader(io.RawIOBase):
    """A seekable, read-only file over one S3 object; reads whole blocks and keeps a few."""

    def __init__(self, s3, bucket: str, key: str) -> None:
        super().__init__()
        self.s3, self.bucket, self.key = s3, bucket, key
        self.size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
        self.position = 0
        self._blocks: dict[int, bytes] = {}

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        count = 0
        while count < len(view) and self.position < self.size:
            index, offset = divmod(self.position, BLOCK)
            block = self._block(index)
            piece = block[offset : offset + len(view) - count]
            view[count : count + len(piece)] = piece
            count += len(piece)
            self.position += len(piece)
        return count

    def _block(self, index: int) -> bytes:
        if index not in self._blocks:
            if len(self._blocks) >= MAX_BLOCKS:
                self._blocks.pop(next(iter(self._blocks)))
            first = index * BLOCK
            last = min(first + BLOCK, self.size) - 1
            body = self.s3.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={first}-{last}")["Body"]
            self._blocks[index] = body.read()
        return self._blocks[index]


def s3_media_duration(s3, bucket: str, key: str) -> float | None:
    """Seconds, as a player reports them (container duration, else the longest stream); None if unknown."""
    with S3RangeReader(s3, bucket, key) as reader, av.open(reader, mode="r") as container:
        if container.duration:
            return container.duration / av.time_base
        durations = [float(s.duration * s.time_base) for s in container.streams if s.duration and s.time_base]
        return max(durations, default=None)
