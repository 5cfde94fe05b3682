"""S3 range reader (a seekable file over ranged GETs) and the PyAV probe reading through it."""

import io
import os

import boto3
import pytest
from moto import mock_aws

from devstack.media_samples import make_tone, make_video
from prosync.media.probe import MediaUnreadable, probe, probe_object
from prosync.storage.range_reader import FetchBudgetExceeded, S3RangeReader
from tests.unit.api.samples import noise_mp4

BUCKET = "probe-media"


@pytest.fixture
def s3(fake_aws):
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    files = {name: make_video(folder / name, 2) for name in ("v.mp4", "v.mov", "v.webm", "v.avi")}
    files |= {f"t{ext}": make_tone(folder / f"t{ext}", 1.5, 440) for ext in
              (".wav", ".mp3", ".ogg", ".flac", ".m4a", ".aac")}
    files["big.mp4"] = noise_mp4(folder / "big.mp4", frames=50)  # ~9 MB, moov first
    files["tail.mp4"] = noise_mp4(folder / "tail.mp4", frames=25, faststart=False)  # moov at the end
    return files


def put(s3, key: str, data: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)


def test_reads_seeks_and_tells_like_a_file(s3):
    data = os.urandom(300_000)
    put(s3, "blob", data)
    reader = S3RangeReader(BUCKET, "blob", block_size=4096)
    assert reader.size == len(data) and reader.seekable() and reader.readable()
    assert reader.read(10) == data[:10] and reader.tell() == 10
    reader.seek(-100, io.SEEK_END)
    assert reader.read() == data[-100:] and reader.read(5) == b""
    reader.seek(5000)
    reader.seek(20, io.SEEK_CUR)
    assert reader.read(9000) == data[5020:14020]
    buffer = bytearray(7)
    reader.seek(299_998)
    assert reader.readinto(buffer) == 2 and bytes(buffer[:2]) == data[-2:]
    with pytest.raises(ValueError):
        reader.seek(-1)
    assert io.BufferedReader(S3RangeReader(BUCKET, "blob")).read() == data


def test_blocks_are_cached_and_counted(s3):
    put(s3, "blob", os.urandom(100_000))
    reader = S3RangeReader(BUCKET, "blob", size=100_000, block_size=10_000, cache_blocks=4)
    reader.read(25_000)  # blocks 0-2 in one GET
    assert (reader.requests, reader.bytes_fetched) == (1, 30_000)
    reader.seek(5_000)
    reader.read(20_000)  # cached
    assert reader.requests == 1
    reader.seek(95_000)
    reader.read(10)  # block 9
    reader.seek(0)
    reader.read(1)  # block 0 still cached (4 blocks kept)
    assert (reader.requests, reader.bytes_fetched) == (2, 40_000)


def test_fetch_budget_bounds_what_a_reader_downloads(s3):
    put(s3, "blob", os.urandom(50_000))
    reader = S3RangeReader(BUCKET, "blob", block_size=8192, max_fetch_bytes=20_000)
    reader.read(16_000)
    with pytest.raises(FetchBudgetExceeded):
        reader.read(20_000)


@pytest.mark.parametrize("name, format_token, kind, seconds", [
    ("v.mp4", "mp4", "video", 2.0), ("v.mov", "mov", "video", 2.0), ("v.webm", "webm", "video", 2.0),
    ("v.avi", "avi", "video", 2.0), ("t.wav", "wav", "audio", 1.5), ("t.mp3", "mp3", "audio", 1.5),
    ("t.ogg", "ogg", "audio", 1.5), ("t.flac", "flac", "audio", 1.5), ("t.m4a", "m4a", "audio", 1.5),
    ("t.aac", "aac", "audio", 1.5),
])
def test_probe_reads_format_streams_and_duration(s3, media, name, format_token, kind, seconds):
    put(s3, name, media[name].read_bytes())
    info = probe_object(BUCKET, name)
    assert format_token in info.format_name.split(",")
    assert (info.has_video, info.has_audio) == (kind == "video", kind == "audio")
    assert info.duration == pytest.approx(seconds, abs=0.08)


@pytest.mark.parametrize("name", ["big.mp4", "tail.mp4"])
def test_probe_of_a_large_file_fetches_a_small_part_of_it(s3, media, name):
    data = media[name].read_bytes()
    assert len(data) > 4_000_000
    put(s3, name, data)
    info = probe_object(BUCKET, name, len(data))
    assert info.has_video and info.duration == pytest.approx(50 / 25 if name == "big.mp4" else 1.0, abs=0.05)
    assert info.bytes_read < len(data) / 10, (info.bytes_read, len(data))


def test_random_bytes_are_unreadable(s3):
    put(s3, "noise.mp4", os.urandom(200_000))
    with pytest.raises(MediaUnreadable):
        probe_object(BUCKET, "noise.mp4")


def test_a_truncated_file_is_unreadable(media):
    data = media["tail.mp4"].read_bytes()[:100_000]  # mdat only, the moov is cut off
    with pytest.raises(MediaUnreadable):
        probe(io.BytesIO(data))


def test_the_probe_budget_refuses_files_that_need_too_much_reading(s3, media):
    data = media["tail.mp4"].read_bytes()
    put(s3, "tail.mp4", data)
    with pytest.raises(MediaUnreadable, match="budget"):
        probe_object(BUCKET, "tail.mp4", len(data), max_fetch_bytes=100_000)
