"""The stack's scale-out state machine executed by moto's Step Functions, with the real
`bootstrap` as its function (through sfn_router.py): a day in shards completes and a rerun
rewrites nothing; a bootstrap killed mid-shard is retried and the day completes; a part deleted
before the commit makes the execution fail with the day recorded as incomplete, and the next
execution completes it. boto3 checks what landed.

The definition run here is the production one (infra/template.yaml, as the stack substitutes
it), changed mechanically where moto cannot follow, and only there:
* moto refuses `ItemBatcher`: the copy has an `ItemSelector` that gives the function the same
  `{"Items": [...], "BatchInput": {...}}` shape, one shard per batch (the production batch size
  is a parameter, 1 by default);
* moto wants `ToleratedFailurePercentage` as a float (and ignores it);
* retries wait 1 s instead of 15 s (with the same attempts and backoff), to keep the test short.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

import properties
import runtime_api
import sfn_router
import stack
from conftest import REGION, client

DATE = "2026-11-27"
START = {"time": "2026-11-28T02:00:00Z"}


def moto_definition(function_arn: str) -> dict:
    """The production definition, changed where moto cannot run it (module documentation)."""
    d = properties.definition(stack.load_template(), batch=1, concurrency=4)
    shards = d["States"]["Shards"]
    batcher = shards.pop("ItemBatcher")
    shards["ItemSelector"] = {"Items.$": "States.Array($$.Map.Item.Value)",
                              "BatchInput": batcher["BatchInput"]}
    shards["ToleratedFailurePercentage"] = float(shards["ToleratedFailurePercentage"])

    def visit(states: dict) -> None:
        for st in states.values():
            for r in st.get("Retry", []):
                r["IntervalSeconds"] = 1
            if "Parameters" in st and "FunctionName" in st["Parameters"]:
                st["Parameters"]["FunctionName"] = function_arn
            if st.get("Type") == "Map":
                visit(st["ItemProcessor"]["States"])

    visit(d["States"])
    return d


class ScaleOut:
    """moto (executing state machines) behind the router, the bucket, the key, the machine."""

    def __init__(self, bootstrap: str, tmp_path, count: int, shard_documents: int):
        self.router = sfn_router.start(lambda: runtime_api.start_function(bootstrap, self.env, tmp_path))
        self.moto = stack.start_moto_server(log_path=tmp_path / "moto.log",
                                            env={"MOTO_PORT": str(self.router.port)})
        self.router.moto_port = int(self.moto.url.rsplit(":", 1)[1])
        import urllib.request
        config = json.dumps({"stepfunctions": {"execute_state_machine": True},
                             "lambda": {"use_docker": False}}).encode()
        urllib.request.urlopen(urllib.request.Request(f"{self.moto.url}/moto-api/config", data=config,
                                                      method="POST"), timeout=10).read()
        self.s3 = client(self.moto.url, "s3")
        self.bucket = f"docvault-sfn-{uuid.uuid4().hex[:10]}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.s3.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})
        key = client(self.moto.url, "kms").create_key(Description="docvault sfn")["KeyMetadata"]["Arn"]
        self.env = {
            "AWS_ENDPOINT_URL": self.moto.url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": REGION, "S3_FORCE_PATH_STYLE": "true", "UPLOAD_CONCURRENCY": "16",
            "MAX_ATTEMPTS": "2", "RUST_LOG": "info", "BACKUP_BUCKET": self.bucket, "ENVIRONMENT": "dev",
            "KMS_KEY_ID": key, "DOCUMENT_COUNT": str(count), "SHARD_MAX_DOCUMENTS": str(shard_documents),
        }
        self.sfn = client(self.moto.url, "stepfunctions")
        arn = f"arn:aws:lambda:{REGION}:123456789012:function:docvault-backup"
        self.machine = self.sfn.create_state_machine(
            name=f"docvault-{uuid.uuid4().hex[:8]}", definition=json.dumps(moto_definition(arn)),
            roleArn="arn:aws:iam::123456789012:role/docvault-states")["stateMachineArn"]

    def run(self, timeout: float = 600) -> dict:
        arn = self.sfn.start_execution(stateMachineArn=self.machine, name=f"run-{uuid.uuid4().hex[:12]}",
                                       input=json.dumps(START))["executionArn"]
        deadline = time.monotonic() + timeout
        while True:
            done = self.sfn.describe_execution(executionArn=arn)
            if done["status"] != "RUNNING":
                return done
            assert time.monotonic() < deadline, f"execution still running after {timeout}s"
            time.sleep(0.5)

    def keys(self, prefix: str) -> list[str]:
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return out

    def versions(self) -> int:
        n = 0
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket):
            n += len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
        return n

    def manifest(self) -> dict:
        body = self.s3.get_object(Bucket=self.bucket, Key=f"backups/{DATE}/manifest.json")["Body"].read()
        return json.loads(body)

    def stop(self) -> None:
        self.router.stop()
        self.moto.stop()


@pytest.fixture
def scale_out(bootstrap, tmp_path):
    started = []

    def make(count: int, shard_documents: int) -> ScaleOut:
        s = ScaleOut(bootstrap, tmp_path, count, shard_documents)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


def test_a_day_in_ten_shards_completes_and_a_rerun_rewrites_nothing(scale_out):
    s = scale_out(5000, 500)
    done = s.run()
    assert done["status"] == "SUCCEEDED", done
    manifest = s.manifest()
    assert (manifest["status"], manifest["total_documents"], manifest["total_failed"]) == ("complete", 5000, 0)
    documents = s.keys(f"backups/{DATE}/documents/")
    assert sorted(documents) == sorted(d["object_key"] for d in manifest["documents"])
    head = s.s3.head_object(Bucket=s.bucket, Key=documents[0])
    assert head["ServerSideEncryption"] == "aws:kms"
    parts = [k for k in s.keys(f"work/{DATE}/") if "/part-" in k]
    assert len(parts) == 10, parts
    actions = [e.get("action") for e in s.router.invocations]
    assert actions.count("plan") == 1 and actions.count("backup_shard") == 10 and actions.count("commit") == 1
    batch = next(e for e in s.router.invocations if e.get("action") == "backup_shard")
    assert set(batch) == {"action", "Items", "BatchInput"} and len(batch["Items"]) == 1
    assert set(batch["BatchInput"]) == {"date", "plan_sha256", "execution"}

    versions = s.versions()
    again = s.run()
    assert again["status"] == "SUCCEEDED", again
    assert s.versions() == versions, "the rerun wrote nothing"
    assert [e.get("action") for e in s.router.invocations][len(actions):] == ["plan"], \
        "a committed day ends the execution at its plan"


def test_a_bootstrap_killed_mid_shard_is_retried_and_the_day_completes(scale_out):
    s = scale_out(600, 100)
    s.router.kill_shard = 2
    done = s.run()
    assert done["status"] == "SUCCEEDED", done
    shard_runs = [e for e in s.router.invocations if e.get("action") == "backup_shard"
                  and e["Items"][0]["index"] == 2]
    assert len(shard_runs) == 2, "the killed shard ran again"
    manifest = s.manifest()
    assert (manifest["total_documents"], manifest["total_failed"]) == (600, 0)
    assert sorted(s.keys(f"backups/{DATE}/documents/")) == sorted(d["object_key"] for d in manifest["documents"])


def test_a_part_deleted_before_the_commit_fails_the_execution_and_the_next_one_completes(scale_out):
    s = scale_out(600, 100)

    def delete_a_part() -> None:
        parts = [k for k in s.keys(f"work/{DATE}/") if "/part-00003-" in k]
        assert len(parts) == 1
        s.s3.delete_object(Bucket=s.bucket, Key=parts[0])

    s.router.before_commit = delete_a_part
    done = s.run()
    assert done["status"] == "FAILED", done
    assert done.get("error") == "BackupIncomplete", done
    assert not s.keys(f"backups/{DATE}/manifest.json"), "no manifest for an incomplete day"
    reports = s.keys(f"backups/{DATE}/incomplete/")
    assert reports, "the commit recorded the incomplete run"
    report = json.loads(s.s3.get_object(Bucket=s.bucket, Key=reports[0])["Body"].read())
    assert report["total_documents"] + report["total_failed"] == 600
    assert report["total_failed"] == 100 and "shard 3" in report["failed_documents"][0]["reason"]

    again = s.run()
    assert again["status"] == "SUCCEEDED", again
    assert (s.manifest()["total_documents"], s.manifest()["total_failed"]) == (600, 0)
