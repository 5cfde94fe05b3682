"""Child process of the download bench: copies one emulator output, prints {"seconds", "bytes"} as JSON
(real also prints "parts" and "partsSent": how many parts this run sent, the rest were resumed).

`python -m bench._download_child MODE OUTPUT_URL BUCKET KEY` with the moto endpoint in AWS_ENDPOINT_URL.
MODE:
  devnull  httpx stream GET of the output, bytes dropped (what the loopback and emulator allow)
  plain    the plain copy: one presigned-URL PUT into the same moto bucket whose body is the GET
           streamed through httpx (no multipart, no retries, no checks)
  real     the project's own download code (prosync), as the download Lambda runs it
           (KEY is then the job id; the object lands at results/<job>/bench.mp4)
The parent reads this process's peak RSS with os.wait4 (ru_maxrss of exactly this child).
"""

from __future__ import annotations

import json
import os
import sys
import time

import httpx

from bench.download_stream import real_download

CHUNK = 256 * 1024


def devnull(url: str) -> int:
    count = 0
    with httpx.stream("GET", url, timeout=60) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(CHUNK):
            count += len(chunk)
    return count


def plain(url: str, bucket: str, key: str) -> int:
    from prosync.aws import client

    put_url = client("s3").generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600)
    with httpx.stream("GET", url, timeout=60) as response:
        response.raise_for_status()
        size = int(response.headers["content-length"])
        put = httpx.put(put_url, content=response.iter_raw(CHUNK), headers={"content-length": str(size)}, timeout=600)
        put.raise_for_status()
    return size


def prepare(mode: str) -> None:
    """Warm the process as a warm Lambda container would be: modules imported, S3 client made."""
    from prosync.aws import client

    client("s3")
    if mode == "real":
        from bench.download_stream import load_real

        load_real()


def main() -> None:
    mode, url, bucket, key = sys.argv[1:5]
    prepare(mode)
    start = time.perf_counter()
    if mode == "real":
        answer = real_download(url, os.environ["GENERATION_ID"], key)
        extra = {"bytes": answer["size"], "parts": answer["parts"], "partsSent": answer["partsSent"]}
    else:
        extra = {"bytes": devnull(url) if mode == "devnull" else plain(url, bucket, key)}
    print(json.dumps({"seconds": time.perf_counter() - start, **extra}))


if __name__ == "__main__":
    main()
