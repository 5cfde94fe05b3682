"""The download step: stream Sync.so's output into S3 `results/{job_id}/{name}.mp4`.

Input: `{jobId, generationId, outputUrl, outputDuration, outputFileName}`; output:
`{resultKey, size, duration, parts, partsSent}`.

- The output goes into a multipart upload (`prosync.storage.multipart`). The first GET asks for the
  first part's range: when the server answers 206 the other parts come by parallel ranged GETs, else
  the 200 body is read as one stream; either way `download_parts_in_flight` parts are fetched/sent
  at once, so memory stays at that many parts whatever the video's size. Parts carry CRC32s.
- Resumable: the key's in-progress upload (ListMultipartUploads + ListParts) is continued, sending
  only the parts it lacks; a retryable failure (network, truncated body, expired URL) keeps the
  upload for the retry, any other failure aborts it, and a completion aborts any other upload of
  the key. A process killed mid-way leaves its upload to the next attempt (or, if none comes, to
  the bucket's lifecycle rule for incomplete uploads).
- A 403/410 from the output URL means it expired: we ask Sync.so for the generation again (a fresh
  URL) and try once more; still refused -> `OutputUrlExpired` (the state machine retries the step).
- A network error, a truncated body or another non-200 answer -> `DownloadFailed` (retried).
- Duration: Sync.so's `outputDuration` when it gives one (it rendered the file), else probed with
  PyAV from the uploaded object through ranged GETs.
- The URL comes from a third party. Before any request (and before following each redirect) it must
  be https to a host that is not an IP literal of a private, loopback, link-local or reserved
  network, or be on Sync.so's own API origin (`SYNC_API_BASE_URL`, e.g. the local emulator); with
  `SYNC_OUTPUT_HOSTS` set, only those hosts (and their subdomains). Then every connection goes
  through `prosync.net.guard.GuardedClient`: the host is resolved, every address it resolves to must
  be public, and the socket connects to the checked address (no second resolution, so no DNS
  rebinding); Sync.so's API origin is exempt. Either refusal: `OutputUrlRejected`, nothing sent.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import httpx

from prosync.media.probe import probe_object
from prosync.net.guard import AddressRejected, GuardedClient
from prosync.settings import DownloadSettings
from prosync.storage.multipart import (
    EmptyUpload, MultipartUpload, UploadResult, abort_uploads, find_upload, part_size_for,
)
from prosync.syncso import SyncClient
from prosync.workflow.errors import DownloadFailed, OutputUrlExpired, OutputUrlRejected

EXPIRED = (403, 410)
MAX_REDIRECTS = 5
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


class _Expired(Exception):
    pass


def result_key(job_id: str, output_file_name: str | None) -> str:
    return f"results/{job_id}/{output_file_name or job_id}.mp4"


_clients: dict[tuple[float, str], GuardedClient] = {}
_clients_lock = threading.Lock()


def output_client(settings: DownloadSettings) -> GuardedClient:
    """The guarded client downloads use: one per container (settings change only in tests, where the
    client made for older settings is closed)."""
    key = (settings.download_timeout_seconds, settings.sync_api_base_url)
    with _clients_lock:
        if key not in _clients:
            for stale in _clients.values():
                stale.close()
            _clients.clear()
            _clients[key] = GuardedClient(timeout=settings.download_timeout_seconds,
                                          trusted=[settings.sync_api_base_url])
        return _clients[key]


def abort_partial(event: dict[str, Any], settings: DownloadSettings, s3) -> dict[str, Any]:
    """The failure path's clean-up: a download that ran out of retries kept its multipart upload for
    a retry that will not come; abort every in-progress upload of the job's result key."""
    key = result_key(str(event["jobId"]), event.get("outputFileName"))
    return {"resultKey": key, "aborted": abort_uploads(s3, settings.media_bucket, key)}


def download(event: dict[str, Any], settings: DownloadSettings, s3, http: httpx.Client | None,
             sync_client: Callable[[], SyncClient]) -> dict[str, Any]:
    """`http`: a `GuardedClient` to download with (a test's, with its own resolver); any other client
    is not used: output URLs are only ever fetched through the guard (`output_client`)."""
    if not isinstance(http, GuardedClient):
        http = output_client(settings)
    job_id, generation_id = str(event["jobId"]), str(event["generationId"])
    key = result_key(job_id, event.get("outputFileName"))
    url, duration = event.get("outputUrl"), event.get("outputDuration")
    if not url:
        generation = sync_client().get_generation(generation_id)
        url, duration = generation.result_url, duration or generation.output_duration
    try:
        uploaded = _transfer(url, key, settings, s3, http)
    except _Expired:
        fresh = sync_client().get_generation(generation_id).result_url
        try:
            uploaded = _transfer(fresh, key, settings, s3, http)
        except _Expired as exc:
            raise OutputUrlExpired(f"the output URL of generation {generation_id} answered {exc}, "
                                   "also after asking Sync.so for a fresh one") from None
    if not duration or duration <= 0:
        duration = probe_object(settings.media_bucket, key, uploaded.size, s3=s3).duration
    return {"resultKey": key, "size": uploaded.size, "duration": duration,
            "parts": uploaded.parts, "partsSent": uploaded.sent_parts}


def check_output_url(url: str, settings: DownloadSettings) -> None:
    """Refuse (OutputUrlRejected) a URL the download must never fetch (see the module docstring)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise OutputUrlRejected(f"the output URL is not a URL: {exc}"[:500]) from None
    host = parsed.host.lower().rstrip(".")
    if (parsed.scheme, host, parsed.port) == _origin(httpx.URL(settings.sync_api_base_url)):
        return
    shown = _shown(parsed)
    if parsed.scheme != "https" or not host:
        raise OutputUrlRejected(f"the output URL {shown} is not https on Sync.so's side")
    address = _ip_literal(host)
    if (address is not None and not address.is_global) or host == "localhost" or host.endswith(".localhost"):
        raise OutputUrlRejected(f"the output URL {shown} points into a private or local network")
    allowed = [h.lower().strip(".") for h in settings.sync_output_hosts]
    if allowed and not any(host == h or host.endswith("." + h) for h in allowed):
        raise OutputUrlRejected(f"the output URL {shown} is not on an allowed host ({', '.join(allowed)})")


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names by itself, also in the legacy IPv4 spellings the resolver accepts
    (`2130706433`, `127.1`, `0x7f000001`), or None for a host name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if all(part and part.isalnum() for part in host.split(".")):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            pass
    return None


def _shown(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode(errors='replace')}"[:300]


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host.lower().rstrip("."), url.port


@contextmanager
def _open(url: str, settings: DownloadSettings, http: GuardedClient,
          headers: dict[str, str] | None = None) -> Iterator[httpx.Response]:
    """GET `url` as a stream, following redirects only to URLs `check_output_url` accepts (and the
    guard connects only to public addresses, or to Sync.so's origin)."""
    headers = {"Accept-Encoding": "identity", **(headers or {})}  # ranges count the stored bytes
    for _ in range(MAX_REDIRECTS + 1):
        check_output_url(url, settings)
        try:
            response = http.send(http.build_request("GET", url, headers=headers), stream=True,
                                 follow_redirects=False)
        except AddressRejected as exc:
            raise OutputUrlRejected(f"the output URL {_shown(httpx.URL(url))} points into a private or "
                                    f"local network: {exc}"[:1000]) from None
        if response.next_request is None:
            try:
                yield response
            finally:
                response.close()
            return
        response.close()
        url = str(response.next_request.url)
    raise DownloadFailed(f"the output URL redirected more than {MAX_REDIRECTS} times")


def _retryable(exc: BaseException) -> bool:
    """Failures the state machine retries: the multipart upload is kept for the retry to resume."""
    return isinstance(exc, (httpx.HTTPError, DownloadFailed, _Expired))


def _transfer(url: str | None, key: str, settings: DownloadSettings, s3, http: GuardedClient,
              ranged: bool | None = None) -> UploadResult:
    """Copy the output at `url` into `key`, continuing the key's in-progress upload if there is one.

    The first GET asks for the first part's range: a 206 (Content-Range gives the size) means the
    other parts are fetched by parallel ranged GETs; a 200 means the server ignores ranges and the
    body is read as one stream. Either way parts go to S3 `download_parts_in_flight` at a time."""
    if not url:
        raise _Expired("no URL")
    ranged = settings.download_ranged if ranged is None else ranged
    bucket, preferred = settings.media_bucket, settings.multipart_chunk_bytes
    upload_id, existing = find_upload(s3, bucket, key)
    try:
        with _open(url, settings, http, {"Range": f"bytes=0-{preferred - 1}"} if ranged else None) as first:
            if first.status_code in EXPIRED:
                raise _Expired(str(first.status_code))
            if first.status_code == 416:
                raise EmptyUpload("the output is empty")
            if first.status_code not in (200, 206):
                raise DownloadFailed(f"the output URL answered HTTP {first.status_code}")
            total = _total_size(first)
            if first.status_code == 206 and total is None:  # no usable Content-Range: one plain GET
                first.close()
                return _transfer(url, key, settings, s3, http, ranged=False)
            part_size = part_size_for(total, preferred)
            with MultipartUpload(s3, bucket, key, part_size=part_size, content_type="video/mp4",
                                 in_flight=settings.download_parts_in_flight, upload_id=upload_id,
                                 existing=existing, keep_on=_retryable) as upload:
                if first.status_code == 200:
                    for chunk in _counted(first.iter_raw(settings.download_read_bytes), total):
                        upload.write(chunk)
                    return upload.complete()
                assert total is not None
                count = -(-total // part_size)
                source = str(first.url)  # after redirects: each ranged GET is checked again anyway
                first_is_part_1 = part_size == preferred and not upload.has(1, min(total, part_size))
                if not first_is_part_1:
                    first.close()  # part 1 is in S3 already (or parts grew): its bytes are not needed
                for number in range(1, count + 1):
                    begin, end = (number - 1) * part_size, min(total, number * part_size) - 1
                    if upload.has(number, end - begin + 1):
                        continue
                    if number == 1 and first_is_part_1:  # the first answer is part 1
                        upload.put(1, partial(_fill, first, end + 1, settings))
                    else:
                        upload.put(number, partial(_fetch_range, source, begin, end, settings, http))
                return upload.complete(size=total, count=count)
    except httpx.HTTPError as exc:
        raise DownloadFailed(f"download of the output broke: {type(exc).__name__}: {exc}"[:1000]) from exc
    except EmptyUpload as exc:
        raise DownloadFailed(f"the output URL sent an empty body: {exc}") from exc


def _total_size(response: httpx.Response) -> int | None:
    """The whole output's size: from Content-Range of a 206 (starting at byte 0), Content-Length of a 200."""
    if response.status_code == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
        return int(match.group(3)) if match and match.group(1) == "0" else None
    length = response.headers.get("content-length")
    return int(length) if length and length.isdigit() else None


def _fetch_range(url: str, begin: int, end: int, settings: DownloadSettings, http: GuardedClient,
                 buffer: bytearray) -> int:
    """Bytes begin..end (inclusive) of the output into `buffer`, by one ranged GET (in a part worker)."""
    with _open(url, settings, http, {"Range": f"bytes={begin}-{end}"}) as response:
        if response.status_code in EXPIRED:
            raise _Expired(str(response.status_code))
        match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
        if response.status_code != 206 or not match or (int(match[1]), int(match[2])) != (begin, end):
            raise DownloadFailed(f"a ranged GET of bytes {begin}-{end} answered HTTP {response.status_code} "
                                 f"{response.headers.get('content-range', '')}"[:500])
        return _fill(response, end - begin + 1, settings, buffer)


def _fill(response: httpx.Response, expected: int, settings: DownloadSettings, buffer: bytearray) -> int:
    """The response's body into `buffer` (a part buffer, at least `expected` bytes long)."""
    view, received = memoryview(buffer), 0
    for chunk in response.iter_raw(settings.download_read_bytes):
        if received + len(chunk) > expected:
            raise DownloadFailed(f"the output sent more than the {expected} bytes asked for")
        view[received:received + len(chunk)] = chunk
        received += len(chunk)
    if received != expected:
        raise DownloadFailed(f"the output was cut short: {received} of {expected} bytes")
    return received


def _counted(chunks: Iterator[bytes], expected: int | None) -> Iterator[bytes]:
    received = 0
    for chunk in chunks:
        received += len(chunk)
        yield chunk
    if expected is not None and received != expected:
        raise DownloadFailed(f"the output was cut short: {received} of {expected} bytes")
