"""The download step: streaming multipart upload into moto S3 from the emulator's output URLs."""

import hashlib
import socket
from urllib.parse import urlsplit

import av
import httpx
import pytest

from devstack.emulator import synthetic_bytes
from devstack.media_samples import media_duration
from prosync.settings import MIB, DownloadSettings
from prosync.syncso import SyncClient
from prosync.workflow.download import download, output_client
from prosync.workflow.errors import DownloadFailed, OutputUrlExpired, OutputUrlRejected
from prosync.media.probe import probe_object
from prosync.net.guard import GuardedClient

from .support import BUCKET


@pytest.fixture
def step(local, emulator):
    """Run the download step as the Lambda does (settings from the env, 5 MiB parts)."""
    settings = DownloadSettings(multipart_chunk_bytes=5 * MIB)
    s3 = local.client("s3")
    with SyncClient(emulator.url, emulator.api_key) as sync:
        def run(generation, output_url=None, http=None):
            event = {"jobId": "job-1", "generationId": generation.id,
                     "outputUrl": output_url or emulator.output_url(generation),
                     "outputDuration": generation.output_duration,
                     "outputFileName": generation.output_file_name}
            return download(event, settings, s3, http, lambda: sync)  # None: the guarded output client
        yield run


def _sha256(body) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: body.read(MIB), b""):
        digest.update(chunk)
    return digest.hexdigest()


def test_a_download_broken_half_way_keeps_its_upload_and_the_retry_sends_only_the_missing_parts(
        step, local, emulator):
    size = 12 * MIB  # three parts of 5, 5 and 2 MiB
    generation = emulator.create_synthetic(size, output_file_name="big", output_duration=42.0)
    emulator.add_faults([{"kind": "broken_output", "after_bytes": 2 * MIB}])  # the first answer breaks
    s3 = local.client("s3")

    with pytest.raises(DownloadFailed):
        step(generation)
    # a retryable failure keeps the upload (and whatever parts made it) for the retry; no object yet
    uploads = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    assert len(uploads) == 1 and s3.list_objects_v2(Bucket=BUCKET, Prefix="results/").get("KeyCount") == 0
    kept = len(s3.list_parts(Bucket=BUCKET, Key=uploads[0]["Key"], UploadId=uploads[0]["UploadId"])
               .get("Parts", []))
    assert kept < 3

    answer = step(generation)
    assert answer == {"resultKey": "results/job-1/big.mp4", "size": size, "duration": 42.0,
                      "parts": 3, "partsSent": 3 - kept}
    stored = s3.get_object(Bucket=BUCKET, Key=answer["resultKey"])
    assert stored["ContentLength"] == size and stored["ContentType"] == "video/mp4"
    assert _sha256(stored["Body"]) == hashlib.sha256(synthetic_bytes(generation.id, 0, size)).hexdigest()
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


@pytest.mark.emulator(output_url_ttl=3600)
def test_an_expired_output_url_is_replaced_by_a_fresh_one_from_sync(step, emulator):
    generation = emulator.create_synthetic(1000, output_file_name="small", output_duration=1.0)
    url = urlsplit(emulator.output_url(generation))
    tampered = url._replace(query="Expires=1&Signature=0").geturl()  # answered 403, as an expired URL is

    answer = step(generation, output_url=tampered)
    assert answer["size"] == 1000
    assert emulator.stats_snapshot()["requests"]["get"] == 1  # one GET /v2/generate/{id} for the fresh URL


@pytest.mark.emulator(output_url_ttl=0.000001)
def test_an_output_url_that_stays_expired_raises_output_url_expired(step, local, emulator):
    generation = emulator.create_synthetic(1000, output_file_name="small")
    with pytest.raises(OutputUrlExpired):
        step(generation)
    assert local.client("s3").list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_duration_is_probed_from_s3_with_ranged_reads_when_sync_gives_none(local, media):
    s3 = local.client("s3")
    s3.upload_file(str(media["video"]), BUCKET, "results/probe/video.mp4")
    probed = probe_object(BUCKET, "results/probe/video.mp4", s3=s3)
    assert probed.duration == pytest.approx(media_duration(media["video"]))


def test_workflow_retries_a_broken_download_and_leaves_no_parts(jobs, emulator, tmp_path):
    emulator.add_faults([{"kind": "broken_output", "after_bytes": 2000}])
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "SUCCEEDED", run.description
    assert run.failed_tasks() == ["DownloadFailed"]
    assert jobs.multipart_uploads() == []
    assert emulator.stats_snapshot()["faults_fired"] == {"broken_output": 1}
    job = jobs.job(job_id)
    local_file = tmp_path / "result.mp4"
    jobs.local.client("s3").download_file(BUCKET, job.result_key, str(local_file))
    assert local_file.stat().st_size == job.result_size
    with av.open(str(local_file)) as container:
        assert container.streams.video and container.streams.audio


class _Counting:
    """A plain HTTP server that counts TCP connections and requests, and answers each request with
    `answer(handler)`."""

    def __init__(self, answer):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                counter.requests.append(self.path)
                answer(self)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def verify_request(self, request, client_address):
                counter.connections += 1
                return True

        self.requests: list[str] = []
        self.connections = 0
        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _redirect_to(location):
    def answer(handler):
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    return answer


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",  # plain http, link-local
    "https://169.254.169.254/latest/meta-data/",  # https, but a link-local address
    "https://10.0.0.7/output.mp4", "https://[::1]/output.mp4", "https://localhost/output.mp4",
    # loopback spelled as the resolver also reads it
    "https://2130706433/x", "https://127.1/x", "https://0x7f000001/x", "https://[::ffff:127.0.0.1]/x",
    "https://LOCALHOST./x",
    "file:///etc/passwd", "ftp://example.com/output.mp4",
])
def test_an_output_url_outside_syncs_origin_or_on_a_private_address_is_refused(local, emulator, url):
    generation = emulator.create_synthetic(1000, output_file_name="small")
    settings = DownloadSettings(multipart_chunk_bytes=5 * MIB)
    event = {"jobId": "job-1", "generationId": generation.id, "outputUrl": url, "outputFileName": "small"}
    with SyncClient(emulator.url, emulator.api_key) as sync, pytest.raises(OutputUrlRejected):
        download(event, settings, local.client("s3"), None, lambda: sync)
    assert local.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="results/").get("KeyCount") == 0


def test_no_request_is_made_to_a_refused_url_nor_to_a_refused_redirect(local, emulator, monkeypatch):
    elsewhere = _Counting(_redirect_to("http://unused.invalid/"))  # another origin than Sync.so's
    trusted = _Counting(_redirect_to(f"{elsewhere.url}/stolen"))  # Sync.so's origin redirecting there
    try:
        monkeypatch.setenv("SYNC_API_BASE_URL", trusted.url)
        settings = DownloadSettings(multipart_chunk_bytes=5 * MIB)
        generation = emulator.create_synthetic(1000, output_file_name="small")
        s3 = local.client("s3")
        with SyncClient(emulator.url, emulator.api_key) as sync:
            for url in (f"{elsewhere.url}/direct", f"{trusted.url}/output.mp4"):
                event = {"jobId": "job-1", "generationId": generation.id, "outputUrl": url}
                with pytest.raises(OutputUrlRejected):
                    download(event, settings, s3, None, lambda: sync)
        assert elsewhere.connections == 0 and trusted.requests == ["/output.mp4"]
    finally:
        elsewhere.close()
        trusted.close()


def _resolving(names: dict[str, str]):
    """getaddrinfo as if DNS answered `names` (name -> address); other hosts (IP literals) as usual."""
    def resolve(host, port, type=0, **_):
        if host in names:
            family = socket.AF_INET6 if ":" in names[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (names[host], port))]
        return socket.getaddrinfo(host, port, type=type)
    return resolve


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.7", "169.254.169.254", "::1", "fd00::1"])
def test_an_output_host_resolving_to_a_private_address_is_refused_before_any_connection(
        local, emulator, address):
    target = _Counting(_redirect_to("http://unused.invalid/"))  # what the name would reach, unchecked
    try:
        settings = DownloadSettings(multipart_chunk_bytes=5 * MIB)
        http = GuardedClient(timeout=5.0, trusted=[settings.sync_api_base_url],
                             resolve=_resolving({"media.example.com": address}))
        generation = emulator.create_synthetic(1000, output_file_name="small")
        event = {"jobId": "job-1", "generationId": generation.id,
                 "outputUrl": f"https://media.example.com:{target.port}/output.mp4"}
        with SyncClient(emulator.url, emulator.api_key) as sync, pytest.raises(OutputUrlRejected) as refused:
            download(event, settings, local.client("s3"), http, lambda: sync)
        assert "media.example.com" in str(refused.value) and address not in str(refused.value)
        assert target.connections == 0
    finally:
        target.close()


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254"])
def test_a_redirect_from_syncs_origin_to_a_name_resolving_privately_is_refused(
        local, emulator, monkeypatch, address):
    inside = _Counting(_redirect_to("http://unused.invalid/"))
    trusted = _Counting(_redirect_to(f"https://cdn.example.com:{inside.port}/stolen"))
    try:
        monkeypatch.setenv("SYNC_API_BASE_URL", trusted.url)
        settings = DownloadSettings(multipart_chunk_bytes=5 * MIB)
        http = GuardedClient(timeout=5.0, trusted=[settings.sync_api_base_url],
                             resolve=_resolving({"cdn.example.com": address}))
        generation = emulator.create_synthetic(1000, output_file_name="small")
        event = {"jobId": "job-1", "generationId": generation.id, "outputUrl": f"{trusted.url}/output.mp4"}
        with SyncClient(emulator.url, emulator.api_key) as sync, pytest.raises(OutputUrlRejected):
            download(event, settings, local.client("s3"), http, lambda: sync)
        assert trusted.requests == ["/output.mp4"] and inside.connections == 0
    finally:
        inside.close()
        trusted.close()


def test_a_client_that_is_not_guarded_is_never_used(step, emulator):
    generation = emulator.create_synthetic(1000, output_file_name="small", output_duration=1.0)
    unguarded = httpx.Client(transport=httpx.MockTransport(lambda request: pytest.fail("unguarded client used")))
    settings = DownloadSettings(multipart_chunk_bytes=5 * MIB)
    assert isinstance(output_client(settings), GuardedClient)
    assert step(generation, http=unguarded)["size"] == 1000


@pytest.mark.emulator(public_url="http://10.255.255.1:9")
def test_workflow_fails_the_job_when_sync_answers_a_private_output_url(jobs):
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "FAILED"
    assert run.failed_tasks() == ["OutputUrlRejected"]  # refused at once, never retried
    job = jobs.job(job_id)
    assert (job.status.value, job.error_code) == ("failed", "output_url_rejected")
    assert "10.255.255.1" in job.error_message and jobs.multipart_uploads() == []


def test_a_download_that_runs_out_of_retries_fails_the_job_and_leaves_no_upload(jobs, emulator):
    # every retry keeps the multipart upload for the next one to resume; after the last, the failure
    # path aborts it, so nothing half-done is left in S3 (the lifecycle rule is only the backstop)
    emulator.add_faults([{"kind": "broken_output", "after_bytes": 2000, "count": "always"}])
    job_id = jobs.create()
    run = jobs.run(job_id)

    assert run.description["status"] == "FAILED", run.description
    assert "Abort the partial download" in run.states
    assert jobs.job(job_id).status.value == "failed" and jobs.job(job_id).error_code == "download_failed"
    assert jobs.multipart_uploads() == []
