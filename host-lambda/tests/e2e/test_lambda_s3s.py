"""Checksums end to end against s3s-fs, which validates `x-amz-checksum-sha256` on PUT and
returns stored checksums (moto does neither; see docs/toolchain.md). A proxy flips a byte of
one document's body in flight: the store must refuse it, the run must record that document as
failed and write no manifest, and a rerun without the fault must complete the day."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import boto3
import pytest

import stack
from conftest import ROOT
from faultproxy import FaultProxy

ACCESS, SECRET = stack.S3S_ACCESS, stack.S3S_SECRET
SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event",
             "time": "2026-11-28T02:00:00Z", "detail": {}}
DAY = "backups/2026-11-27/"


@pytest.fixture(scope="module")
def s3s(tmp_path_factory):
    binary = os.environ.get("DOCVAULT_S3S_FS", str(ROOT / "target" / "tools" / "bin" / "s3s-fs"))
    if not Path(binary).is_file():
        pytest.fail(f"{binary} is missing: scripts/install-s3s-fs.sh installs it")
    root = tmp_path_factory.mktemp("s3s-root")
    server = stack.start_s3s_fs(binary, root, root.parent / "s3s-fs.log")
    try:
        yield int(server.url.rsplit(":", 1)[1])
    finally:
        server.stop()


def test_a_body_that_does_not_match_its_checksum_is_refused_and_recorded(s3s, start_lambda):
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3s}", region_name="us-east-1",
                      aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
                      config=boto3.session.Config(s3={"addressing_style": "path"}))
    bucket = "docvault-checksums"
    s3.create_bucket(Bucket=bucket)
    proxy = FaultProxy("127.0.0.1", s3s)
    proxy.corrupt_paths = [b"/documents/memo_0004.txt"]
    fn = start_lambda({"BACKUP_BUCKET": bucket, "ENVIRONMENT": "dev", "KMS_KEY_ID": "none",
                       "DOCUMENT_COUNT": "20", "AWS_ACCESS_KEY_ID": ACCESS,
                       "AWS_SECRET_ACCESS_KEY": SECRET}, endpoint=proxy.url)
    try:
        result = fn.invoke(SCHEDULED)
        assert not result.ok
        assert result.error_type == "Retryable.Incomplete", result.payload
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=DAY).get("Contents", [])]
        assert DAY + "manifest.json" not in listed
        assert DAY + "documents/memo_0004.txt" not in listed, "the corrupted body was refused"
        (report_key,) = [k for k in listed if k.startswith(DAY + "incomplete/")]
        report = json.loads(s3.get_object(Bucket=bucket, Key=report_key)["Body"].read())
        assert report["status"] == "incomplete"
        (failed,) = report["failed_documents"]
        assert failed["document_id"] == "memo_0004" and failed["stage"] == "store"
        # The flipped byte breaks the body's SHA-256, which the SDK sends both in the signed
        # payload hash and in x-amz-checksum-sha256; s3s-fs refuses it (HTTP 500 InternalError
        # for the payload hash), the SDK retries, and the document is recorded with the refusal.
        assert failed["reason"] == "InternalError: HTTP 500" or "BadDigest" in failed["reason"] \
            or "Mismatch" in failed["reason"], failed["reason"]
        assert failed["attempts"] >= 1
        (emf,) = fn.emf()
        assert (emf["BackupFailure"], emf["FailedDocuments"], emf["DocumentsBackedUp"]) == (1, 1, 19)

        proxy.corrupt_paths = []
        again = fn.invoke(SCHEDULED)
        assert again.ok, again.payload
        assert (again.payload["uploaded"], again.payload["already_stored"]) == (1, 19)
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=DAY + "manifest.json")["Body"].read())
        assert manifest["total_documents"] == 20
        for doc in manifest["documents"]:
            head = s3.head_object(Bucket=bucket, Key=doc["object_key"], ChecksumMode="ENABLED")
            stored = base64.b64decode(head["ChecksumSHA256"]).hex()
            assert "sha256:" + stored == doc["checksum"], doc["object_key"]
    finally:
        proxy.down()


def test_large_source_objects_stream_into_a_store_that_checks_their_checksums(s3s, start_lambda):
    """Source bodies above SOURCE_BUFFER_BYTES are not held in memory: hashed in a first read,
    then streamed from the source straight into PutObject with x-amz-checksum-sha256, which
    s3s-fs validates. What it stores must carry the SHA-256 of the source object."""
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3s}", region_name="us-east-1",
                      aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
                      config=boto3.session.Config(s3={"addressing_style": "path"}))
    bucket, source = "docvault-streamed", "docvault-landing"
    s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=source)
    bodies = {f"operations/scan-{i}.tiff": os.urandom(300_000 + i * 4096) for i in range(6)}
    bodies["operations/small.txt"] = b"kept in memory"
    for rel, body in bodies.items():
        s3.put_object(Bucket=source, Key="in/" + rel, Body=body)
    fn = start_lambda({"BACKUP_BUCKET": bucket, "ENVIRONMENT": "dev", "KMS_KEY_ID": "none",
                       "DOCUMENT_SOURCE": f"s3://{source}/in/", "SOURCE_BUFFER_BYTES": "65536",
                       "AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET},
                      endpoint=f"http://127.0.0.1:{s3s}")
    result = fn.invoke(SCHEDULED)
    assert result.ok, result.payload
    assert result.payload["uploaded"] == len(bodies)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=DAY + "manifest.json")["Body"].read())
    assert {d["document_id"] for d in manifest["documents"]} == set(bodies)
    for doc in manifest["documents"]:
        body = bodies[doc["document_id"]]
        assert doc["checksum"] == "sha256:" + hashlib.sha256(body).hexdigest()
        head = s3.head_object(Bucket=bucket, Key=doc["object_key"], ChecksumMode="ENABLED")
        assert base64.b64decode(head["ChecksumSHA256"]) == hashlib.sha256(body).digest()
        assert s3.get_object(Bucket=bucket, Key=doc["object_key"])["Body"].read() == body


def test_parts_are_checked_by_a_store_that_validates_checksums(s3s, start_lambda):
    """A multipart upload to s3s-fs. A part corrupted in flight is refused, the upload is
    abandoned and the document recorded as failed; without the fault the stored object is the
    source, byte for byte. s3s-fs keeps no checksum for objects uploaded in parts, so a
    verification there reports the object as unverified (not a problem unless stored checksums
    are required), and reading it back verifies it."""
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3s}", region_name="us-east-1",
                      aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
                      config=boto3.session.Config(s3={"addressing_style": "path"}))
    bucket, source = "docvault-parts", "docvault-parts-landing"
    s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=source)
    mib = 1024 * 1024
    big = os.urandom(11 * mib + 123)
    s3.put_object(Bucket=source, Key="finance/archive.zip", Body=big)
    proxy = FaultProxy("127.0.0.1", s3s)
    proxy.corrupt_paths = [b"partNumber=2&"]
    fn = start_lambda({"BACKUP_BUCKET": bucket, "ENVIRONMENT": "dev", "KMS_KEY_ID": "none",
                       "DOCUMENT_SOURCE": f"s3://{source}/", "MAX_ATTEMPTS": "1",
                       "MULTIPART_THRESHOLD_BYTES": str(5 * mib),
                       "MULTIPART_PART_BYTES": str(5 * mib),
                       "AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET},
                      endpoint=proxy.url)
    try:
        result = fn.invoke(SCHEDULED)
        assert not result.ok and result.error_type == "Retryable.Incomplete", result.payload
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        assert not [k for k in listed if k.startswith(DAY + "documents/")], listed
        assert DAY + "manifest.json" not in listed

        proxy.corrupt_paths = []
        result = fn.invoke(SCHEDULED)
        assert result.ok, result.payload
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=DAY + "manifest.json")["Body"].read())
        (doc,) = manifest["documents"]
        assert doc["checksum"] == "sha256:" + hashlib.sha256(big).hexdigest()
        assert doc["parts"]["count"] == 3
        assert s3.get_object(Bucket=bucket, Key=doc["object_key"])["Body"].read() == big
        # s3s-fs keeps no checksum for it: unverified, listed apart from problems...
        verified = fn.invoke({"action": "verify", "date": "2026-11-27"})
        assert verified.ok, verified.payload
        assert (verified.payload["verified"], verified.payload["unverified"]) == (0, 1)
        # ...a failure when stored checksums are required...
        strict = fn.invoke({"action": "verify", "date": "2026-11-27",
                            "require_stored_checksums": True})
        assert not strict.ok and strict.error_type == "Fatal.VerificationFailed", strict.payload
        assert doc["object_key"] in strict.payload["errorMessage"]
        # ...and verified once read back and re-hashed.
        read = fn.invoke({"action": "verify", "date": "2026-11-27", "read_data": 1,
                          "require_stored_checksums": True})
        assert read.ok and (read.payload["verified"], read.payload["unverified"]) == (1, 0), \
            read.payload
    finally:
        proxy.down()


def test_a_late_second_run_finds_the_day_complete_and_rewrites_nothing(s3s, start_lambda):
    """Against a store that checks every body: a run of the same day with other bytes after the
    first committed writes nothing, and the day still verifies."""
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3s}", region_name="us-east-1",
                      aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
                      config=boto3.session.Config(s3={"addressing_style": "path"}))
    bucket = "docvault-two-runs"
    s3.create_bucket(Bucket=bucket)
    base = {"BACKUP_BUCKET": bucket, "ENVIRONMENT": "dev", "KMS_KEY_ID": "none",
            "DOCUMENT_COUNT": "30", "AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET}
    endpoint = f"http://127.0.0.1:{s3s}"
    first = start_lambda(base, endpoint=endpoint)
    assert first.invoke(SCHEDULED).ok
    def documents():  # key -> bytes (s3s-fs lists no ETags)
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=DAY + "documents/")["Contents"]
        return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}

    before = documents()
    assert len(before) == 30
    second = start_lambda({**base, "DOCUMENT_SEED": "9"}, endpoint=endpoint)
    late = second.invoke(SCHEDULED)
    assert late.ok and late.payload["already_complete"] is True, late.payload
    assert documents() == before, "a committed day's documents were rewritten"
    verified = second.invoke({"action": "verify", "date": "2026-11-27"})
    assert verified.ok and verified.payload["problems"] == 0, verified.payload


def test_a_day_listed_from_its_inventory_report_is_the_day_a_listing_gives(s3s, start_lambda):
    """SOURCE_INVENTORY: the source listed from a real gzipped CSV inventory report, written as
    S3 writes one (URL-encoded keys, unquoted ETags, manifest.json with each file's MD5,
    manifest.checksum), gives the manifest's documents a ListObjectsV2 listing gives; keys with
    a space and a `+` survive the encoding. Until the report that covers the day is there, the
    run fails and writes nothing."""
    import gzip
    from datetime import datetime, timezone
    from urllib.parse import quote_plus

    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3s}", region_name="us-east-1",
                      aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
                      config=boto3.session.Config(s3={"addressing_style": "path"}))
    source, reports = "docvault-inv-landing", "docvault-inv-reports"
    by_report, by_listing = "docvault-inv-a", "docvault-inv-b"
    for bucket in (source, reports, by_report, by_listing):
        s3.create_bucket(Bucket=bucket)
    keys = [f"scans/2026-11-27/{rel}" for rel in
            ("finance/q4 report.pdf", "finance/a+b.pdf", "hr/contract.docx", "ops/log.txt")]
    keys.append("scans/2026-11-26/ops/old.txt")
    for key in keys:
        s3.put_object(Bucket=source, Key=key, Body=f"body of {key}".encode())

    folder = f"inventory/{source}/daily/"

    def publish(begun: datetime):
        rows = []
        # What a report records of each object, from HeadObject: s3s-fs lists no ETags, and
        # boto3 reads its URL-encoded listing's `+` as a space.
        for key in keys:
            o = s3.head_object(Bucket=source, Key=key)
            modified = o["LastModified"].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            rows.append(f'"{source}","{quote_plus(key, safe="")}","{o["ContentLength"]}","{modified}",'
                        f'"{o["ETag"].strip(chr(34))}","STANDARD"\n')
        data = gzip.compress("".join(rows).encode())
        name = begun.strftime("%Y-%m-%dT%H-%MZ")
        data_key = f"{folder}data/{name}.csv.gz"
        s3.put_object(Bucket=reports, Key=data_key, Body=data)
        manifest = json.dumps({
            "sourceBucket": source, "destinationBucket": f"arn:aws:s3:::{reports}",
            "version": "2016-11-30", "creationTimestamp": str(int(begun.timestamp() * 1000)),
            "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass",
            "files": [{"key": data_key, "size": len(data), "MD5checksum": hashlib.md5(data).hexdigest()}],
        }).encode()
        s3.put_object(Bucket=reports, Key=f"{folder}{name}/manifest.json", Body=manifest)
        s3.put_object(Bucket=reports, Key=f"{folder}{name}/manifest.checksum",
                      Body=hashlib.md5(manifest).hexdigest().encode())

    common = {"ENVIRONMENT": "dev", "KMS_KEY_ID": "none", "DOCUMENT_SOURCE": f"s3://{source}/scans/{{date}}/",
              "AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET}
    endpoint = f"http://127.0.0.1:{s3s}"
    from_report = start_lambda({**common, "BACKUP_BUCKET": by_report,
                                "SOURCE_INVENTORY": f"s3://{reports}/{folder}"}, endpoint=endpoint)
    from_listing = start_lambda({**common, "BACKUP_BUCKET": by_listing}, endpoint=endpoint)

    # Only a report begun before the day ended: the run waits for the next one.
    publish(datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc))
    early = from_report.invoke(SCHEDULED)
    assert not early.ok and early.error_type == "Fatal.InventoryNotReady", early.payload
    assert "Contents" not in s3.list_objects_v2(Bucket=by_report)

    publish(datetime(2026, 11, 28, 1, 0, tzinfo=timezone.utc))
    a, b = from_report.invoke(SCHEDULED), from_listing.invoke(SCHEDULED)
    assert a.ok and b.ok, (a.payload, b.payload)
    assert a.payload["uploaded"] == b.payload["uploaded"] == 4

    def manifest(bucket):
        return json.loads(s3.get_object(Bucket=bucket, Key=DAY + "manifest.json")["Body"].read())

    ma, mb = manifest(by_report), manifest(by_listing)
    assert ma["documents"] == mb["documents"]
    assert ma["backup_summary"] == mb["backup_summary"]
    assert {d["document_id"] for d in ma["documents"]} == {
        "finance/q4 report.pdf", "finance/a+b.pdf", "hr/contract.docx", "ops/log.txt"}
