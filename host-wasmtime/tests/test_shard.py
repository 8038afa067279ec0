"""A day spread over workers: `docvault-wasmtime backup --shard I/N` in several processes at
once, then `commit`, against s3s-fs (checksums validated by the store) and moto (SSE-KMS):
the committed manifest is byte for byte the one a single process writes for the same run,
a part deleted or altered before the commit makes it record an incomplete run, and a second
commit rewrites nothing."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import boto3

from conftest import DATE, make_source, s3_client, stack

MOTO_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
S3S_ENV = {"AWS_ACCESS_KEY_ID": stack.S3S_ACCESS, "AWS_SECRET_ACCESS_KEY": stack.S3S_SECRET,
           "AWS_REGION": "us-east-1"}
WORK = f"work/{DATE}"


def workers(runner, args: list[str], n: int, env: dict, ats: list[str],
            indices: list[int] | None = None) -> list[dict]:
    """Starts workers `indices` (all `n` by default) of `n` at once (each with its own `--at`:
    the first to plan sets the day's time and run id, the others adopt them) and returns their
    JSON reports."""
    procs = []
    for i in indices if indices is not None else range(n):
        cmd = [str(runner.binary), "backup", *args, "--shard", f"{i}/{n}", "--at", ats[len(procs)],
               "--run-id", f"worker-{i}", "--json", "-q"]
        full_env = {**os.environ, **env, "DOCVAULT_WASM": str(runner.wasm), "DOCVAULT_CACHE_DIR": str(runner.cache)}
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env))
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
        reports.append(json.loads(out))
    return reports


def plan_of(s3, bucket: str, prefix: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}/{WORK}/plan.json")["Body"].read())


def test_four_workers_and_a_commit_write_the_single_process_manifest_on_s3s_fs(runner, s3s, tmp_path):
    s3 = s3_client(s3s, stack.S3S_ACCESS, stack.S3S_SECRET)
    bucket = f"docvault-shards-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    src = make_source(tmp_path)
    common = ["--source", str(src), "--date", DATE, "--env", "dev", "--endpoint-url", s3s,
              "--path-style", "--kms-key-id", "none"]
    ats = [f"2026-11-28T02:00:0{i}Z" for i in range(4)]
    dest = ["--dest", f"s3://{bucket}/sharded"]
    # The first worker plans; three more start at once and adopt its plan (s3s-fs's create-only
    # writes are not atomic under concurrent writers, docs/toolchain.md, so the plan's first
    # write is not raced here; S3's are).
    reports = workers(runner, [*common, *dest], 4, S3S_ENV, ats[:1], indices=[2])
    reports += workers(runner, [*common, *dest], 4, S3S_ENV, ats[1:], indices=[0, 1, 3])
    assert sum(r["documents"] for r in reports) == 45
    assert all(r["status"] == "complete" and r["shard"]["part_key"] for r in reports)
    assert sorted(r["shard"]["index"] for r in reports) == [0, 1, 2, 3]
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="sharded/")["Contents"]]
    assert f"sharded/backups/{DATE}/manifest.json" not in listed, "no manifest before the commit"

    s3_args = ["--endpoint-url", s3s, "--path-style", "--kms-key-id", "none"]
    done = runner(["commit", "--dest", f"s3://{bucket}/sharded", "--date", DATE, *s3_args, "--json"],
                  env=S3S_ENV).ok().json()
    assert (done["report"]["status"], done["report"]["documents"], done["problems"]) == ("complete", 45, [])
    sharded = s3.get_object(Bucket=bucket, Key=f"sharded/backups/{DATE}/manifest.json")["Body"].read()

    # One process, the same run (the plan's time and run id): the same bytes.
    header = plan_of(s3, bucket, "sharded")["header"]
    assert (header["backup_timestamp"], header["run_id"]) == (ats[0], "worker-2")
    runner(["backup", *common, "--dest", f"s3://{bucket}/single", "--at", header["backup_timestamp"],
            "--run-id", header["run_id"], "-q"], env=S3S_ENV).ok()
    single = s3.get_object(Bucket=bucket, Key=f"single/backups/{DATE}/manifest.json")["Body"].read()
    assert sharded == single

    # A second commit and a late worker rewrite nothing; verify finds the day clean.
    again = runner(["commit", "--dest", f"s3://{bucket}/sharded", "--date", DATE, *s3_args, "--json"],
                   env=S3S_ENV).ok().json()
    assert again["report"]["status"] == "already-complete"
    late = workers(runner, [*common, *dest], 4, S3S_ENV,
                   ["2026-11-29T00:00:00Z"], indices=[0])
    assert late[0]["status"] == "already-complete"
    checked = runner(["verify", "--dest", f"s3://{bucket}/sharded", "--date", DATE, *s3_args, "--json"],
                     env=S3S_ENV).ok().json()
    assert (checked["clean"], checked["report"]["verified"]) == (True, 45)


def test_a_deleted_or_altered_part_is_refused_and_a_rerun_of_its_shard_completes_the_day(runner, moto):
    s3 = s3_client(moto)
    bucket = f"docvault-shards-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kms = boto3.client("kms", endpoint_url=moto, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    key = kms.create_key(Description="docvault shards")["KeyMetadata"]["Arn"]
    s3_args = ["--endpoint-url", moto, "--path-style", "--kms-key-id", key]
    args = ["--generate", "120", "--date", DATE, "--dest", f"s3://{bucket}/p", *s3_args]
    commit = ["commit", "--dest", f"s3://{bucket}/p", "--date", DATE, *s3_args, "--json"]
    ats = ["2026-11-28T02:00:00Z"] * 3
    workers(runner, args, 3, MOTO_ENV, ats)

    parts = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"p/{WORK}/")["Contents"]
                   if "/part-" in o["Key"])
    assert len(parts) == 3
    # Altered: one byte of shard 1's part. Deleted: shard 2's part.
    body = bytearray(s3.get_object(Bucket=bucket, Key=parts[1])["Body"].read())
    body[body.index(b'"file_size":') + 12] ^= 1
    s3.put_object(Bucket=bucket, Key=parts[1], Body=bytes(body))
    s3.delete_object(Bucket=bucket, Key=parts[2])
    run = runner(commit, env=MOTO_ENV)
    assert run.code == 1, run.err
    result = run.json()
    assert sorted(p["code"] for p in result["problems"]) == ["part_altered", "part_missing"]
    report = result["report"]
    assert report["status"] == "incomplete" and report["report_key"]
    plan = plan_of(s3, bucket, "p")
    lost = plan["shards"][1]["documents"] + plan["shards"][2]["documents"]
    assert (report["documents"], len(report["failed"])) == (120 - lost, lost), "every document is accounted for"
    assert "manifest.json" not in str(s3.list_objects_v2(Bucket=bucket, Prefix=f"p/backups/{DATE}/"))

    # The altered part removed, shards 1 and 2 run again: the commit completes the day.
    s3.delete_object(Bucket=bucket, Key=parts[1])
    for i in (1, 2):
        cmd = ["backup", *args, "--shard", f"{i}/3", "--at", ats[0], "--run-id", "again", "--json", "-q"]
        again = runner(cmd, env=MOTO_ENV).ok().json()
        assert again["already_stored"] == again["documents"], "the documents were stored already"
    done = runner(commit, env=MOTO_ENV).ok().json()
    assert (done["report"]["status"], done["report"]["documents"]) == ("complete", 120)
    head = s3.head_object(Bucket=bucket, Key=f"p/backups/{DATE}/manifest.json")
    assert head["ServerSideEncryption"] == "aws:kms"


def test_a_day_committed_in_parts_verifies_and_restores_on_s3s_fs(runner, s3s, tmp_path):
    """`commit --part-documents 10`: 45 documents give a root and 5 parts, written before it;
    verify and restore read the day through its parts, and a part deleted afterwards is named."""
    s3 = s3_client(s3s, stack.S3S_ACCESS, stack.S3S_SECRET)
    bucket = f"docvault-parts-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    src = make_source(tmp_path)
    s3_args = ["--endpoint-url", s3s, "--path-style", "--kms-key-id", "none"]
    common = ["--source", str(src), "--date", DATE, "--env", "dev", *s3_args]
    dest = f"s3://{bucket}/big"
    workers(runner, [*common, "--dest", dest], 2, S3S_ENV, ["2026-11-28T02:00:00Z"], indices=[0])
    workers(runner, [*common, "--dest", dest], 2, S3S_ENV, ["2026-11-28T02:00:01Z"], indices=[1])
    done = runner(["commit", "--dest", dest, "--date", DATE, "--part-documents", "10", *s3_args, "--json"],
                  env=S3S_ENV).ok().json()
    assert (done["report"]["status"], done["report"]["documents"]) == ("complete", 45)
    root = json.loads(s3.get_object(Bucket=bucket, Key=f"big/backups/{DATE}/manifest.json")["Body"].read())
    assert [p["documents"] for p in root["parts"]] == [10, 10, 10, 10, 5]
    assert "documents" not in root and root["total_documents"] == 45
    for part in root["parts"]:
        body = s3.get_object(Bucket=bucket, Key=f"big/{part['key']}")["Body"].read()
        assert len(body) == part["size_bytes"]

    checked = runner(["verify", "--dest", dest, "--date", DATE, *s3_args, "--json"], env=S3S_ENV).ok().json()
    assert (checked["clean"], checked["report"]["verified"]) == (True, 45)
    out = tmp_path / "restored"
    runner(["restore", "--dest", dest, "--date", DATE, "--to", str(out), *s3_args, "-q"], env=S3S_ENV).ok()
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == \
        sorted(p.name for p in src.rglob("*") if p.is_file())

    s3.delete_object(Bucket=bucket, Key=f"big/{root['parts'][3]['key']}")
    run = runner(["verify", "--dest", dest, "--date", DATE, *s3_args], env=S3S_ENV)
    assert run.code != 0 and "part 3" in run.err and "is missing" in run.err, run.err
