"""The baselines of BENCHMARKS.md's Lambda section, with boto3 (what the spec's Python uses).

  boto3_upload.py threads ENDPOINT BUCKET COUNT SIZE THREADS
      COUNT bodies of SIZE bytes, each PUT with its SHA-256 in x-amz-checksum-sha256 (like
      docvault), from THREADS threads.
  boto3_upload.py spec ENDPOINT BUCKET COUNT
      the spec's way: sequential put_object of COUNT documents, then the manifest.
Prints one JSON line: elapsed (after client creation), PUT rate, CPU seconds.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def client(endpoint: str, pool: int):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        config=Config(max_pool_connections=pool, s3={"addressing_style": "path"},
                                      retries={"max_attempts": 3, "mode": "standard"}))


def body(i: int, size: int) -> bytes:
    b = f"document {i:08} ".encode()
    while len(b) < size:
        b += b"ledger entry amount due net total "
    return b[:size]


def threads(endpoint: str, bucket: str, count: int, size: int, n: int) -> dict:
    s3 = client(endpoint, n)
    bodies = [body(i, size) for i in range(count)]

    def put(i: int) -> None:
        b = bodies[i]
        s3.put_object(Bucket=bucket, Key=f"boto3/{time.time_ns()}/{i:08}.txt", Body=b,
                      ChecksumSHA256=base64.b64encode(hashlib.sha256(b).digest()).decode(),
                      ContentType="text/plain")

    t = time.perf_counter()
    cpu = time.process_time()
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(put, range(count)))
    elapsed = time.perf_counter() - t
    return {"puts": count, "elapsed_s": elapsed, "puts_per_s": count / elapsed,
            "cpu_ms_per_put": (time.process_time() - cpu) * 1000 / count}


def spec(endpoint: str, bucket: str, count: int) -> dict:
    # The seed's Lambda: generate the documents, then put_object one at a time, then the manifest.
    s3 = client(endpoint, 10)
    t = time.perf_counter()
    docs = []
    for i in range(count):
        kind = ["invoice", "receipt", "contract", "report", "memo"][i % 5]
        content = f"Sample {kind} content for document {i}"
        docs.append({"document_id": f"{kind}_{i:04d}", "type": kind, "content": content,
                     "file_size": len(content), "checksum": hashlib.sha256(content.encode()).hexdigest()})
    stamp = time.time_ns()
    for d in docs:
        s3.put_object(Bucket=bucket, Key=f"spec/{stamp}/documents/{d['document_id']}.json",
                      Body=json.dumps(d, indent=2), ContentType="application/json")
    s3.put_object(Bucket=bucket, Key=f"spec/{stamp}/manifest.json",
                  Body=json.dumps({"documents": docs}, indent=2), ContentType="application/json")
    elapsed = time.perf_counter() - t
    return {"puts": count + 1, "elapsed_s": elapsed, "puts_per_s": (count + 1) / elapsed}


if __name__ == "__main__":
    mode, endpoint, bucket, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if mode == "threads":
        out = threads(endpoint, bucket, count, int(sys.argv[5]), int(sys.argv[6]))
    else:
        out = spec(endpoint, bucket, count)
    print(json.dumps(out))
