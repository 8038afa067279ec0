"""The real `bootstrap` binary against moto_server (S3 + KMS), checked with boto3."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.parse

from faultproxy import FaultProxy

SCHEDULED = {
    "version": "0", "id": "e2e-event", "detail-type": "Scheduled Event", "source": "aws.events",
    "account": "123456789012", "time": "2026-11-28T02:00:00Z", "region": "us-east-1",
    "resources": [], "detail": {},
}
DAY = "backups/2026-11-27/"


def env(bucket: str, key: str, **extra) -> dict:
    return {"BACKUP_BUCKET": bucket, "ENVIRONMENT": "prod", "KMS_KEY_ID": key, **extra}


def manifest(s3, bucket: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=DAY + "manifest.json")["Body"].read())


def keys(s3, bucket: str, prefix: str = DAY) -> list[str]:
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return out


def versions(s3, bucket: str, lease: bool = True) -> int:
    """Object versions in the bucket; without the day leases' versions when `lease` is False."""
    n = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        n += sum(1 for v in page.get("Versions", []) if lease or not v["Key"].endswith("/lease.json"))
    return n


def test_nightly_backup_of_500_documents_checked_with_boto3(s3, bucket, key_arn, start_lambda):
    fn = start_lambda(env(bucket, key_arn))
    result = fn.invoke(SCHEDULED)
    assert result.ok, result.payload
    assert result.payload["documents"] == 500
    assert result.payload["uploaded"] == 500
    assert result.payload["manifest_key"] == DAY + "manifest.json"

    m = manifest(s3, bucket)
    assert m["status"] == "complete" and m["total_documents"] == 500
    # The day that ended before the scheduled time, not the wall clock's day.
    assert m["backup_date"] == "2026-11-27"
    assert m["backup_summary"]["document_types"] == {t: 100 for t in
                                                     ["contract", "invoice", "memo", "receipt", "report"]}
    assert m["backup_summary"]["departments"] == {d: 125 for d in ["finance", "hr", "operations", "sales"]}
    docs = {d["object_key"]: d for d in m["documents"]}
    stored = [k for k in keys(s3, bucket, DAY + "documents/")]
    assert sorted(stored) == sorted(docs), "every manifest document is stored, nothing else"

    total = 0
    for key, doc in docs.items():
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == key_arn
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert "sha256:" + hashlib.sha256(body).hexdigest() == doc["checksum"], key
        assert len(body) == doc["file_size"]
        total += len(body)
        meta = head["Metadata"]
        assert meta["document-type"] == doc["type"]
        assert meta["department"] == doc["metadata"]["department"]
        assert meta["backup-date"] == "2026-11-27"
        assert head["ContentType"] == doc["content_type"]
        tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}
        assert tags == {"Type": "BusinessDocument", "Department": doc["metadata"]["department"],
                        "Environment": "prod"}
    assert total == m["backup_summary"]["total_size_bytes"]

    mhead = s3.head_object(Bucket=bucket, Key=DAY + "manifest.json")
    assert mhead["ServerSideEncryption"] == "aws:kms" and mhead["SSEKMSKeyId"] == key_arn
    assert mhead["Metadata"]["document-count"] == "500"
    mtags = {t["Key"]: t["Value"] for t in
             s3.get_object_tagging(Bucket=bucket, Key=DAY + "manifest.json")["TagSet"]}
    assert mtags == {"Type": "BackupManifest", "Environment": "prod"}

    (emf,) = fn.emf()
    cw = emf["_aws"]["CloudWatchMetrics"][0]
    assert cw["Namespace"] == "BackupSystem"
    assert cw["Dimensions"] == [["Environment"]]
    assert {x["Name"]: x["Unit"] for x in cw["Metrics"]} == {
        "BackupSuccess": "Count", "BackupFailure": "Count", "DocumentsBackedUp": "Count",
        "BackupSizeBytes": "Bytes", "FailedDocuments": "Count", "BackupDurationMs": "Milliseconds"}
    assert emf["Environment"] == "prod"
    assert (emf["BackupSuccess"], emf["BackupFailure"]) == (1, 0)
    assert emf["DocumentsBackedUp"] == 500
    assert emf["BackupSizeBytes"] == total
    assert emf["FailedDocuments"] == 0


def test_the_same_date_twice_rewrites_nothing(s3, bucket, key_arn, start_lambda):
    fn = start_lambda(env(bucket, key_arn, DOCUMENT_COUNT="40"))
    first = fn.invoke(SCHEDULED)
    assert first.ok and first.payload["uploaded"] == 40
    before = versions(s3, bucket)
    # EventBridge delivers at least once: the same event again, an hour later.
    second = fn.invoke(SCHEDULED)
    assert second.ok, second.payload
    assert second.payload["already_complete"] is True
    assert second.payload["uploaded"] == 0
    # Not a byte written, the lease included: 40 documents and the manifest, once each.
    assert versions(s3, bucket) == before
    assert versions(s3, bucket, lease=False) == 41


def test_missing_bucket_fails_fast_with_the_fix(s3, key_arn, start_lambda):
    fn = start_lambda(env("docvault-no-such-bucket", key_arn, DOCUMENT_COUNT="20"))
    result = fn.invoke(SCHEDULED)
    assert not result.ok
    assert result.error_type == "Fatal.StoreRefused"
    assert "NoSuchBucket" in result.payload["errorMessage"]
    assert "BACKUP_BUCKET" in result.payload["errorMessage"]
    (emf,) = fn.emf()
    assert (emf["BackupSuccess"], emf["BackupFailure"]) == (0, 1)
    assert emf["FailedDocuments"] == 20


def test_an_unusable_kms_key_stops_the_run_before_any_write(s3, kms, bucket, key_arn, start_lambda):
    """moto_server accepts SSE-KMS PUTs naming any key, as some S3-compatible stores do, so the
    function asks KMS about KMS_KEY_ID (DescribeKey) before its first write. (S3's own
    `KMS.NotFoundException` on PUT is covered at the SDK level in tests/s3_errors.rs.)"""
    missing = key_arn.rsplit("/", 1)[0] + "/00000000-1111-2222-3333-444444444444"
    disabled = kms.create_key(Description="disabled")["KeyMetadata"]["Arn"]
    kms.disable_key(KeyId=disabled.split("/")[-1])  # moto 5.2.5 fails DisableKey given an ARN
    for key, said in ((missing, "NotFoundException"), (disabled, "it is Disabled")):
        fn = start_lambda(env(bucket, key, DOCUMENT_COUNT="20"))
        result = fn.invoke(SCHEDULED)
        assert not result.ok and result.error_type == "Fatal.KmsKey", result.payload
        message = result.payload["errorMessage"]
        assert key in message and said in message, message
        assert "KMS_KEY_ID" in message or "Enable the key" in message, message
        (emf,) = fn.emf()
        assert (emf["BackupSuccess"], emf["BackupFailure"]) == (0, 1)
        assert keys(s3, bucket, "backups/") == [], "nothing is written under an unusable key"
        restore = fn.invoke({"action": "restore", "date": "2026-11-27", "to_prefix": "r/"})
        assert restore.error_type == "Fatal.KmsKey"

    # Fixed: the same day completes under the right key.
    fn = start_lambda(env(bucket, key_arn, DOCUMENT_COUNT="20"))
    assert fn.invoke(SCHEDULED).ok
    assert manifest(s3, bucket)["total_documents"] == 20


def test_missing_variable_names_it(bootstrap, tmp_path):
    import runtime_api
    fn = runtime_api.start_function(bootstrap, {"BACKUP_BUCKET": "b-1", "KMS_KEY_ID": "k"}, tmp_path)
    try:
        assert fn.process.wait(timeout=30) != 0
        assert "environment variable ENVIRONMENT is not set" in fn.stderr()
    finally:
        fn.stop()


def test_store_outage_mid_run_then_rerun_completes(s3, bucket, key_arn, moto, start_lambda):
    host, port = urllib.parse.urlparse(moto).hostname, urllib.parse.urlparse(moto).port
    proxy = FaultProxy(host, port)
    count = 1500
    fn = start_lambda(env(bucket, key_arn, DOCUMENT_COUNT=str(count)), endpoint=proxy.url)
    fn.api.events.put  # the invocation runs in the background while we cut the store off
    import threading
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("r", fn.invoke(SCHEDULED, timeout=300)))
    t.start()
    deadline = time.time() + 120
    while len(keys(s3, bucket, DAY + "documents/")) < 200:
        assert time.time() < deadline, "the backup never got going"
        time.sleep(0.05)
    proxy.down()
    t.join(300)
    result = box["r"]
    assert not result.ok
    assert result.error_type == "Retryable.Incomplete", result.payload
    stored = len(keys(s3, bucket, DAY + "documents/"))
    assert 200 <= stored < count
    assert DAY + "manifest.json" not in keys(s3, bucket), "no manifest claims what is not stored"
    (emf,) = fn.emf()
    assert emf["BackupFailure"] == 1
    assert emf["FailedDocuments"] + emf["DocumentsBackedUp"] == count

    proxy.up()
    # The attempt could not release its lease. Another run (a new request id) is refused and
    # writes nothing while the lease lives; Lambda's retry of the invocation (the same request
    # id, after the attempt ended) takes the lease over and completes the day.
    held = versions(s3, bucket)
    other = fn.invoke(SCHEDULED, timeout=300)
    assert other.error_type == "Retryable.Busy", other.payload
    assert result.request_id in other.payload["errorMessage"]
    assert versions(s3, bucket) == held
    again = fn.invoke(SCHEDULED, timeout=300, request_id=result.request_id)
    assert again.ok, again.payload
    assert again.payload["already_stored"] + again.payload["uploaded"] + again.payload["replaced"] == count
    assert again.payload["already_stored"] >= stored - 16
    m = manifest(s3, bucket)
    assert m["total_documents"] == count and m["status"] == "complete"
    for d in m["documents"][:50]:
        body = s3.get_object(Bucket=bucket, Key=d["object_key"])["Body"].read()
        assert "sha256:" + hashlib.sha256(body).hexdigest() == d["checksum"]
    proxy.down()


def test_the_weekly_verify_event_checks_the_latest_backup_and_alarms_on_tampering(s3, bucket, key_arn, start_lambda):
    fn = start_lambda(env(bucket, key_arn, DOCUMENT_COUNT="30"))
    assert fn.invoke(SCHEDULED).ok
    # The weekly rule's event: its scheduled time, four days later (EventBridge input transformer).
    verify = {"action": "verify", "time": "2026-12-01T06:00:00Z"}
    clean = fn.invoke(verify)
    assert clean.ok, clean.payload
    assert clean.payload["date"] == "2026-11-27", "the newest day with a manifest"
    assert (clean.payload["verified"], clean.payload["problems"]) == (30, 0)
    assert clean.payload["requests"]["get"] == 1
    emf = fn.emf()[-1]
    assert (emf["VerificationFailures"], emf["DocumentsVerified"]) == (0, 30)

    # Behind docvault's back: one object deleted, one re-uploaded without SSE-KMS.
    s3.delete_object(Bucket=bucket, Key=DAY + "documents/memo_0004.txt")
    body = s3.get_object(Bucket=bucket, Key=DAY + "documents/invoice_0005.csv")["Body"].read()
    s3.put_object(Bucket=bucket, Key=DAY + "documents/invoice_0005.csv", Body=body)
    failed = fn.invoke(verify)
    assert not failed.ok
    assert failed.error_type == "Fatal.VerificationFailed", failed.payload
    message = failed.payload["errorMessage"]
    assert "missing " + DAY + "documents/memo_0004.txt" in message
    assert "encryption " + DAY + "documents/invoice_0005.csv: required aws:kms" in message
    assert "the store reports none" in message
    assert fn.emf()[-1]["VerificationFailures"] >= 2

    # A day with no backup: not verifiable, and the metric still says so.
    nothing = fn.invoke({"action": "verify", "date": "2026-10-01"})
    assert not nothing.ok and nothing.error_type == "Fatal.NotVerifiable"
    assert "has no complete backup" in nothing.payload["errorMessage"]
    assert fn.emf()[-1]["VerificationFailures"] == 1


def test_restore_event_copies_a_checked_day_into_another_prefix(s3, bucket, key_arn, start_lambda):
    restores = f"restores-{bucket[-10:]}"
    s3.create_bucket(Bucket=restores)
    fn = start_lambda(env(bucket, key_arn, DOCUMENT_COUNT="12", RESTORE_BUCKET=restores))
    assert fn.invoke(SCHEDULED).ok
    restore = {"action": "restore", "date": "2026-11-27", "to_prefix": "restores/r1/"}
    done = fn.invoke(restore)
    assert done.ok, done.payload
    assert (done.payload["requested"], done.payload["restored"]) == (12, 12)
    m = manifest(s3, bucket)
    for d in m["documents"]:
        name = d["object_key"].rsplit("/", 1)[1]
        original = s3.get_object(Bucket=bucket, Key=d["object_key"])["Body"].read()
        head = s3.head_object(Bucket=bucket, Key="restores/r1/" + name)
        copy = s3.get_object(Bucket=bucket, Key="restores/r1/" + name)["Body"].read()
        assert copy == original
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"].endswith(key_arn.split("/")[-1])

    # Never overwrites unasked; overwrite on request.
    again = fn.invoke(restore)
    assert not again.ok and again.error_type == "Fatal.RestoreIncomplete"
    assert "exists already" in again.payload["errorMessage"]
    assert fn.invoke({**restore, "overwrite": True}).ok

    # One document, into the configured restore bucket (any prefix there, even none), and the
    # same checks on the copy; no other bucket.
    one = fn.invoke({**restore, "to_bucket": restores, "to_prefix": "", "document": "memo_0004"})
    assert one.ok and one.payload["restored"] == 1 and one.payload["to_bucket"] == restores
    memo = next(d for d in m["documents"] if d["document_id"] == "memo_0004")
    name = memo["object_key"].rsplit("/", 1)[1]
    assert keys(s3, restores, "") == [name]
    copy = s3.get_object(Bucket=restores, Key=name)
    assert "sha256:" + hashlib.sha256(copy["Body"].read()).hexdigest() == memo["checksum"]
    assert copy["ServerSideEncryption"] == "aws:kms"
    other = fn.invoke({**restore, "to_bucket": "someone-elses-bucket"})
    assert not other.ok and other.error_type == "Fatal.NotRestorable"
    assert "RESTORE_BUCKET" not in other.payload["errorMessage"]  # configured: names the one allowed
    assert f'or the restore bucket "{restores}"' in other.payload["errorMessage"]

    # Tampered objects are refused while the rest land: one shorter, one of the very same size
    # (moto does not check x-amz-checksum-sha256: docvault's own streamed check stops it before
    # its last bytes are sent, so no partial copy lands either).
    s3.put_object(Bucket=bucket, Key=DAY + "documents/invoice_0005.csv", Body=b"tampered",
                  ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    report = next(d for d in m["documents"] if d["type"] == "report")
    original = s3.get_object(Bucket=bucket, Key=report["object_key"])["Body"].read()
    s3.put_object(Bucket=bucket, Key=report["object_key"], Body=original[:-1] + b"!",
                  ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    bad = fn.invoke({**restore, "to_prefix": "restores/r2/"})
    assert not bad.ok and bad.error_type == "Fatal.RestoreIncomplete"
    message = bad.payload["errorMessage"]
    assert "2 of 12 documents were not restored" in message
    assert "invoice_0005 (integrity" in message
    assert report["document_id"] + " (integrity: the object holds " + str(len(original)) + " bytes" in message
    landed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="restores/r2/")["Contents"]}
    assert len(landed) == 10 and "restores/r2/invoice_0005.csv" not in landed
    assert "restores/r2/" + report["object_key"].rsplit("/", 1)[1] not in landed

    # Never into the backups themselves.
    refused = fn.invoke({**restore, "to_prefix": "backups/2026-11-28/documents/"})
    assert not refused.ok and refused.error_type == "Fatal.NotRestorable"


def test_documents_from_an_s3_source_streamed_and_every_object_accounted_for(s3, bucket, key_arn,
                                                                            start_lambda):
    """DOCUMENT_SOURCE=s3://...: real objects landed by a business system. An archived object
    cannot be read: the run is incomplete, says which and why, claims nothing; once the object
    is readable again the rerun completes the day."""
    source = f"landing-{bucket[-10:]}"
    s3.create_bucket(Bucket=source)
    day = "scans/2026-11-27/"
    bodies = {
        "finance/q4-invoice.pdf": b"%PDF-1.7 invoice " * 40,
        "finance/ledger.xlsx": bytes(range(256)) * 300,  # 76,800 bytes: streamed twice
        "hr/contracts/alice.docx": b"contract " * 2000,  # 18,000 bytes: streamed twice
        "readme.txt": b"landing zone\n",
        "sales/archived.csv": b"id,amount\n1,2\n",
    }
    for rel, body in bodies.items():
        extra = {"StorageClass": "GLACIER"} if rel == "sales/archived.csv" else {}
        s3.put_object(Bucket=source, Key=day + rel, Body=body, **extra)
    s3.put_object(Bucket=source, Key=day + "hr/", Body=b"")  # a folder marker, skipped
    s3.put_object(Bucket=source, Key="scans/2026-11-26/finance/old.pdf", Body=b"yesterday")

    fn = start_lambda(env(bucket, key_arn, DOCUMENT_SOURCE=f"s3://{source}/scans/{{date}}/",
                          SOURCE_BUFFER_BYTES="10000"))
    result = fn.invoke(SCHEDULED)
    assert not result.ok
    assert result.error_type == "Retryable.Incomplete", result.payload
    assert "1 documents failed (4 stored)" in result.payload["errorMessage"]
    listed = keys(s3, bucket)
    assert DAY + "manifest.json" not in listed, "no manifest claims the archived document"
    (report_key,) = [k for k in listed if k.startswith(DAY + "incomplete/")]
    report = json.loads(s3.get_object(Bucket=bucket, Key=report_key)["Body"].read())
    (failed,) = report["failed_documents"]
    assert failed["document_id"] == "sales/archived.csv"
    assert failed["stage"] == "read"
    assert failed["source"] == f"s3://{source}/{day}sales/archived.csv"
    assert "InvalidObjectState" in failed["reason"], failed["reason"]
    (emf,) = fn.emf()
    assert (emf["BackupFailure"], emf["FailedDocuments"], emf["DocumentsBackedUp"]) == (1, 1, 4)

    # Restored from the archive (here: landed again in STANDARD); the rerun completes the day.
    s3.put_object(Bucket=source, Key=day + "sales/archived.csv", Body=bodies["sales/archived.csv"])
    again = fn.invoke(SCHEDULED)
    assert again.ok, again.payload
    assert (again.payload["uploaded"], again.payload["already_stored"]) == (1, 4)
    m = manifest(s3, bucket)
    assert m["source"] == {"kind": "s3", "uri": f"s3://{source}/{day}"}
    docs = {d["document_id"]: d for d in m["documents"]}
    assert sorted(docs) == sorted(bodies)
    assert m["backup_summary"]["departments"] == {"finance": 2, "hr": 1, "sales": 1,
                                                  "unassigned": 1}
    assert m["backup_summary"]["total_size_bytes"] == sum(map(len, bodies.values()))
    for rel, body in bodies.items():
        doc = docs[rel]
        assert doc["object_key"] == DAY + "documents/" + rel
        assert doc["checksum"] == "sha256:" + hashlib.sha256(body).hexdigest()
        assert doc["file_size"] == len(body)
        assert doc["source"] == f"s3://{source}/{day}{rel}"
        landed = s3.head_object(Bucket=source, Key=day + rel)["LastModified"]
        assert doc["created_date"] == landed.strftime("%Y-%m-%dT%H:%M:%SZ")
        stored = s3.get_object(Bucket=bucket, Key=doc["object_key"])
        assert stored["Body"].read() == body
        assert stored["ServerSideEncryption"] == "aws:kms" and stored["SSEKMSKeyId"] == key_arn
    assert docs["finance/ledger.xlsx"]["content_type"] == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert docs["hr/contracts/alice.docx"]["type"] == "docx"


def test_large_source_documents_go_in_parts_and_verify_without_reading(s3, bucket, key_arn,
                                                                       start_lambda):
    """Above MULTIPART_THRESHOLD_BYTES a document is uploaded in parts, each with its SHA-256;
    the manifest records the body's SHA-256 and the parts' checksum S3 reports, so the weekly
    verification checks it from a HEAD, and a restore checks the body."""
    source = f"landing-{bucket[-10:]}"
    s3.create_bucket(Bucket=source)
    mib = 1024 * 1024
    big = hashlib.sha256(b"seed").digest() * (12 * mib // 32) + b"tail"  # 12 MiB + 4 bytes
    small = b"a small memo\n"
    s3.put_object(Bucket=source, Key="in/operations/scan.tiff", Body=big)
    s3.put_object(Bucket=source, Key="in/operations/memo.txt", Body=small)
    fn = start_lambda(env(bucket, key_arn, DOCUMENT_SOURCE=f"s3://{source}/in/",
                          MULTIPART_THRESHOLD_BYTES=str(5 * mib),
                          MULTIPART_PART_BYTES=str(5 * mib)))
    result = fn.invoke(SCHEDULED)
    assert result.ok, result.payload
    m = manifest(s3, bucket)
    docs = {d["document_id"]: d for d in m["documents"]}
    scan = docs["operations/scan.tiff"]
    assert scan["checksum"] == "sha256:" + hashlib.sha256(big).hexdigest()
    assert "parts" not in docs["operations/memo.txt"]
    parts = [big[i:i + 5 * mib] for i in range(0, len(big), 5 * mib)]
    of_parts = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest()
    assert scan["parts"] == {"part_size": 5 * mib, "count": 3,
                             "checksum": "sha256:" + of_parts.hex()}
    head = s3.head_object(Bucket=bucket, Key=scan["object_key"], ChecksumMode="ENABLED")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn
    assert head["Metadata"]["document-id"] == "operations/scan.tiff"
    assert head["ContentLength"] == len(big)
    # S3 reports the parts' checksum as `<base64>-3`; moto 5.2.5 leaves out the `-3`.
    assert head["ChecksumSHA256"] in (base64.b64encode(of_parts).decode() + "-3",
                                      base64.b64encode(of_parts).decode())
    assert s3.get_object(Bucket=bucket, Key=scan["object_key"])["Body"].read() == big
    tags = {t["Key"]: t["Value"] for t in
            s3.get_object_tagging(Bucket=bucket, Key=scan["object_key"])["TagSet"]}
    assert tags["Type"] == "BusinessDocument"
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"), "no parts left behind"

    verified = fn.invoke({"action": "verify", "date": "2026-11-27"})
    assert verified.ok, verified.payload
    assert verified.payload["verified"] == 2 and verified.payload["problems"] == 0
    restored = fn.invoke({"action": "restore", "date": "2026-11-27", "to_prefix": "restores/r1/",
                          "document": "operations/scan.tiff"})
    assert restored.ok, restored.payload
    assert s3.get_object(Bucket=bucket, Key="restores/r1/operations/scan.tiff")["Body"].read() == big


def test_two_runs_of_one_day_never_overwrite_each_other(s3, bucket, key_arn, start_lambda):
    """A second run of the day (another source: other bytes under the same ids) started while
    the first holds the day's lease is refused without writing anything (Retryable.Busy);
    started after the first committed, it finds the day complete. Every document keeps one
    version, the one the manifest names."""
    import threading
    count = 600
    first = start_lambda(env(bucket, key_arn, DOCUMENT_COUNT=str(count), UPLOAD_CONCURRENCY="4"))
    second = start_lambda(env(bucket, key_arn, DOCUMENT_COUNT=str(count), DOCUMENT_SEED="7"))
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("r", first.invoke(SCHEDULED, timeout=300)))
    t.start()
    deadline = time.time() + 120
    while len(keys(s3, bucket, DAY + "documents/")) < 50:
        assert time.time() < deadline, "the first run never got going"
        time.sleep(0.05)
    busy = second.invoke(SCHEDULED)
    t.join(300)
    assert not busy.ok and busy.error_type == "Retryable.Busy", busy.payload
    assert "wrote nothing" in busy.payload["errorMessage"]
    assert box["r"].ok, box["r"].payload
    late = second.invoke(SCHEDULED)
    assert late.ok and late.payload["already_complete"] is True, late.payload
    assert late.payload["uploaded"] == 0
    m = manifest(s3, bucket)
    assert m["total_documents"] == count
    listed = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=DAY + "documents/"):
        for v in page.get("Versions", []):
            listed.setdefault(v["Key"], []).append(v)
    assert all(len(v) == 1 for v in listed.values()), "a document was written twice"
    for d in m["documents"][::50]:
        body = s3.get_object(Bucket=bucket, Key=d["object_key"])["Body"].read()
        assert "sha256:" + hashlib.sha256(body).hexdigest() == d["checksum"]
