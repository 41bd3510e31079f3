#!/usr/bin/env python3
"""The S3 baseline of bench/s3.sh (issue 9): PUTs the objects listed on stdin ("<key> <size>" per line) into a
bucket with boto3, THREADS requests in flight (a thread pool, one client shared, its connection pool sized to the
threads), each body SIZE bytes of JSON-looking filler with Content-Type application/json. Prints
"<objects> <seconds> <objects/s>" on stdout; fails loudly on the first error (no retries: standard mode's retries
are turned off so that both sides retry nothing).

    boto3_put.py ENDPOINT BUCKET THREADS < list      (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment)
"""
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

endpoint, bucket, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
entries = []
for line in sys.stdin:
    key, _, size = line.rstrip("\n").rpartition(" ")
    entries.append((key, int(size)))

client = boto3.client(
    "s3", endpoint_url=endpoint, region_name="us-east-1",
    config=Config(max_pool_connections=max(10, threads), retries={"max_attempts": 1, "mode": "standard"},
                  s3={"addressing_style": "path"}, signature_version="s3v4"),
)


def body(size):
    # A JSON object of the right size, like the documents (the bytes themselves do not matter to S3).
    if size < 8:
        return b"{}".ljust(size, b" ")
    return b'{"x":"' + b"a" * (size - 8) + b'"}'


def put(entry):
    key, size = entry
    client.put_object(Bucket=bucket, Key=key, Body=body(size), ContentType="application/json")


start = time.monotonic()
with ThreadPoolExecutor(max_workers=threads) as pool:
    for _ in pool.map(put, entries):
        pass
elapsed = time.monotonic() - start
print("%d %.2f %.0f" % (len(entries), elapsed, len(entries) / elapsed))
