"""The native runner `docvault-wasmtime`: the same guest as stock wasmtime, with read-only source
grants, memory and time limits, a precompiled-module cache, and S3 destinations (the guest
scans, the runner uploads through the Lambda's executor) against moto (SSE-KMS) and s3s-fs
(SHA-256 checksums validated and returned by the store)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import uuid
from pathlib import Path

import boto3
import pytest

from conftest import AT, DATE, DAY, GOLDEN, ROOT, cmp_trees, make_source, s3_client, stack, tree

DAY_DIR = f"backups/{DATE}"
GUESTS = ROOT / "host-wasmtime" / "tests" / "guests"
MOTO_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
S3S_ENV = {"AWS_ACCESS_KEY_ID": stack.S3S_ACCESS, "AWS_SECRET_ACCESS_KEY": stack.S3S_SECRET,
           "AWS_REGION": "us-east-1"}


def test_the_runner_prints_the_golden_manifest(runner):
    out = runner(["run", "--", "manifest", "--generate", "500", *DAY]).ok().out
    assert out == (GOLDEN / "manifest-500-2026-11-27.json").read_bytes()


def test_local_backup_verify_restore_and_metrics(runner, hosts, tmp_path):
    src = make_source(tmp_path)
    dst, out = tmp_path / "dst", tmp_path / "out"
    args = ["--date", DATE, "--at", AT, "--env", "dev", "--run-id", "nightly-1"]
    result = runner(["backup", "--source", str(src), "--dest", str(dst), *args, "--json", "-q",
                     "--metrics-file", str(tmp_path / "metrics.prom")]).ok().json()
    assert (result["status"], result["uploaded"], result["failed"]) == ("complete", 45, [])

    # Byte for byte what stock `wasmtime run` writes with the same grants and arguments.
    stock = tmp_path / "stock"
    stock.mkdir()
    hosts.guest(["backup", "--source", "/src", "--dest", "/dst", *args, "-q"],
                {src: "/src", stock: "/dst"}).ok()
    assert cmp_trees(stock, dst) == 47  # 45 documents, the manifest, the day's lock file

    runner(["verify", "--dest", str(dst), "--date", DATE, "-q"]).ok()
    runner(["restore", "--dest", str(dst), "--date", DATE, "--to", str(out), "-q"]).ok()
    assert cmp_trees(src, out) == 45

    prom = (tmp_path / "metrics.prom").read_text()
    assert 'backup_system_documents_backed_up{environment="dev"} 45 ' in prom
    assert 'backup_system_backup_success{environment="dev"} 1 ' in prom
    size = sum(p.stat().st_size for p in tree(src).values())
    assert f'backup_system_backup_size_bytes{{environment="dev"}} {size} ' in prom


def test_generated_day_and_its_rerun(runner, tmp_path):
    dst = tmp_path / "dst"
    backup = ["backup", "--generate", "500", "--dest", str(dst), *DAY, "--json", "-q",
              "--metrics-file", str(tmp_path / "m.json")]
    assert runner(backup).ok().json()["uploaded"] == 500
    assert (dst / DAY_DIR / "manifest.json").read_bytes() == (
        GOLDEN / "manifest-500-2026-11-27.json").read_bytes()
    assert runner(backup).ok().json()["status"] == "already-complete"
    metrics = json.loads((tmp_path / "m.json").read_text())
    values = {d["name"]: d["value"] for d in metrics["data"]}
    assert (metrics["namespace"], metrics["dimensions"]) == ("BackupSystem", {"Environment": "prod"})
    assert (values["BackupSuccess"], values["DocumentsBackedUp"], values["FailedDocuments"]) == (1, 500, 0)


def test_an_overlapping_source_and_destination_are_refused(runner, tmp_path):
    src = make_source(tmp_path)
    run = runner(["backup", "--source", str(src), "--dest", str(src / "vault"), *DAY])
    assert run.code == 2 and "overlap" in run.err
    assert not (src / "vault" / "backups").exists()


def test_a_read_only_grant_cannot_be_written(runner, tmp_path):
    src = make_source(tmp_path)
    before = {rel: p.read_bytes() for rel, p in tree(src).items()}
    run = runner(["run", "--dir", f"{src}::/src::ro", "--", "generate", "--count", "3",
                  "--date", DATE, "--out", "/src/new"])
    assert run.code == 3, run.err
    assert {rel: p.read_bytes() for rel, p in tree(src).items()} == before


def test_a_guest_without_grants_reads_nothing(runner):
    run = runner(["run", "--", "validate", "/etc/hostname"])
    assert run.code == 3 and "not granted to the sandbox" in run.err


def test_the_time_limit_stops_a_runaway_guest(runner):
    run = runner(["--wasm", str(GUESTS / "spin.wat"), "--timeout", "1", "run"], timeout=60)
    assert run.code == 4
    assert "time limit of 1s" in run.err and "--timeout" in run.err


def test_without_a_time_limit_the_guest_is_compiled_apart_and_gives_the_same_bytes(runner, tmp_path):
    """--timeout 0 compiles the guest without epoch checks: a different machine code, cached
    under its own key (the two never overwrite each other), and the same output."""
    cache = tmp_path / "cache"
    env = {"DOCVAULT_CACHE_DIR": str(cache), "DOCVAULT_LOG": "docvault_wasmtime=debug"}
    timed = ["--wasm", str(GUESTS / "exit0.wat"), "run"]
    untimed = ["--timeout", "0", *timed]
    assert "source=Compiled" in runner(timed, env=env).ok().err
    assert "source=Compiled" in runner(untimed, env=env).ok().err
    assert len(list(cache.glob("*.cwasm"))) == 2
    assert "source=Cached" in runner(untimed, env=env).ok().err
    assert "source=Cached" in runner(timed, env=env).ok().err
    day = ["run", "--", "manifest", "--generate", "40", *DAY]
    assert runner(["--timeout", "0", *day]).ok().out == runner(day).ok().out


def test_the_memory_limit_stops_a_runaway_guest(runner):
    run = runner(["--wasm", str(GUESTS / "grow.wat"), "--memory-mib", "64", "run"], timeout=60)
    assert run.code == 4
    assert "memory limit of 64 MiB" in run.err and "--memory-mib" in run.err


def test_the_compiled_module_is_cached_and_a_damaged_cache_is_ignored(runner, tmp_path):
    cache = tmp_path / "cache"
    env = {"DOCVAULT_CACHE_DIR": str(cache), "DOCVAULT_LOG": "docvault_wasmtime=debug"}
    guest = ["--wasm", str(GUESTS / "exit0.wat"), "run"]
    assert "source=Compiled" in runner(guest, env=env).ok().err
    (cached,) = cache.glob("*.cwasm")
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    assert "source=Cached" in runner(guest, env=env).ok().err
    # A damaged file is not loaded; the module is compiled again and the cache repaired.
    cached.write_bytes(b"\0" * 100)
    third = runner(guest, env=env).ok()
    assert "ignoring an unusable cached module" in third.err and "source=Compiled" in third.err
    assert "source=Cached" in runner(guest, env=env).ok().err
    # A cache directory others can write to is not trusted (cached code runs as machine code).
    cache.chmod(0o777)
    shared = runner(guest, env=env).ok().err
    assert "source=Compiled" in shared and "writable by other users" in shared
    assert oct(cache.stat().st_mode & 0o777) == "0o777", "the runner never re-permissions a directory"


# ------------------------------------------------------------------------------- S3

@pytest.fixture
def moto_bucket(moto):
    s3 = s3_client(moto)
    name = f"docvault-runner-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return s3, name


def test_s3_backup_to_moto_encrypts_every_object_and_a_rerun_rewrites_nothing(runner, moto, moto_bucket, tmp_path):
    s3, bucket = moto_bucket
    kms = boto3.client("kms", endpoint_url=moto, **{"region_name": "us-east-1",
                       "aws_access_key_id": "test", "aws_secret_access_key": "test"})
    key = kms.create_key(Description="docvault runner")["KeyMetadata"]["Arn"]
    backup = ["backup", "--generate", "40", "--dest", f"s3://{bucket}/site-a", *DAY,
              "--endpoint-url", moto, "--path-style", "--kms-key-id", key, "--json", "-q",
              "--metrics-file", str(tmp_path / "m.json")]
    result = runner(backup, env=MOTO_ENV).ok().json()
    assert (result["status"], result["uploaded"], result["failed"]) == ("complete", 40, [])
    assert result["manifest_key"] == f"site-a/{DAY_DIR}/manifest.json"

    prefix = f"site-a/{DAY_DIR}/"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"])
    documents = [k for k in keys if k.startswith(prefix + "documents/")]
    assert len(documents) == 40
    assert keys == sorted(documents + [prefix + "lease.json", prefix + "manifest.json"])
    # The run released the day's lease once it committed.
    lease = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "lease.json")["Body"].read())
    assert lease["released"] is True
    # The committed manifest is exactly what the guest computes for the day.
    expected = runner(["run", "--", "manifest", "--generate", "40", *DAY]).ok().out
    assert s3.get_object(Bucket=bucket, Key=prefix + "manifest.json")["Body"].read() == expected
    manifest = json.loads(expected)
    for doc in manifest["documents"]:
        head = s3.head_object(Bucket=bucket, Key=f"site-a/{doc['object_key']}")
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"].endswith(key.split("/")[-1])
        assert head["ContentLength"] == doc["file_size"]
    tags = s3.get_object_tagging(Bucket=bucket, Key=documents[0])["TagSet"]
    assert {"Key": "Type", "Value": "BusinessDocument"} in tags

    versions = len(s3.list_object_versions(Bucket=bucket, Prefix=prefix)["Versions"])
    again = runner(backup, env=MOTO_ENV).ok().json()
    assert (again["status"], again["uploaded"]) == ("already-complete", 0)
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=prefix)["Versions"]) == versions
    values = {d["name"]: d["value"] for d in json.loads((tmp_path / "m.json").read_text())["data"]}
    assert (values["BackupSuccess"], values["DocumentsBackedUp"]) == (1, 40)

    # Verify (encryption included) and restore from moto: the generated files, byte for byte.
    s3_args = ["--endpoint-url", moto, "--path-style", "--kms-key-id", key]
    checked = runner(["verify", "--dest", f"s3://{bucket}/site-a", "--date", DATE, *s3_args, "--json"],
                     env=MOTO_ENV).ok().json()
    assert (checked["clean"], checked["report"]["verified"]) == (True, 40)
    runner(["restore", "--dest", f"s3://{bucket}/site-a", "--date", DATE, "--to", str(tmp_path / "day"),
            *s3_args], env=MOTO_ENV).ok()
    runner(["run", "--dir", f"{tmp_path}::/t", "--", "generate", "--count", "40", "--date", DATE,
            "--out", "/t/generated"]).ok()
    assert cmp_trees(tmp_path / "generated", tmp_path / "day") == 40


def test_large_files_stream_from_disk_and_go_in_parts(runner, moto, moto_bucket, tmp_path):
    """Files above the 4 MiB buffer are not held in memory: hashed in a stream, then streamed
    again into the upload; above --multipart-threshold they go up in parts, and the manifest
    records the parts' checksum S3 reports, so verify needs no download; restore gives the
    files back byte for byte."""
    s3, bucket = moto_bucket
    kms = boto3.client("kms", endpoint_url=moto, **{"region_name": "us-east-1",
                       "aws_access_key_id": "test", "aws_secret_access_key": "test"})
    key = kms.create_key(Description="docvault runner parts")["KeyMetadata"]["Arn"]
    mib = 1024 * 1024
    src = tmp_path / "src"
    (src / "scans").mkdir(parents=True)
    big = os.urandom(12 * mib + 5)
    (src / "scans" / "site-plan.tiff").write_bytes(big)
    (src / "scans" / "contract.pdf").write_bytes(os.urandom(6 * mib))  # streamed, one PUT
    (src / "memo.txt").write_text("held in memory\n")
    s3_args = ["--endpoint-url", moto, "--path-style", "--kms-key-id", key]
    result = runner(["backup", "--source", str(src), "--dest", f"s3://{bucket}/big", *DAY, *s3_args,
                     "--multipart-threshold", str(8 * mib), "--part-size", str(5 * mib), "--json", "-q"],
                    env=MOTO_ENV).ok().json()
    assert (result["status"], result["uploaded"], result["failed"]) == ("complete", 3, [])

    prefix = f"big/{DAY_DIR}/"
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "manifest.json")["Body"].read())
    docs = {d["document_id"]: d for d in manifest["documents"]}
    plan = docs["scans/site-plan.tiff"]
    parts = [big[i:i + 5 * mib] for i in range(0, len(big), 5 * mib)]
    of_parts = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest()
    assert plan["parts"] == {"part_size": 5 * mib, "count": 3, "checksum": "sha256:" + of_parts.hex()}
    assert plan["checksum"] == "sha256:" + hashlib.sha256(big).hexdigest()
    assert "parts" not in docs["scans/contract.pdf"] and "parts" not in docs["memo.txt"]
    for doc in docs.values():
        stored = s3.get_object(Bucket=bucket, Key="big/" + doc["object_key"])
        assert stored["ServerSideEncryption"] == "aws:kms"
        assert "sha256:" + hashlib.sha256(stored["Body"].read()).hexdigest() == doc["checksum"]
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"), "no upload left open"

    checked = runner(["verify", "--dest", f"s3://{bucket}/big", "--date", DATE, *s3_args, "--json"],
                     env=MOTO_ENV).ok().json()
    assert (checked["clean"], checked["report"]["verified"]) == (True, 3)
    runner(["restore", "--dest", f"s3://{bucket}/big", "--date", DATE, "--to", str(tmp_path / "back"),
            *s3_args, "-q"], env=MOTO_ENV).ok()
    assert cmp_trees(src, tmp_path / "back") == 3

    too_small = runner(["backup", "--source", str(src), "--dest", f"s3://{bucket}/x", *DAY, *s3_args,
                        "--part-size", "1024"], env=MOTO_ENV)
    assert too_small.code == 2 and "--part-size" in too_small.err


def test_s3_backup_needs_an_explicit_encryption_choice(runner, moto, moto_bucket):
    _, bucket = moto_bucket
    run = runner(["backup", "--generate", "3", "--dest", f"s3://{bucket}", *DAY,
                  "--endpoint-url", moto, "--path-style"], env=MOTO_ENV)
    assert run.code == 2 and "--kms-key-id" in run.err


def test_a_missing_bucket_fails_fast_and_reports_the_failure_metric(runner, moto, tmp_path):
    run = runner(["backup", "--generate", "5", "--dest", "s3://docvault-no-such-bucket", *DAY,
                  "--endpoint-url", moto, "--path-style", "--kms-key-id", "none",
                  "--metrics-file", str(tmp_path / "m.json")], env=MOTO_ENV)
    assert run.code == 3, run.err
    assert "NoSuchBucket" in run.err
    values = {d["name"]: d["value"] for d in json.loads((tmp_path / "m.json").read_text())["data"]}
    assert (values["BackupSuccess"], values["BackupFailure"]) == (0, 1)


def test_s3_backup_of_a_directory_to_s3s_fs_stores_verified_checksums(runner, s3s, tmp_path):
    s3 = s3_client(s3s, stack.S3S_ACCESS, stack.S3S_SECRET)
    bucket = f"docvault-runner-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    src = make_source(tmp_path)
    (src / "link-out").symlink_to("/etc/hostname")
    bad_dir = src / "ops"
    bad_dir.mkdir()
    bad = os.path.join(os.fsencode(bad_dir), b"bad-\xff.txt")
    with open(bad, "wb") as f:
        f.write(b"a name WASI cannot list\n")
    backup = ["backup", "--source", str(src), "--dest", f"s3://{bucket}/nightly", "--date", DATE,
              "--at", AT, "--env", "dev", "--run-id", "first", "--endpoint-url", s3s,
              "--path-style", "--kms-key-id", "none", "--json", "-q"]

    # A directory the sandbox cannot list: recorded, reported, no manifest; the rest is stored.
    run = runner(backup, env=S3S_ENV)
    assert run.code == 1, run.err
    result = run.json()
    assert (result["status"], result["uploaded"]) == ("incomplete", 45)
    assert [f["document_id"] for f in result["failed"]] == ["ops/"]
    prefix = f"nightly/{DAY_DIR}/"
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    assert prefix + "manifest.json" not in listed
    assert prefix + "incomplete/first.json" in listed
    assert not any("link-out" in k for k in listed)

    # Fixed, rerun: completes the day, keeping what is stored (the store's checksums match).
    os.rename(bad, bad_dir / "renamed.txt")
    backup[backup.index("first")] = "second"
    result = runner(backup, env=S3S_ENV).ok().json()
    assert (result["status"], result["uploaded"], result["already_stored"]) == ("complete", 1, 45)

    manifest = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "manifest.json")["Body"].read())
    assert manifest["total_documents"] == 46
    for doc in manifest["documents"]:
        body = (src / doc["document_id"]).read_bytes()
        head = s3.head_object(Bucket=bucket, Key="nightly/" + doc["object_key"], ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
        assert doc["checksum"] == "sha256:" + hashlib.sha256(body).hexdigest()
    one = manifest["documents"][0]
    assert s3.get_object(Bucket=bucket, Key="nightly/" + one["object_key"])["Body"].read() == (
        src / one["document_id"]).read_bytes()


def test_s3_dry_run_prints_the_plan_and_writes_nothing(runner, s3s, tmp_path):
    s3 = s3_client(s3s, stack.S3S_ACCESS, stack.S3S_SECRET)
    bucket = f"docvault-runner-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    plan = runner(["backup", "--generate", "7", "--dest", f"s3://{bucket}", *DAY, "--dry-run",
                   "--endpoint-url", s3s, "--path-style", "--kms-key-id", "none", "--json"],
                  env=S3S_ENV).ok().json()
    assert len(plan["documents"]) == 7
    assert plan["then"] == f"{DAY_DIR}/manifest.json"
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


# ----------------------------------------------------------------------- S3 verify

def test_s3_verify_reports_each_tampering_from_checksums_alone(runner, s3s, tmp_path):
    s3 = s3_client(s3s, stack.S3S_ACCESS, stack.S3S_SECRET)
    bucket = f"docvault-verify-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3_args = ["--endpoint-url", s3s, "--path-style"]
    runner(["backup", "--generate", "20", "--dest", f"s3://{bucket}/v", *DAY, *s3_args,
            "--kms-key-id", "none", "-q"], env=S3S_ENV).ok()
    verify = ["verify", "--dest", f"s3://{bucket}/v", "--date", DATE, *s3_args, "--json",
              "--metrics-file", str(tmp_path / "verify.json")]
    clean = runner(verify, env=S3S_ENV).ok().json()
    assert (clean["clean"], clean["report"]["verified"]) == (True, 20)
    assert clean["requests"] == {"get": 1, "head": 20, "list": 1, "tagging": 0}, "no tags read for a day without retention"

    # Behind docvault's back, with boto3.
    docs = f"v/{DAY_DIR}/documents/"
    s3.delete_object(Bucket=bucket, Key=docs + "memo_0004.txt")
    body = bytearray(s3.get_object(Bucket=bucket, Key=docs + "invoice_0005.csv")["Body"].read())
    body[0] ^= 1
    s3.put_object(Bucket=bucket, Key=docs + "invoice_0005.csv", Body=bytes(body), ChecksumAlgorithm="SHA256")
    s3.put_object(Bucket=bucket, Key=docs + "stray.bin", Body=b"not from docvault", ChecksumAlgorithm="SHA256")
    s3.put_object(Bucket=bucket, Key=docs + "report_0003.txt", Body=b"shorter", ChecksumAlgorithm="SHA256")

    run = runner(verify, env=S3S_ENV)
    assert run.code == 1, run.err
    r = run.json()["report"]
    assert r["missing"] == [f"{DAY_DIR}/documents/memo_0004.txt"]
    assert r["extra"] == [f"{DAY_DIR}/documents/stray.bin"]
    assert [m["document_id"] for m in r["checksum_mismatch"]] == ["invoice_0005"]
    assert [(m["document_id"], m["actual"]) for m in r["size_mismatch"]] == [("report_0003", 7)]
    assert (r["verified"], run.json()["problems"]) == (17, 4)
    values = {d["name"]: d["value"] for d in json.loads((tmp_path / "verify.json").read_text())["data"]}
    assert (values["VerificationFailures"], values["DocumentsVerified"]) == (4, 17)

    text = runner(verify[:-3], env=S3S_ENV)
    assert text.code == 1
    assert f"missing     {DAY_DIR}/documents/memo_0004.txt" in text.out.decode()

    # --read-data 1: every present document is downloaded once more and re-hashed.
    read = runner([*verify, "--read-data", "1"], env=S3S_ENV).json()
    assert read["read_sampled"] == 19 and read["requests"]["get"] == 20


def test_s3_verify_finds_an_object_re_uploaded_without_kms(runner, moto, moto_bucket):
    s3, bucket = moto_bucket
    kms = boto3.client("kms", endpoint_url=moto, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    key = kms.create_key(Description="docvault verify")["KeyMetadata"]["Arn"]
    s3_args = ["--endpoint-url", moto, "--path-style", "--kms-key-id", key]
    runner(["backup", "--generate", "10", "--dest", f"s3://{bucket}", *DAY, *s3_args, "-q"],
           env=MOTO_ENV).ok()
    doc = f"{DAY_DIR}/documents/receipt_0006.csv"
    body = s3.get_object(Bucket=bucket, Key=doc)["Body"].read()
    s3.put_object(Bucket=bucket, Key=doc, Body=body)  # same bytes, no SSE-KMS
    run = runner(["verify", "--dest", f"s3://{bucket}", "--date", DATE, *s3_args, "--json"], env=MOTO_ENV)
    assert run.code == 1
    r = run.json()["report"]
    assert [(m["key"], m["actual"]) for m in r["encryption_mismatch"]] == [(doc, "none")]
    # boto3 sent no SHA-256 with its PUT, so the store has none to compare: listed as
    # unverified, apart from problems, unless stored checksums are required.
    assert r["unverified"] == [doc]
    assert run.json()["problems"] == 1
    strict = runner(["verify", "--dest", f"s3://{bucket}", "--date", DATE, *s3_args, "--json",
                     "--require-stored-checksums"], env=MOTO_ENV)
    assert strict.code == 1 and strict.json()["problems"] == 2
    # Read back, its bytes are the manifest's: verified, whatever the store keeps.
    read = runner(["verify", "--dest", f"s3://{bucket}", "--date", DATE, *s3_args, "--json",
                   "--read-data", "1", "--require-stored-checksums"], env=MOTO_ENV)
    assert read.json()["report"]["unverified"] == [] and read.json()["problems"] == 1


def test_s3_verify_of_10000_documents_makes_no_document_get(runner, moto_server, moto_bucket):
    moto, log = moto_server
    s3, bucket = moto_bucket
    s3_args = ["--endpoint-url", moto, "--path-style", "--kms-key-id", "none"]
    runner(["backup", "--generate", "10000", "--dest", f"s3://{bucket}", *DAY, *s3_args, "-q",
            "--concurrency", "32"], env=MOTO_ENV, timeout=1200).ok()
    before = log.stat().st_size
    run = runner(["verify", "--dest", f"s3://{bucket}", "--date", DATE, *s3_args, "--json",
                  "--concurrency", "32"], env=MOTO_ENV, timeout=1200)
    with log.open("rb") as f:
        f.seek(before)
        lines = f.read().decode(errors="replace").splitlines()
    # The store's own request log, not docvault's count: (method, path, query) per request.
    requests = [(m[1], *m[2].partition("?")[::2]) for line in lines
                if (m := re.search(r'"(GET|HEAD|PUT) (\S+) HTTP', line))]
    objects = [(method, path) for method, path, _ in requests if path.startswith(f"/{bucket}/") and path != f"/{bucket}/"]
    listings = [query for method, path, query in requests if path.rstrip("/") == f"/{bucket}" and "list-type=2" in query]
    assert [p for m, p in objects if m == "GET"] == [f"/{bucket}/{DAY_DIR}/manifest.json"]
    assert sum(1 for m, p in objects if m == "HEAD" and "/documents/" in p) == 10000
    assert len(listings) == 10 and not any(m == "PUT" for m, _ in objects)
    assert run.json()["report"]["expected"] == 10000


# ---------------------------------------------------------------------- S3 restore

def test_s3_restore_is_byte_identical_and_refuses_tampered_objects(runner, s3s, tmp_path):
    s3 = s3_client(s3s, stack.S3S_ACCESS, stack.S3S_SECRET)
    bucket = f"docvault-restore-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    src = make_source(tmp_path)
    s3_args = ["--endpoint-url", s3s, "--path-style"]
    runner(["backup", "--source", str(src), "--dest", f"s3://{bucket}/r", "--date", DATE, "--at", AT,
            *s3_args, "--kms-key-id", "none", "-q"], env=S3S_ENV).ok()
    restore = ["restore", "--dest", f"s3://{bucket}/r", "--date", DATE, *s3_args]

    day = tmp_path / "day"
    result = runner([*restore, "--to", str(day), "--json"], env=S3S_ENV).ok().json()
    assert (result["restored"], result["failed"]) == (45, [])
    assert cmp_trees(src, day) == 45

    one = tmp_path / "one"
    runner([*restore, "--to", str(one), "--document", "finance/2026/q1-report.pdf"], env=S3S_ENV).ok()
    assert list(tree(one)) == ["finance/2026/q1-report.pdf"]
    assert cmp_trees(src / "finance" / "2026", one / "finance" / "2026") == 1

    # Never overwrites unasked: nothing is written when a target exists.
    (day / "notes.md").write_text("edited locally\n")
    run = runner([*restore, "--to", str(day)], env=S3S_ENV)
    assert run.code == 1 and "exist already" in run.err
    assert (day / "notes.md").read_text() == "edited locally\n"
    runner([*restore, "--to", str(day), "--overwrite", "-q"], env=S3S_ENV).ok()
    assert cmp_trees(src, day) == 45

    # Tampered objects, one shorter and one of the very same size (its last byte changed): each
    # fails with a clear error and leaves no file, not even a temporary one; the rest land.
    key = f"r/{DAY_DIR}/documents/hr/memo-007.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"tampered", ChecksumAlgorithm="SHA256")
    same_size = f"r/{DAY_DIR}/documents/finance/2026/q1-report.pdf"
    original = s3.get_object(Bucket=bucket, Key=same_size)["Body"].read()
    s3.put_object(Bucket=bucket, Key=same_size, Body=original[:-1] + bytes([original[-1] ^ 1]),
                  ChecksumAlgorithm="SHA256")
    again = tmp_path / "again"
    run = runner([*restore, "--to", str(again), "--json"], env=S3S_ENV)
    assert run.code == 1
    report = run.json()
    assert [(f["document_id"], f["kind"]) for f in report["failed"]] == [
        ("finance/2026/q1-report.pdf", "integrity"), ("hr/memo-007.txt", "integrity")]
    assert all("altered after the backup" in f["error"] for f in report["failed"])
    assert f"holds {len(original)} bytes with sha256:" in report["failed"][0]["error"]
    assert report["restored"] == 43
    assert not (again / "hr" / "memo-007.txt").exists()
    assert not (again / "finance" / "2026" / "q1-report.pdf").exists()
    for folder in (again / "hr", again / "finance" / "2026"):
        assert not [p for p in folder.iterdir() if "docvault-restore" in p.name]


def test_s3_backup_with_retention_locks_tags_and_holds_the_day(runner, moto, tmp_path):
    s3 = s3_client(moto)
    bucket = f"docvault-locked-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    # Yesterday, so that the locks end in the future for moto's clock.
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    date = str((now - dt.timedelta(days=1)).date())
    s3_args = ["--endpoint-url", moto, "--path-style", "--kms-key-id", "none"]
    result = runner(["backup", "--generate", "8", "--dest", f"s3://{bucket}", "--date", date,
                     "--at", now.strftime("%Y-%m-%dT%H:%M:%SZ"), "--keep-daily", "30", "--keep-monthly", "12",
                     "--lock", "compliance", *s3_args, "--json", "-q"], env=MOTO_ENV).ok().json()
    assert result["status"] == "complete", result
    prefix = f"backups/{date}/"
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "manifest.json")["Body"].read())
    retention = manifest["retention"]
    assert retention["lock_mode"] == "compliance" and retention["legal_hold"] is False
    assert retention["class"] == ("monthly" if date.endswith("-01") else "daily")
    lock_end = dt.datetime.combine(dt.date.fromisoformat(retention["retain_until"]) + dt.timedelta(days=1),
                                   dt.time(), dt.timezone.utc)
    keys = [d["object_key"] for d in manifest["documents"]] + [prefix + "manifest.json"]
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", lock_end), key
        tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}
        assert tags["Retention"] == retention["class"], key

    held = runner(["hold", "--dest", f"s3://{bucket}", "--date", date, "--on", "--by", "case-42", *s3_args,
                   "--json"], env=MOTO_ENV).ok().json()
    assert (held["on"], held["objects"]) == (True, 9)
    assert all(s3.get_object_legal_hold(Bucket=bucket, Key=k)["LegalHold"]["Status"] == "ON" for k in keys)
    checked = runner(["verify", "--dest", f"s3://{bucket}", "--date", date, *s3_args, "--json"],
                     env=MOTO_ENV).ok().json()
    assert checked["clean"] and checked["report"]["legal_holds"] == 8, checked
    runner(["hold", "--dest", f"s3://{bucket}", "--date", date, "--off", *s3_args], env=MOTO_ENV).ok()
    assert all(s3.get_object_legal_hold(Bucket=bucket, Key=k)["LegalHold"]["Status"] == "OFF" for k in keys)

    # Retention flags on a local destination are refused with where they apply.
    local = runner(["backup", "--generate", "2", "--dest", str(tmp_path / "vault"), "--date", date,
                    "--keep-daily", "7"])
    assert local.code == 2 and "apply to s3:// destinations" in local.err, local.err


def test_s3_prune_deletes_every_version_of_the_days_the_policy_lets_go(runner, moto):
    s3 = s3_client(moto)
    bucket = f"docvault-prune-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)  # versioned; holds possible
    s3_args = ["--endpoint-url", moto, "--path-style", "--kms-key-id", "none"]
    dest = f"s3://{bucket}/site-b"
    dates = [f"2026-06-{d:02d}" for d in range(1, 11)]
    for date in dates:
        extra = ["--keep-daily", "30"] if date == "2026-06-04" else []  # its manifest: until 07-03
        runner(["backup", "--generate", "3", "--dest", dest, "--date", date, "--at", f"{date}T23:00:00Z",
                *extra, *s3_args, "-q"], env=MOTO_ENV).ok()
    runner(["hold", "--dest", dest, "--date", "2026-06-02", "--on", *s3_args], env=MOTO_ENV).ok()
    prune = ["prune", "--dest", dest, "--keep-daily", "3", "--today", "2026-06-10", *s3_args, "--json"]

    def versions(date):
        listed = s3.list_object_versions(Bucket=bucket, Prefix=f"site-b/backups/{date}/")
        return len(listed.get("Versions", [])) + len(listed.get("DeleteMarkers", []))

    dry = runner(prune, env=MOTO_ENV).ok().json()
    assert dry["dry_run"] is True and all(versions(d) > 0 for d in dates), "a dry run deletes nothing"
    reasons = {d["date"]: d.get("reason", d["decision"]) for d in dry["days"]}
    assert reasons == {"2026-06-01": "delete", "2026-06-02": "legal_hold", "2026-06-03": "delete",
                       "2026-06-04": "manifest", "2026-06-05": "delete", "2026-06-06": "delete",
                       "2026-06-07": "policy", "2026-06-08": "policy", "2026-06-09": "policy",
                       "2026-06-10": "policy"}  # the 3 days up to the latest finished day, and today's
    done = runner([*prune, "--yes"], env=MOTO_ENV).ok().json()
    assert done["to_delete"] == 4
    for date, reason in reasons.items():
        if reason == "delete":
            assert versions(date) == 0, f"{date}: every version is gone"
        else:
            assert versions(date) > 0, date
            runner(["verify", "--dest", dest, "--date", date, *s3_args], env=MOTO_ENV).ok()
    # Nothing outside the pruned days was touched.
    assert s3.list_objects_v2(Bucket=bucket, Prefix="site-b/backups/2026-06-04/")["KeyCount"] > 0
