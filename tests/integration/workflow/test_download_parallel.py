"""The download step at line rate: parallel ranged GETs, parts sent concurrently in a bounded window,
a server without Range read as one stream, a killed download resumed (only the missing parts are
sent), a failure that is not retried aborts. moto S3 over HTTP, the emulator or a local HTTP origin;
S3 calls are counted with botocore event hooks on the client the step is given."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError

from devstack.emulator import synthetic_bytes
from prosync.settings import MIB, DownloadSettings
from prosync.workflow.download import download

from .support import BUCKET

PART = 5 * MIB


class S3Calls:
    """Counts UploadPart calls of one s3 client (and how many run at once); can slow or fail them."""

    def __init__(self, s3, delay: float = 0.0, fail_part: int | None = None, on_done=None):
        self.numbers: list[int] = []
        self.active = self.max_active = 0
        self.delay, self.fail_part, self.on_done = delay, fail_part, on_done
        self._lock = threading.Lock()
        s3.meta.events.register("before-parameter-build.s3.UploadPart", self._before)
        s3.meta.events.register("after-call.s3.UploadPart", self._after)

    def _before(self, params, **_):
        with self._lock:
            self.numbers.append(params["PartNumber"])
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        if params["PartNumber"] == self.fail_part:
            with self._lock:
                self.active -= 1
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "UploadPart")
        time.sleep(self.delay)

    def _after(self, **_):
        with self._lock:
            self.active -= 1
        if self.on_done:
            self.on_done()


class Origin:
    """`data` at /output.mp4 on 127.0.0.1: ranges honoured (206) or ignored (always 200)."""

    def __init__(self, data: bytes, ranges: bool = True, on_get=None):
        origin = self
        self.ranges_asked: list[str | None] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                asked = self.headers.get("Range")
                origin.ranges_asked.append(asked)
                if on_get:
                    on_get()
                match = re.fullmatch(r"bytes=(\d+)-(\d+)", asked or "")
                first, last = (int(match[1]), min(int(match[2]), len(data) - 1)) if ranges and match else (
                    0, len(data) - 1)
                self.send_response(206 if ranges and match else 200)
                self.send_header("Content-Length", str(last - first + 1))
                if ranges and match:
                    self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
                self.end_headers()
                self.wfile.write(data[first:last + 1])

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _settings(in_flight: int = 3) -> DownloadSettings:
    return DownloadSettings(multipart_chunk_bytes=PART, download_parts_in_flight=in_flight)


def _event(url: str, generation_id: str = "gen-1") -> dict:
    return {"jobId": "job-1", "generationId": generation_id, "outputUrl": url, "outputDuration": 1.0,
            "outputFileName": "big"}


def _no_sync():
    raise AssertionError("Sync.so was not to be asked for a fresh URL")


def _stored_sha256(s3) -> str:
    body = s3.get_object(Bucket=BUCKET, Key="results/job-1/big.mp4")["Body"]
    digest = hashlib.sha256()
    for chunk in iter(lambda: body.read(MIB), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _uploads(s3) -> list:
    return s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


@pytest.mark.parametrize("size", [1, PART - 1, PART, PART + 1, 3 * PART, 3 * PART + 1])
def test_parallel_ranged_download_stores_identical_bytes_around_part_boundaries(local, emulator, size):
    generation = emulator.create_synthetic(size, output_file_name="big", output_duration=1.0)
    s3 = local.client("s3")
    calls = S3Calls(s3)
    answer = download(_event(emulator.output_url(generation), generation.id), _settings(), s3, None, _no_sync)
    parts = -(-size // PART)
    assert (answer["size"], answer["parts"], answer["partsSent"]) == (size, parts, parts)
    assert sorted(calls.numbers) == list(range(1, parts + 1))
    assert _stored_sha256(s3) == hashlib.sha256(synthetic_bytes(generation.id, 0, size)).hexdigest()
    assert _uploads(s3) == []


def test_each_part_is_fetched_by_one_ranged_get(local, monkeypatch):
    data = os.urandom(3 * PART + 7)
    origin = Origin(data)
    try:
        monkeypatch.setenv("SYNC_API_BASE_URL", origin.url)
        s3 = local.client("s3")
        answer = download(_event(f"{origin.url}/output.mp4"), _settings(), s3, None, _no_sync)
        assert answer["parts"] == 4
        assert sorted(origin.ranges_asked) == sorted(
            f"bytes={n * PART}-{min((n + 1) * PART, len(data)) - 1}" for n in range(4))
        assert _stored_sha256(s3) == hashlib.sha256(data).hexdigest()
    finally:
        origin.close()


def test_a_server_without_range_support_is_read_as_one_stream(local, monkeypatch):
    data = os.urandom(2 * PART + 123)
    origin = Origin(data, ranges=False)
    try:
        monkeypatch.setenv("SYNC_API_BASE_URL", origin.url)
        s3 = local.client("s3")
        calls = S3Calls(s3)
        answer = download(_event(f"{origin.url}/output.mp4"), _settings(), s3, None, _no_sync)
        assert len(origin.ranges_asked) == 1  # one GET: its Range was ignored, the 200 body is used
        assert (answer["size"], answer["parts"]) == (len(data), 3) and sorted(calls.numbers) == [1, 2, 3]
        assert _stored_sha256(s3) == hashlib.sha256(data).hexdigest() and _uploads(s3) == []
    finally:
        origin.close()


def test_the_in_flight_window_bounds_the_parts_held(local, monkeypatch):
    """A part is held from the start of its GET until S3 has it; never more than the window."""
    held = {"now": 0, "max": 0}
    lock = threading.Lock()

    def change(by):
        with lock:
            held["now"] += by
            held["max"] = max(held["max"], held["now"])

    data = os.urandom(8 * PART)
    origin = Origin(data, on_get=lambda: change(1))
    try:
        monkeypatch.setenv("SYNC_API_BASE_URL", origin.url)
        s3 = local.client("s3")
        calls = S3Calls(s3, delay=0.5, on_done=lambda: change(-1))  # slow S3: the window fills
        download(_event(f"{origin.url}/output.mp4"), _settings(in_flight=3), s3, None, _no_sync)
        assert held["max"] == 3 and calls.max_active == 3 and held["now"] == 0
        assert _stored_sha256(s3) == hashlib.sha256(data).hexdigest()
    finally:
        origin.close()


def test_a_failure_that_is_not_retried_aborts_the_upload(local, emulator):
    generation = emulator.create_synthetic(3 * PART, output_file_name="big", output_duration=1.0)
    s3 = local.client("s3")
    S3Calls(s3, fail_part=2)
    with pytest.raises(ClientError):
        download(_event(emulator.output_url(generation), generation.id), _settings(), s3, None, _no_sync)
    assert _uploads(s3) == []
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="results/").get("KeyCount") == 0


_CHILD = """
import os, sys, time, boto3
from prosync.settings import MIB, DownloadSettings
from prosync.workflow.download import download
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
s3.meta.events.register("before-parameter-build.s3.UploadPart", lambda **_: time.sleep(0.3))
event = {"jobId": "job-1", "generationId": sys.argv[2], "outputUrl": sys.argv[1], "outputFileName": "big",
         "outputDuration": 1.0}
download(event, DownloadSettings(multipart_chunk_bytes=5 * MIB, download_parts_in_flight=2), s3, None, None)
"""


def test_a_download_killed_after_k_parts_resumes_and_sends_only_the_missing_parts(local, emulator):
    size = 8 * PART
    generation = emulator.create_synthetic(size, output_file_name="big", output_duration=1.0)
    url = emulator.output_url(generation)
    s3 = local.client("s3")
    child = subprocess.Popen([sys.executable, "-c", _CHILD, url, generation.id], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        done: list = []
        while len(done) < 3 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            uploads = _uploads(s3)
            if uploads:
                done = s3.list_parts(Bucket=BUCKET, Key=uploads[0]["Key"],
                                     UploadId=uploads[0]["UploadId"]).get("Parts", [])
        assert child.poll() is None, "the first download ended before it could be killed"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    (upload,) = _uploads(s3)
    kept = {p["PartNumber"] for p in s3.list_parts(Bucket=BUCKET, Key=upload["Key"],
                                                   UploadId=upload["UploadId"])["Parts"]}
    assert 3 <= len(kept) < 8

    calls = S3Calls(s3)
    answer = download(_event(url, generation.id), _settings(), s3, None, _no_sync)
    assert answer["parts"] == 8 and answer["partsSent"] == 8 - len(kept)
    assert sorted(calls.numbers) == sorted(set(range(1, 9)) - kept)  # only the missing parts were sent
    assert _stored_sha256(s3) == hashlib.sha256(synthetic_bytes(generation.id, 0, size)).hexdigest()
    assert _uploads(s3) == []


def test_the_fullest_upload_is_resumed_and_a_completion_leaves_no_other_upload_of_the_key(local, emulator):
    size = 3 * PART
    generation = emulator.create_synthetic(size, output_file_name="big", output_duration=1.0)
    data = synthetic_bytes(generation.id, 0, size)
    s3 = local.client("s3")
    key = "results/job-1/big.mp4"
    empty = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm="CRC32")["UploadId"]
    fuller = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm="CRC32")["UploadId"]
    s3.upload_part(Bucket=BUCKET, Key=key, UploadId=fuller, PartNumber=2, Body=data[PART:2 * PART],
                   ChecksumAlgorithm="CRC32")
    calls = S3Calls(s3)
    answer = download(_event(emulator.output_url(generation), generation.id), _settings(), s3, None, _no_sync)
    assert (answer["parts"], answer["partsSent"], sorted(calls.numbers)) == (3, 2, [1, 3])
    assert _stored_sha256(s3) == hashlib.sha256(data).hexdigest()
    assert _uploads(s3) == [] and empty != fuller


def test_parts_grow_only_when_10000_would_not_hold_the_object():
    from prosync.storage.multipart import part_size_for

    assert part_size_for(None, 8 * MIB) == 8 * MIB  # unknown size: the setting
    assert part_size_for(10 * 1024 * MIB, 8 * MIB) == 8 * MIB  # 10 GiB: 1,280 parts
    assert part_size_for(8 * MIB * 10_000, 8 * MIB) == 8 * MIB
    grown = part_size_for(100 * 1024 * MIB, 8 * MIB)  # 100 GiB
    assert grown == 11 * MIB and grown * 10_000 >= 100 * 1024 * MIB  # 102,400 MiB / 10,000, rounded up
    assert part_size_for(8 * MIB * 10_000 + 1, 8 * MIB) == 9 * MIB
