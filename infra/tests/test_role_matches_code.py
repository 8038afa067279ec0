"""The function's role grants exactly what the code calls: every AWS SDK operation the Rust
sources call maps to the IAM actions it needs, and the role's S3, KMS and CloudWatch actions
are exactly those (an action no code uses is a grant too many; a call no action covers fails
in AWS). A new SDK call in the code fails this test until the map and the role say what it
needs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import properties as P

ROOT = Path(__file__).resolve().parents[2]
# The crates whose code runs in the function.
SOURCES = [ROOT / "s3" / "src", ROOT / "host-lambda" / "src"]

# SDK operation -> IAM actions it needs (with SSE-KMS on every object, and object tags).
ACTIONS = {
    # With a lock mode, the x-amz-object-lock-* headers need PutObjectRetention.
    "put_object": {"s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectRetention", "kms:GenerateDataKey"},
    "create_multipart_upload": {"s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectRetention",
                                "kms:GenerateDataKey"},
    "upload_part": {"s3:PutObject"},
    # Completing an SSE-KMS multipart upload decrypts the parts' data keys.
    "complete_multipart_upload": {"s3:PutObject", "kms:Decrypt"},
    "abort_multipart_upload": {"s3:AbortMultipartUpload"},
    "get_object": {"s3:GetObject", "kms:Decrypt"},
    # HeadObject reports the lock and legal hold only to callers allowed to read them.
    "head_object": {"s3:GetObject", "s3:GetObjectRetention", "s3:GetObjectLegalHold"},
    "get_object_tagging": {"s3:GetObjectTagging"},
    "put_object_legal_hold": {"s3:PutObjectLegalHold"},
    "list_objects_v2": {"s3:ListBucket"},
    "describe_key": {"kms:DescribeKey"},
    "put_metric_data": {"cloudwatch:PutMetricData"},
}
# Calls of the shared S3 layer that the function never makes: pruning a bucket without
# lifecycle rules is the sandbox runner's (`docvault-wasmtime prune`); the stack's lifecycle
# rules expire days instead, and the function's role may not delete.
NOT_THE_FUNCTIONS = {"list_object_versions", "delete_object"}
# Services whose actions this test accounts for (logs and SQS belong to the platform).
SERVICES = ("s3:", "kms:", "cloudwatch:")


def calls() -> set[str]:
    """Every `client.<operation>()` call in the function's sources."""
    found = set()
    for folder in SOURCES:
        for path in folder.rglob("*.rs"):
            text = path.read_text()
            found |= set(re.findall(r"\bclient\s*\.\s*([a-z0-9_]+)\(\)", text))
    return found - NOT_THE_FUNCTIONS


def granted(template) -> set[str]:
    actions = set()
    for _condition, doc in P.role_policies(template):
        for s in doc["Statement"]:
            if s.get("Effect") != "Allow":
                continue
            a = s["Action"]
            actions |= set([a] if isinstance(a, str) else a)
    return {a for a in actions if a.startswith(SERVICES)}


def test_every_sdk_call_is_known():
    found = calls()
    assert found, "no SDK calls found: the scan is broken"
    unknown = found - ACTIONS.keys()
    assert not unknown, f"SDK calls with no IAM mapping here (add them, and to the role): {unknown}"


def test_the_role_grants_exactly_what_the_code_calls(template):
    needed = set().union(*(ACTIONS[c] for c in calls()))
    have = granted(template)
    assert have - needed == set(), f"granted but never used: {sorted(have - needed)}"
    assert needed - have == set(), f"used but not granted: {sorted(needed - have)}"


@pytest.mark.parametrize("extra", ["s3:GetObjectAttributes", "s3:DeleteObject", "s3:PutObjectAcl"])
def test_the_check_bites_on_an_action_too_many(template, extra):
    import copy
    t = copy.deepcopy(template)
    stmts = P.props(t, P.ROLE)["Policies"][0]["PolicyDocument"]["Statement"]
    stmts[0]["Action"] = [*stmts[0]["Action"], extra]
    with pytest.raises(AssertionError):
        test_the_role_grants_exactly_what_the_code_calls(t)
