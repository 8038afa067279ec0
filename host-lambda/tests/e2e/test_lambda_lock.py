"""Retention and S3 Object Lock: the real `bootstrap` writes a locked, tagged day into a moto
bucket with Object Lock enabled; boto3, a client docvault did not write, then tries to undo it.

What moto shows here: it refuses to delete a locked object version (COMPLIANCE, and
GOVERNANCE without the bypass header), keeps an overwritten version, reports each object's
lock to HeadObject, and answers tagging and legal-hold requests. What it cannot show: it does
not refuse a *shortened* retention (PutObjectRetention is stored as given), and it does not
check `s3:BypassGovernanceRetention` (any caller that sends the bypass header may delete a
GOVERNANCE object; AWS requires that permission, which the stack's role does not have)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from botocore.exceptions import ClientError


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def scheduled_now() -> dict:
    """The daily rule's event at the real time: the day backed up is yesterday, so the locks
    it writes end in the future (moto compares them with its clock)."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events", "time": now().strftime("%Y-%m-%dT%H:%M:%SZ"), "detail": {}}


@pytest.fixture
def locked_bucket(s3):
    name = f"docvault-lock-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def env(bucket: str, key: str, mode: str, **extra) -> dict:
    return {"BACKUP_BUCKET": bucket, "ENVIRONMENT": "prod", "KMS_KEY_ID": key, "DOCUMENT_COUNT": "12",
            "KEEP_DAILY": "30", "LOCK_MODE": mode, **extra}


def backed_up_day(s3, bucket: str, fn) -> tuple[str, dict]:
    result = fn.invoke(scheduled_now())
    assert result.ok, result.payload
    day = (now() - dt.timedelta(days=1)).date()
    prefix = f"backups/{day}/"
    m = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "manifest.json")["Body"].read())
    return prefix, m


def test_a_compliance_locked_day_cannot_be_deleted_or_replaced_by_another_client(s3, locked_bucket, key_arn,
                                                                                   start_lambda):
    fn = start_lambda(env(locked_bucket, key_arn, "COMPLIANCE"))
    prefix, m = backed_up_day(s3, locked_bucket, fn)
    day = dt.date.fromisoformat(m["backup_date"])
    until = day + dt.timedelta(days=30)  # 30 dailies after the day itself
    assert m["retention"] == {"class": "daily", "retain_until": str(until), "lock_mode": "compliance",
                              "legal_hold": False}
    lock_end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    keys = [d["object_key"] for d in m["documents"]] + [prefix + "manifest.json"]
    assert len(keys) == 13
    for key in keys:
        head = s3.head_object(Bucket=locked_bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE", key
        assert head["ObjectLockRetainUntilDate"] == lock_end, key
        tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=locked_bucket, Key=key)["TagSet"]}
        assert tags["Retention"] == "daily", key

    # Another client, with full S3 rights in moto, tries to remove history.
    doc = m["documents"][0]["object_key"]
    version = s3.head_object(Bucket=locked_bucket, Key=doc)["VersionId"]
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=locked_bucket, Key=doc, VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        s3.delete_object(Bucket=locked_bucket, Key=doc, VersionId=version, BypassGovernanceRetention=True)
    gone = s3.delete_objects(Bucket=locked_bucket, Delete={"Objects": [{"Key": k, "VersionId": v} for k, v in [
        (prefix + "manifest.json", s3.head_object(Bucket=locked_bucket, Key=prefix + "manifest.json")["VersionId"])]]})
    assert gone.get("Errors") and not gone.get("Deleted"), "a locked manifest version is never deleted"

    # A clean verify: nothing was removed.
    verify = fn.invoke({"action": "verify", "date": m["backup_date"]})
    assert verify.ok, verify.payload
    assert (verify.payload["verified"], verify.payload["problems"]) == (12, 0)

    # Overwriting creates a new version (S3 semantics): the locked original stays, readable by
    # its version id, and verify reports the current object as not locked for the day.
    original = s3.get_object(Bucket=locked_bucket, Key=doc, VersionId=version)["Body"].read()
    s3.put_object(Bucket=locked_bucket, Key=doc, Body=original)
    kept = s3.get_object(Bucket=locked_bucket, Key=doc, VersionId=version)
    assert kept["Body"].read() == original and kept["ObjectLockMode"] == "COMPLIANCE"
    found = fn.invoke({"action": "verify", "date": m["backup_date"]})
    assert not found.ok and found.error_type == "Fatal.VerificationFailed", found.payload
    message = found.payload["errorMessage"]
    assert f"retention {doc}: required compliance lock until" in message, message
    assert "the store reports no lock, no class tag" in message, message


def test_governance_locks_yield_only_to_the_bypass_header(s3, locked_bucket, key_arn, start_lambda):
    fn = start_lambda(env(locked_bucket, key_arn, "GOVERNANCE", KEEP_WEEKLY="4", WEEKLY_ON="monday"))
    _prefix, m = backed_up_day(s3, locked_bucket, fn)
    assert m["retention"]["lock_mode"] == "governance"
    doc = m["documents"][0]["object_key"]
    head = s3.head_object(Bucket=locked_bucket, Key=doc)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    with pytest.raises(ClientError):
        s3.delete_object(Bucket=locked_bucket, Key=doc, VersionId=head["VersionId"])
    # moto does not check s3:BypassGovernanceRetention; AWS allows this only to callers that
    # have it (the stack's role does not).
    s3.delete_object(Bucket=locked_bucket, Key=doc, VersionId=head["VersionId"], BypassGovernanceRetention=True)
    found = fn.invoke({"action": "verify", "date": m["backup_date"]})
    assert not found.ok and f"missing {doc}" in found.payload["errorMessage"]


def test_a_lock_without_object_lock_on_the_bucket_fails_the_run_and_names_it(s3, bucket, key_arn, start_lambda):
    fn = start_lambda(env(bucket, key_arn, "COMPLIANCE"))
    result = fn.invoke(scheduled_now())
    assert not result.ok, result.payload
    message = result.payload["errorMessage"]
    assert result.error_type == "Fatal.StoreRefused", result.payload
    assert "0 documents stored, 12 failed or not attempted" in message, message
    assert "the bucket does not have Object Lock enabled" in message and "set LOCK_MODE to NONE" in message, message
    assert s3.list_objects_v2(Bucket=bucket, Prefix="backups/").get("KeyCount", 0) <= 2, \
        "nothing but the lease and the incomplete-run report is written"


def test_a_legal_hold_is_set_and_released_on_every_object_of_the_day(s3, locked_bucket, key_arn, start_lambda):
    fn = start_lambda(env(locked_bucket, key_arn, "GOVERNANCE"))
    prefix, m = backed_up_day(s3, locked_bucket, fn)
    keys = [d["object_key"] for d in m["documents"]] + [prefix + "manifest.json"]
    held = fn.invoke({"action": "legal_hold", "date": m["backup_date"], "on": True})
    assert held.ok, held.payload
    assert (held.payload["on"], held.payload["objects"]) == (True, 13)
    for key in keys:
        assert s3.get_object_legal_hold(Bucket=locked_bucket, Key=key)["LegalHold"]["Status"] == "ON", key
    record = json.loads(s3.get_object(Bucket=locked_bucket, Key=prefix + "legal-hold.json")["Body"].read())
    assert record["on"] is True and record["objects"] == 13 and record["by"] == held.request_id
    # On hold, even the governance bypass cannot delete a version.
    doc = keys[0]
    version = s3.head_object(Bucket=locked_bucket, Key=doc)["VersionId"]
    with pytest.raises(ClientError):
        s3.delete_object(Bucket=locked_bucket, Key=doc, VersionId=version, BypassGovernanceRetention=True)
    verify = fn.invoke({"action": "verify", "date": m["backup_date"]})
    assert verify.ok and verify.payload["legal_holds"] == 12, verify.payload

    released = fn.invoke({"action": "legal_hold", "date": m["backup_date"], "on": False})
    assert released.ok and released.payload["on"] is False, released.payload
    for key in keys:
        assert s3.get_object_legal_hold(Bucket=locked_bucket, Key=key)["LegalHold"]["Status"] == "OFF", key
    assert fn.invoke({"action": "verify", "date": m["backup_date"]}).payload["legal_holds"] == 0

    nothing = fn.invoke({"action": "legal_hold", "date": "2020-01-01", "on": True})
    assert not nothing.ok and nothing.error_type == "Fatal.NothingToHold", nothing.payload
