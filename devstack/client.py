"""A small httpx client of the ProSync HTTP API, used by `prosync submit`, `prosync demo` and the
e2e tests. It does what the browser page does: create the job, upload each file by its presigned
POST (multipart body streamed from disk), start, poll the status, download the result."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.etree import ElementTree

import httpx

TERMINAL = {"completed", "failed", "canceled", "expired"}
CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".avi": "video/x-msvideo",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
}
CHUNK = 256 * 1024
Progress = Callable[[int, int], None]  # (bytes done, bytes total)


class ApiError(Exception):
    """A 4xx/5xx answer, with the API's error code, message and field details (`loc`, `msg`)."""

    def __init__(self, status: int, code: str, message: str, details: list[dict] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details or []

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            return cls(
                response.status_code,
                error.get("code", "error"),
                error.get("message", ""),
                error.get("details"),
            )
        message = body.get("message") if isinstance(body, dict) else None
        return cls(
            response.status_code,
            (message or response.reason_phrase or "error").lower().replace(" ", "_"),
            message or response.text[:300],
        )


class UploadError(Exception):
    pass


def content_type_of(path: str | Path) -> str:
    try:
        return CONTENT_TYPES[Path(path).suffix.lower()]
    except KeyError:
        raise ValueError(f"{path}: unsupported file type (use one of {', '.join(CONTENT_TYPES)})") from None


def file_declaration(path: str | Path, **extra) -> dict:
    path = Path(path)
    return {"fileName": path.name, "contentType": content_type_of(path), "size": path.stat().st_size, **extra}


def build_request(
    video: Path,
    audios: dict[str, Path],
    segments: list[dict],
    *,
    model: str | None = None,
    options: dict | None = None,
    output_file_name: str | None = None,
) -> dict:
    request = {
        "video": file_declaration(video),
        "audios": [file_declaration(path, refId=ref) for ref, path in audios.items()],
        "segments": segments,
    }
    if model:
        request["model"] = model
    if options:
        request["options"] = options
    if output_file_name:
        request["outputFileName"] = output_file_name
    return request


def multipart_body(
    fields: dict[str, str], path: Path, content_type: str, on_progress: Progress | None = None
) -> tuple[Iterator[bytes], int, str]:
    """A multipart/form-data body (fields first, the file last, as S3 wants it) streamed from disk:
    (chunks, exact length, content type header)."""
    boundary = uuid.uuid4().hex
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = path.stat().st_size

    def chunks() -> Iterator[bytes]:
        yield head
        sent = 0
        with path.open("rb") as source:
            while block := source.read(CHUNK):
                sent += len(block)
                yield block
                if on_progress:
                    on_progress(sent, size)
        yield tail

    return chunks(), len(head) + size + len(tail), f"multipart/form-data; boundary={boundary}"


def api_base(api_url: str) -> str:
    """The API's base URL as the client uses it: `…/api/v1`, added when the URL names only the host."""
    base = api_url.rstrip("/")
    return base if base.endswith("/api/v1") else f"{base}/api/v1"


class ProSyncClient:
    def __init__(self, api_url: str, token: str, timeout: float = 60.0):
        self.base = api_base(api_url)
        self.http = httpx.Client(
            base_url=self.base, timeout=timeout, headers={"authorization": f"Bearer {token}"}
        )
        self.plain = httpx.Client(timeout=timeout)  # uploads and downloads: presigned, no token

    def close(self) -> None:
        self.http.close()
        self.plain.close()

    def __enter__(self) -> ProSyncClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        return response.json()

    # API routes ------------------------------------------------------------------------------------
    def health(self) -> dict:
        return self._call("GET", "/health")

    def limits(self) -> dict:
        return self._call("GET", "/sync/limits")

    def create_job(self, request: dict, idempotency_key: str | None = None) -> dict:
        headers = {"idempotency-key": idempotency_key} if idempotency_key else {}
        return self._call("POST", "/sync/pro-sync-process", json=request, headers=headers)

    def start(self, job_id: str) -> dict:
        return self._call("POST", f"/sync/pro-job/{job_id}/start")

    def status(self, job_id: str) -> dict:
        return self._call("GET", f"/sync/pro-job/{job_id}/status")

    def cancel(self, job_id: str) -> dict:
        return self._call("POST", f"/sync/pro-job/{job_id}/cancel")

    def jobs(self, **params) -> dict:
        return self._call("GET", "/sync/pro-jobs", params=params)

    # files -----------------------------------------------------------------------------------------
    def upload(self, target: dict, path: str | Path, on_progress: Progress | None = None) -> None:
        """POST the file to its presigned target as a browser form would."""
        path = Path(path)
        fields = dict(target["fields"])
        content_type = fields.get("Content-Type") or content_type_of(path)
        body, length, header = multipart_body(fields, path, content_type, on_progress)
        response = self.plain.post(
            target["url"], content=body, headers={"content-type": header, "content-length": str(length)}
        )
        if response.status_code >= 300:
            raise UploadError(f"upload of {path.name} refused: {response.status_code} {_s3_error(response)}")

    def wait(
        self,
        job_id: str,
        on_status: Callable[[dict], None] | None = None,
        interval: float = 1.0,
        timeout: float = 900.0,
    ) -> dict:
        """Poll the status until the job is terminal; `on_status` sees every answer."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(job_id)
            if on_status:
                on_status(status)
            if status["status"] in TERMINAL:
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {status['status']} after {timeout:.0f} s")
            time.sleep(interval)

    def download(self, url: str, dest: str | Path, on_progress: Progress | None = None) -> Path:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".part")
        with self.plain.stream("GET", url) as response:
            if response.status_code != 200:
                response.read()
                raise UploadError(f"download refused: {response.status_code} {_s3_error(response)}")
            total = int(response.headers.get("content-length") or 0)
            done = 0
            with partial.open("wb") as out:
                for block in response.iter_bytes(CHUNK):
                    out.write(block)
                    done += len(block)
                    if on_progress:
                        on_progress(done, total or done)
        partial.replace(dest)
        return dest


def _s3_error(response: httpx.Response) -> str:
    try:
        root = ElementTree.fromstring(response.content)
        return f"{root.findtext('Code')}: {root.findtext('Message')}"
    except ElementTree.ParseError:
        return response.text[:200]
