"""Static checks over the parsed template.

moto's CloudFormation drops bucket versioning, lifecycle, logging, public
access block and bucket keys, and skips bucket policies and alarms
(docs/toolchain.md), so those properties are checked here, on the template
itself. Each check is a function `check_*(template)` that raises
AssertionError; test_properties.py runs each on the real template and on
mutated copies (mutations.py) to show that it fails when the property goes.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any, Iterable

R = dict[str, Any]

BACKUP_BUCKET = "BackupS3Bucket"
LOG_BUCKET = "LoggingBucket"
KEY = "BackupKMSKey"
FUNCTION = "BackupLambdaFunction"
LOG_GROUP = "BackupLambdaLogGroup"
ROLE = "BackupLambdaRole"
RULE = "DailyBackupRule"
VERIFY_RULE = "WeeklyVerificationRule"
DLQ = "BackupDeadLetterQueue"
TOPIC = "AlarmTopic"

TAG_KEYS = ("Environment", "Purpose", "iac-rlhf-amazon")
METRIC_NAMES = {
    "BackupSuccess", "BackupFailure", "DocumentsBackedUp",
    "BackupSizeBytes", "FailedDocuments", "BackupDurationMs",
    "VerificationFailures", "DocumentsVerified",
}


# ----------------------------------------------------------------- utilities
def res(t: R, name: str) -> R:
    assert name in t["Resources"], f"resource {name} is missing"
    return t["Resources"][name]


def props(t: R, name: str) -> R:
    return res(t, name).get("Properties", {})


def of_type(t: R, type_: str) -> dict[str, R]:
    return {n: r for n, r in t["Resources"].items() if r["Type"] == type_}


def as_list(x: Any) -> list:
    return x if isinstance(x, list) else [x]


def is_ref(v: Any, name: str) -> bool:
    return v == {"Ref": name}


def is_arn_of(v: Any, name: str) -> bool:
    return v in ({"Fn::GetAtt": [name, "Arn"]}, {"Fn::GetAtt": f"{name}.Arn"}, {"Fn::Sub": f"${{{name}.Arn}}"})


def is_objects_of(v: Any, name: str) -> bool:
    return v == {"Fn::Sub": f"${{{name}.Arn}}/*"}


def sub_text(v: Any) -> str | None:
    """The format string of a Fn::Sub (either form), else None."""
    if isinstance(v, dict) and "Fn::Sub" in v:
        s = v["Fn::Sub"]
        return s if isinstance(s, str) else s[0]
    return None


def statements(policy_document: R) -> list[R]:
    return as_list(policy_document.get("Statement", []))


def strings_in(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from strings_in(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings_in(v)


STACK_SUFFIX = {"Fn::Select": [4, {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]}]}


# ------------------------------------------------------------------- buckets
def check_backup_bucket_versioning(t: R) -> None:
    assert props(t, BACKUP_BUCKET).get("VersioningConfiguration", {}).get("Status") == "Enabled", \
        "backup bucket versioning must be Enabled"


# Retention class -> (count parameter, generated mapping of lifecycle days, shortest period in days).
CLASSES = {
    "weekly": ("KeepWeekly", "WeeklyLifecycleDays", 7),
    "monthly": ("KeepMonthly", "MonthlyLifecycleDays", 28),
    "yearly": ("KeepYearly", "YearlyLifecycleDays", 365),
}
DAILY_DAYS = {"Fn::If": ["DailyByEnvironment",
                         {"Fn::FindInMap": ["EnvironmentConfig", {"Ref": "Environment"}, "RetentionDays"]},
                         {"Ref": "KeepDaily"}]}


def lifecycle_rules(t: R) -> list[tuple[str | None, R]]:
    """(condition or None, rule) of every backup-bucket lifecycle rule, `Fn::If` rules unwrapped."""
    out = []
    for r in props(t, BACKUP_BUCKET).get("LifecycleConfiguration", {}).get("Rules", []):
        if "Fn::If" in r:
            cond, rule, other = r["Fn::If"]
            assert other == {"Ref": "AWS::NoValue"}, "a conditional rule is either there or not"
            out.append((cond, rule))
        else:
            out.append((None, r))
    return out


def check_backup_bucket_lifecycle(t: R) -> None:
    mapping = t["Mappings"]["EnvironmentConfig"]
    assert {e: mapping[e]["RetentionDays"] for e in ("dev", "staging", "prod")} == \
        {"dev": 7, "staging": 14, "prod": 30}, "default daily retention per environment must be 7/14/30"
    assert t["Conditions"]["DailyByEnvironment"] == {"Fn::Equals": [{"Ref": "KeepDaily"}, "0"]}
    rules = [(c, r) for c, r in lifecycle_rules(t) if r.get("Status") == "Enabled"]
    expiring = [(c, r) for c, r in rules if "ExpirationInDays" in r or "NoncurrentVersionExpiration" in r]
    by_class: dict[str, tuple[str | None, R]] = {}
    for cond, r in expiring:
        # A sharded day's work area, outside backups/: expired by its prefix alone.
        if r.get("Prefix") == "work/" and "TagFilters" not in r and cond is None:
            continue
        # An expiry that is not filtered by one class tag would delete long-kept days early.
        tags = r.get("TagFilters", [])
        assert len(tags) == 1 and tags[0]["Key"] == "Retention", f"{r['Id']}: expires by its Retention tag only"
        assert "Prefix" not in r and "ExpirationDate" not in r, f"{r['Id']}: no prefix or date expiry"
        assert tags[0]["Value"] not in by_class, f"two rules for class {tags[0]['Value']}"
        by_class[tags[0]["Value"]] = (cond, r)
    assert set(by_class) == {"daily", *CLASSES}, f"one rule per retention class: {sorted(by_class)}"
    cond, daily = by_class["daily"]
    assert cond is None, "daily backups always expire"
    assert daily.get("ExpirationInDays") == DAILY_DAYS, "daily backups expire after KeepDaily (or the environment's) days"
    assert daily.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") == DAILY_DAYS, \
        "non-current daily versions are kept as long"
    params = t["Parameters"]
    for cls, (param, days_map, shortest) in CLASSES.items():
        cond, r = by_class[cls]
        assert t["Conditions"][cond] == {"Fn::Not": [{"Fn::Equals": [{"Ref": param}, "0"]}]}, \
            f"the {cls} rule exists exactly when {param} keeps some"
        days = {"Fn::FindInMap": [days_map, {"Ref": param}, "Days"]}
        assert r.get("ExpirationInDays") == days, f"{cls}: expiry from {days_map}"
        assert r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") == days, \
            f"{cls}: non-current versions kept as long"
        table = t["Mappings"][days_map]
        allowed = range(params[param]["MinValue"], params[param]["MaxValue"] + 1)
        assert sorted(int(k) for k in table) == list(allowed), f"{days_map} covers every allowed {param}"
        for k in allowed:
            if k > 0:
                assert table[str(k)]["Days"] >= k * shortest, f"{days_map}[{k}] keeps less than {k} periods"
    aborts = [r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] for _, r in rules
              if "AbortIncompleteMultipartUpload" in r]
    assert aborts and all(1 <= d <= 7 for d in aborts), "incomplete multipart uploads must be aborted within a week"


def check_object_lock(t: R) -> None:
    p = t["Parameters"]["LockMode"]
    assert p["AllowedValues"] == ["NONE", "GOVERNANCE", "COMPLIANCE"] and p["Default"] == "NONE"
    assert t["Conditions"]["LocksObjects"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "LockMode"}, "NONE"]}]}
    b = props(t, BACKUP_BUCKET)
    # In place: the top-level ObjectLockEnabled would replace the (named, retained) bucket when
    # LockMode changes on an existing stack.
    assert "ObjectLockEnabled" not in b, "Object Lock through ObjectLockConfiguration only"
    # Each object carries its own retain-until: a bucket default would lock objects the
    # function must replace (the day's lease) and every day for the same period.
    assert b.get("ObjectLockConfiguration") == {"Fn::If": ["LocksObjects", {"ObjectLockEnabled": "Enabled"},
                                                           {"Ref": "AWS::NoValue"}]}, \
        "Object Lock exactly when a lock mode is chosen, with no bucket-default retention"
    env = props(t, FUNCTION)["Environment"]["Variables"]
    assert is_ref(env.get("LOCK_MODE"), "LockMode")
    assert env["KEEP_DAILY"] == DAILY_DAYS
    for param in ("KeepWeekly", "KeepMonthly", "KeepYearly", "WeeklyOn"):
        name = {"KeepWeekly": "KEEP_WEEKLY", "KeepMonthly": "KEEP_MONTHLY", "KeepYearly": "KEEP_YEARLY",
                "WeeklyOn": "WEEKLY_ON"}[param]
        assert is_ref(env[name], param), f"{name} from {param}"


def check_log_bucket_lifecycle(t: R) -> None:
    rules = [r for r in props(t, LOG_BUCKET).get("LifecycleConfiguration", {}).get("Rules", [])
             if r.get("Status") == "Enabled"]
    assert any("ExpirationInDays" in r for r in rules), "access logs must expire"


def check_public_access_blocked(t: R) -> None:
    for b in of_type(t, "AWS::S3::Bucket"):
        pab = props(t, b).get("PublicAccessBlockConfiguration", {})
        for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
            assert pab.get(k) is True, f"{b}: PublicAccessBlockConfiguration.{k} must be true"


def check_access_logging(t: R) -> None:
    logging = props(t, BACKUP_BUCKET).get("LoggingConfiguration", {})
    assert is_ref(logging.get("DestinationBucketName"), LOG_BUCKET), "backup bucket must log to the log bucket"
    assert logging.get("LogFilePrefix"), "access logs need a prefix (the log bucket policy is scoped to it)"


def check_bucket_encryption(t: R) -> None:
    rules = props(t, BACKUP_BUCKET).get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
    assert len(rules) == 1, "backup bucket needs exactly one default encryption rule"
    default = rules[0].get("ServerSideEncryptionByDefault", {})
    assert default.get("SSEAlgorithm") == "aws:kms", "backup bucket must default to SSE-KMS"
    assert is_arn_of(default.get("KMSMasterKeyID"), KEY) or is_ref(default.get("KMSMasterKeyID"), KEY), \
        "backup bucket must use the stack's key"
    assert rules[0].get("BucketKeyEnabled") is True, "S3 Bucket Keys must be enabled (KMS cost)"
    log_rules = props(t, LOG_BUCKET).get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
    assert log_rules and log_rules[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", \
        "the log bucket must be encrypted (SSE-S3: the only kind access-log delivery supports)"


def bucket_policy_for(t: R, bucket: str) -> list[R]:
    pols = [p for p in of_type(t, "AWS::S3::BucketPolicy").values()
            if is_ref(p["Properties"].get("Bucket"), bucket)]
    assert len(pols) == 1, f"{bucket} needs exactly one bucket policy"
    return statements(pols[0]["Properties"]["PolicyDocument"])


def denies_insecure_transport(stmts: list[R], bucket: str) -> bool:
    for s in stmts:
        if (s.get("Effect") == "Deny" and s.get("Principal") in ("*", {"AWS": "*"})
                and "s3:*" in as_list(s.get("Action"))
                and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}):
            resources = as_list(s.get("Resource"))
            if any(is_arn_of(r, bucket) for r in resources) and any(is_objects_of(r, bucket) for r in resources):
                return True
    return False


def check_backup_bucket_policy(t: R) -> None:
    stmts = bucket_policy_for(t, BACKUP_BUCKET)
    assert denies_insecure_transport(stmts, BACKUP_BUCKET), "backup bucket must deny non-TLS requests"
    uploads = [s for s in stmts if s.get("Effect") == "Deny" and s.get("Principal") == "*"
               and as_list(s.get("Action")) == ["s3:PutObject"] and is_objects_of(s.get("Resource"), BACKUP_BUCKET)]
    conds = [s.get("Condition", {}) for s in uploads]
    assert any(c == {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}} or
               c == {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}} for c in conds), \
        "backup bucket must deny uploads that ask for another encryption than aws:kms"
    assert any(len(c) == 1 and is_arn_of(c.get("StringNotEqualsIfExists", c.get("StringNotEquals", {}))
               .get("s3:x-amz-server-side-encryption-aws-kms-key-id"), KEY) for c in conds), \
        "backup bucket must deny uploads naming another KMS key"
    assert any(c == {"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                     "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"}} for c in conds), \
        "backup bucket must deny aws:kms uploads without a key id (S3 would use aws/s3)"


def check_log_bucket_accepts_access_logs(t: R) -> None:
    log = props(t, LOG_BUCKET)
    assert log.get("OwnershipControls", {}).get("Rules") == [{"ObjectOwnership": "BucketOwnerEnforced"}], \
        "log bucket: ACLs disabled, the logging service is granted by policy"
    stmts = bucket_policy_for(t, LOG_BUCKET)
    assert denies_insecure_transport(stmts, LOG_BUCKET), "log bucket must deny non-TLS requests"
    prefix = props(t, BACKUP_BUCKET).get("LoggingConfiguration", {}).get("LogFilePrefix", "")
    grants = [s for s in stmts if s.get("Effect") == "Allow"
              and s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
              and as_list(s.get("Action")) == ["s3:PutObject"]]
    assert grants, "log bucket policy must let logging.s3.amazonaws.com put objects"
    g = grants[0]
    assert sub_text(g["Resource"]) == f"${{{LOG_BUCKET}.Arn}}/{prefix}*", \
        "the grant must cover exactly the backup bucket's log prefix"
    cond = g.get("Condition", {})
    assert cond.get("StringEquals", {}).get("aws:SourceAccount") == {"Ref": "AWS::AccountId"}
    source = cond.get("ArnLike", cond.get("ArnEquals", {})).get("aws:SourceArn")
    backup_name = props(t, BACKUP_BUCKET)["BucketName"]
    assert sub_text(source) == "arn:${AWS::Partition}:s3:::" + sub_text(backup_name), \
        "the grant must be limited to the backup bucket as source"
    assert "LoggingBucketPolicy" in as_list(res(t, BACKUP_BUCKET).get("DependsOn", [])), \
        "the backup bucket must enable logging only after the log bucket policy exists"


def check_retain_policies(t: R) -> None:
    for name in (BACKUP_BUCKET, LOG_BUCKET, KEY, LOG_GROUP):
        r = res(t, name)
        assert r.get("DeletionPolicy") == "Retain", f"{name}: DeletionPolicy must be Retain"
        assert r.get("UpdateReplacePolicy") == "Retain", f"{name}: UpdateReplacePolicy must be Retain"


# ----------------------------------------------------------------------- KMS
def check_kms_key(t: R) -> None:
    p = props(t, KEY)
    assert p.get("EnableKeyRotation") is True, "key rotation must be enabled"
    stmts = statements(p["KeyPolicy"])
    for s in stmts:
        principal = s.get("Principal")
        assert principal not in ("*", {"AWS": "*"}), f"key policy {s.get('Sid')}: wildcard principal"
        if isinstance(principal, dict) and "Service" in principal:
            assert s.get("Condition"), f"key policy {s.get('Sid')}: service principals need a condition"
    logs = [s for s in stmts if s.get("Principal") == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}]
    assert len(logs) == 1, "the key must admit CloudWatch Logs (the log group is encrypted with it)"
    ctx = logs[0]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    group = props(t, LOG_GROUP)["LogGroupName"]
    assert ctx["Fn::Sub"][0].endswith(":log-group:" + group["Fn::Sub"][0]) and ctx["Fn::Sub"][1] == group["Fn::Sub"][1], \
        "the logs statement must be limited to the function's log group"
    alias = of_type(t, "AWS::KMS::Alias")
    assert any(is_ref(a["Properties"]["TargetKeyId"], KEY) for a in alias.values()), "the key needs an alias"
    assert is_arn_of(props(t, LOG_GROUP).get("KmsKeyId"), KEY), "the log group must be encrypted with the key"


# ----------------------------------------------------------------------- IAM
EXPECTED_ACTIONS = {
    "BackupObjects": {"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:PutObjectTagging",
                      "s3:GetObjectTagging"},
    "ListBackupBucket": {"s3:ListBucket"},
    "UseBackupKeyThroughS3": {"kms:GenerateDataKey", "kms:Decrypt"},
    "DescribeBackupKey": {"kms:DescribeKey"},
    "WriteOwnLogGroup": {"logs:CreateLogStream", "logs:PutLogEvents"},
    "SendFailedInvocationsToDlq": {"sqs:SendMessage"},
    "ReadSourceObjects": {"s3:GetObject"},
    "ListSourcePrefix": {"s3:ListBucket"},
    "ReadInventoryReports": {"s3:GetObject"},
    "ListInventoryReports": {"s3:ListBucket"},
    "WriteRestoredObjects": {"s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"},
    "LockBackupObjects": {"s3:PutObjectRetention", "s3:GetObjectRetention", "s3:GetObjectLegalHold",
                          "s3:PutObjectLegalHold"},
    "PutMetricsInBackupNamespace": {"cloudwatch:PutMetricData"},
}


def role_policies(t: R) -> list[tuple[str | None, R]]:
    """(CloudFormation condition or None, policy document) of every policy the
    function role gets: its inline Policies and AWS::IAM::Policy resources."""
    docs = [(None, p["PolicyDocument"]) for p in props(t, ROLE).get("Policies", [])]
    for r in t["Resources"].values():
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy"):
            roles = r["Properties"].get("Roles", []) + [r["Properties"].get("RoleName")]
            if any(is_ref(x, ROLE) for x in roles):
                docs.append((r.get("Condition"), r["Properties"]["PolicyDocument"]))
    return docs


def check_role_least_privilege(t: R) -> None:
    role = props(t, ROLE)
    assert not role.get("ManagedPolicyArns"), "no managed policies (AWSLambdaBasicExecutionRole is too broad)"
    trust = statements(role["AssumeRolePolicyDocument"])
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    by_sid: dict[str, tuple[str | None, R]] = {}
    for cond, doc in role_policies(t):
        for s in statements(doc):
            assert s.get("Effect") == "Allow"
            assert "Sid" in s and s["Sid"] not in by_sid, f"statement without or with duplicate Sid: {s}"
            by_sid[s["Sid"]] = (cond, s)
    actual = {sid: set(as_list(s["Action"])) for sid, (_, s) in by_sid.items()}
    assert actual == EXPECTED_ACTIONS, f"role actions differ from the least-privilege set: {actual}"
    for sid, (cond, s) in by_sid.items():
        for a in as_list(s["Action"]):
            assert "*" not in a, f"{sid}: wildcard action {a}"
        assert "NotAction" not in s and "NotResource" not in s
        for r in as_list(s["Resource"]):
            if r == "*":
                assert sid == "PutMetricsInBackupNamespace", f"{sid}: Resource '*'"

    def resources(sid):
        return as_list(by_sid[sid][1]["Resource"])

    assert [is_objects_of(r, BACKUP_BUCKET) for r in resources("BackupObjects")] == [True]
    assert [is_arn_of(r, BACKUP_BUCKET) for r in resources("ListBackupBucket")] == [True]
    kms = by_sid["UseBackupKeyThroughS3"][1]
    assert [is_arn_of(r, KEY) for r in resources("UseBackupKeyThroughS3")] == [True]
    assert [is_arn_of(r, KEY) for r in resources("DescribeBackupKey")] == [True]
    assert kms.get("Condition") == {"StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}}, \
        "the key may be used only through S3"
    group = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${%s}" % LOG_GROUP
    assert sorted(sub_text(r) for r in resources("WriteOwnLogGroup")) == [group, group + ":log-stream:*"], \
        "logs only into the function's log group"
    assert [is_arn_of(r, DLQ) for r in resources("SendFailedInvocationsToDlq")] == [True]
    # Conditional permissions.
    conds = t["Conditions"]
    c, metrics = by_sid["PutMetricsInBackupNamespace"]
    assert c is not None and conds[c] == {"Fn::Equals": [{"Ref": "MetricsMode"}, "put-metric-data"]}, \
        "PutMetricData only when MetricsMode=put-metric-data"
    assert metrics.get("Condition") == {"StringEquals": {"cloudwatch:namespace": {"Ref": "MetricsNamespace"}}}
    for sid in ("ReadSourceObjects", "ListSourcePrefix"):
        c, _ = by_sid[sid]
        assert c is not None and conds[c] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "SourceBucketName"}, ""]}]}, \
            f"{sid} only when a source bucket is set"
    for sid in ("ReadInventoryReports", "ListInventoryReports"):
        c, _ = by_sid[sid]
        assert c == "HasSourceInventory" and conds[c] == {"Fn::And": [
            {"Condition": "HasSourceBucket"}, {"Fn::Not": [{"Fn::Equals": [{"Ref": "SourceInventoryBucket"}, ""]}]}]}, \
            f"{sid} only when a source bucket and its inventory are set"
    folder = "arn:${AWS::Partition}:s3:::${SourceInventoryBucket}"
    assert [sub_text(r) for r in resources("ReadInventoryReports")] == [folder + "/${SourceInventoryPrefix}*"], \
        "inventory reads stay inside the inventory's folder"
    assert [sub_text(r) for r in resources("ListInventoryReports")] == [folder]
    assert by_sid["ListInventoryReports"][1]["Condition"] == \
        {"StringLike": {"s3:prefix": {"Fn::Sub": "${SourceInventoryPrefix}*"}}}
    c, restore = by_sid["WriteRestoredObjects"]
    assert c is not None and conds[c] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "RestoreBucketName"}, ""]}]}, \
        "writes into another bucket only when a restore bucket is set"
    assert [sub_text(r) for r in resources("WriteRestoredObjects")] == \
        ["arn:${AWS::Partition}:s3:::${RestoreBucketName}/*"], "restores write into the restore bucket only"
    c, _ = by_sid["LockBackupObjects"]
    assert c == "LocksObjects", "lock permissions only with a lock mode"
    assert [is_objects_of(r, BACKUP_BUCKET) for r in resources("LockBackupObjects")] == [True]
    conditional = ("ReadSourceObjects", "ListSourcePrefix", "ReadInventoryReports", "ListInventoryReports",
                   "WriteRestoredObjects", "PutMetricsInBackupNamespace", "LockBackupObjects")
    for sid in EXPECTED_ACTIONS:
        if sid not in conditional:
            assert by_sid[sid][0] is None


# ------------------------------------------------------------------- compute
ENV_VARS = {"BACKUP_BUCKET", "ENVIRONMENT", "KMS_KEY_ID", "DOCUMENT_SOURCE", "SOURCE_INVENTORY", "RESTORE_BUCKET", "ALLOW_EMPTY_DAYS",
            "DOCUMENT_COUNT", "KEEP_DAILY", "KEEP_WEEKLY", "KEEP_MONTHLY", "KEEP_YEARLY", "WEEKLY_ON", "LOCK_MODE",
            "UPLOAD_CONCURRENCY", "METRICS_MODE", "METRICS_NAMESPACE", "RUST_LOG", "SHARD_MAX_DOCUMENTS"}


def check_function(t: R) -> None:
    f = props(t, FUNCTION)
    assert f.get("Runtime") == "provided.al2023" and f.get("Handler") == "bootstrap"
    assert f.get("Architectures") == ["x86_64"]
    assert is_arn_of(f.get("Role"), ROLE)
    code = f.get("Code", {})
    assert is_ref(code.get("S3Bucket"), "CodeS3Bucket") and is_ref(code.get("S3Key"), "CodeS3Key")
    assert code.get("S3ObjectVersion") == {"Fn::If": ["HasCodeObjectVersion", {"Ref": "CodeS3ObjectVersion"},
                                                      {"Ref": "AWS::NoValue"}]}
    assert "ZipFile" not in code
    env = f.get("Environment", {}).get("Variables", {})
    assert set(env) == ENV_VARS, f"environment variables: {sorted(env)}"
    assert is_ref(env["BACKUP_BUCKET"], BACKUP_BUCKET) and is_arn_of(env["KMS_KEY_ID"], KEY)
    assert is_ref(env["ENVIRONMENT"], "Environment") and is_ref(env["DOCUMENT_COUNT"], "DocumentCount")
    assert is_ref(env["ALLOW_EMPTY_DAYS"], "AllowEmptyDays") and params_default(t, "AllowEmptyDays") == "false"
    assert is_ref(env["METRICS_MODE"], "MetricsMode") and is_ref(env["METRICS_NAMESPACE"], "MetricsNamespace")
    assert env["DOCUMENT_SOURCE"] == {"Fn::If": ["HasSourceBucket", {"Fn::Sub": "s3://${SourceBucketName}/${SourcePrefix}"},
                                                 "generator"]}
    assert env["RESTORE_BUCKET"] == {"Fn::If": ["HasRestoreBucket", {"Ref": "RestoreBucketName"},
                                                {"Ref": "AWS::NoValue"}]}
    assert env["SOURCE_INVENTORY"] == {"Fn::If": ["HasSourceInventory", {
        "Fn::Sub": "s3://${SourceInventoryBucket}/${SourceInventoryPrefix}"}, {"Ref": "AWS::NoValue"}]}
    params = t["Parameters"]
    assert params["DocumentCount"]["Default"] == 500 and params["UploadConcurrency"]["Default"] == 32
    assert params["MetricsMode"]["Default"] == "emf" and params["MetricsNamespace"]["Default"] == "BackupSystem"
    assert params["LambdaMemorySize"]["Default"] == 512 and params["LambdaTimeout"]["Default"] == 900
    assert is_ref(f.get("MemorySize"), "LambdaMemorySize") and is_ref(f.get("Timeout"), "LambdaTimeout")
    assert f.get("ReservedConcurrentExecutions") == {
        "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}, \
        "reserved concurrency must be optional (parameter)"
    assert params["ReservedConcurrency"]["Default"] == ""
    assert t["Conditions"]["HasReservedConcurrency"] == {"Fn::Not": [{"Fn::Or": [
        {"Fn::Equals": [{"Ref": "ReservedConcurrency"}, ""]}, {"Fn::Equals": [{"Ref": "ReservedConcurrency"}, "-1"]}]}]}
    assert is_arn_of(f.get("DeadLetterConfig", {}).get("TargetArn"), DLQ), "failed async invocations go to the DLQ"
    assert is_ref(f.get("LoggingConfig", {}).get("LogGroup"), LOG_GROUP), "the function logs into the stack's log group"
    lg = props(t, LOG_GROUP)
    assert lg.get("RetentionInDays") == {"Fn::FindInMap": ["EnvironmentConfig", {"Ref": "Environment"},
                                                           "FunctionLogRetentionDays"]}


def params_default(t: R, name: str):
    return t["Parameters"][name].get("Default")


def schedule_targets(t: R) -> tuple[R, R]:
    """The daily rule's one target: the state machine with ScaleOut, else the function."""
    targets = props(t, RULE).get("Targets", [])
    assert len(targets) == 1 and list(targets[0]) == ["Fn::If"], "one target, chosen by ScaleOut"
    condition, machine, function = targets[0]["Fn::If"]
    assert condition == "ScalesOut"
    return machine, function


def check_schedule(t: R) -> None:
    rule = props(t, RULE)
    assert rule.get("ScheduleExpression") == {"Fn::Sub": "cron(0 ${BackupHourUtc} * * ? *)"} and rule.get("State") == "ENABLED"
    hour = t["Parameters"]["BackupHourUtc"]
    assert (hour["Type"], hour["Default"], hour["MinValue"], hour["MaxValue"]) == ("Number", 2, 0, 23)
    machine, function = schedule_targets(t)
    transformer = function.get("InputTransformer", {})
    assert transformer.get("InputPathsMap") == {"time": "$.time"}, "the scheduled time must reach the Lambda"
    assert json.loads(transformer.get("InputTemplate", "{}").replace("<time>", '"T"')) == \
        {"action": "backup", "time": "T"}, "the event must ask for the backup of the day before its time"
    check_rule_target(t, RULE)
    # With ScaleOut: the state machine, with the same scheduled time, retries, DLQ, and a role
    # that may start only it.
    assert is_ref(machine.get("Arn"), STATE_MACHINE)
    transformer = machine.get("InputTransformer", {})
    assert transformer.get("InputPathsMap") == {"time": "$.time"}
    assert json.loads(transformer.get("InputTemplate", "{}").replace("<time>", '"T"')) == {"time": "T"}
    assert machine.get("RetryPolicy", {}).get("MaximumRetryAttempts", 0) >= 1
    assert is_arn_of(machine.get("DeadLetterConfig", {}).get("Arn"), DLQ)
    assert is_arn_of(machine.get("RoleArn"), "ScheduleStartExecutionRole")
    start = res(t, "ScheduleStartExecutionRole")
    assert start.get("Condition") == "ScalesOut"
    stmts = [x for pol in start["Properties"]["Policies"] for x in statements(pol["PolicyDocument"])]
    assert stmts == [{"Sid": "StartBackupStateMachine", "Effect": "Allow", "Action": "states:StartExecution",
                      "Resource": {"Ref": STATE_MACHINE}}], stmts


def check_verification_schedule(t: R) -> None:
    rule = props(t, VERIFY_RULE)
    assert rule.get("ScheduleExpression") == "cron(0 6 ? * SUN *)" and rule.get("State") == "ENABLED"
    transformer = rule["Targets"][0].get("InputTransformer", {})
    assert transformer.get("InputPathsMap") == {"time": "$.time"}, "the scheduled time must reach the Lambda"
    assert json.loads(transformer.get("InputTemplate", "{}").replace("<time>", '"T"')) == \
        {"action": "verify", "time": "T"}, "the event must ask for a verification at its scheduled time"
    check_rule_target(t, VERIFY_RULE)


def check_rule_target(t: R, rule_name: str) -> None:
    """One target, the function, with retries, a DLQ that admits the rule, and an invoke
    permission scoped to the rule."""
    targets = props(t, rule_name).get("Targets", [])
    if rule_name == RULE:
        targets = [schedule_targets(t)[1]]
    assert len(targets) == 1 and is_arn_of(targets[0].get("Arn"), FUNCTION)
    retry = targets[0].get("RetryPolicy", {})
    assert retry.get("MaximumRetryAttempts", 0) >= 1 and retry.get("MaximumEventAgeInSeconds", 0) >= 60, \
        "the schedule target needs a retry policy"
    assert is_arn_of(targets[0].get("DeadLetterConfig", {}).get("Arn"), DLQ), "the schedule target needs a DLQ"
    perms = [p["Properties"] for p in of_type(t, "AWS::Lambda::Permission").values()
             if is_arn_of(p["Properties"].get("SourceArn"), rule_name)]
    assert len(perms) == 1, f"one invoke permission scoped to {rule_name}"
    p = perms[0]
    assert is_ref(p.get("FunctionName"), FUNCTION) and p.get("Action") == "lambda:InvokeFunction"
    assert p.get("Principal") == "events.amazonaws.com"
    assert all(q["Properties"].get("SourceArn") for q in of_type(t, "AWS::Lambda::Permission").values()), \
        "every invoke permission must be scoped to a rule"
    qp = [q["Properties"] for q in of_type(t, "AWS::SQS::QueuePolicy").values()
          if any(is_ref(x, DLQ) for x in q["Properties"]["Queues"])]
    assert len(qp) == 1, "the DLQ needs a policy admitting the rule"
    s = statements(qp[0]["PolicyDocument"])
    assert any(x.get("Principal") == {"Service": "events.amazonaws.com"} and x.get("Action") == "sqs:SendMessage"
               and any(is_arn_of(a, rule_name) for a in
                       as_list(x.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn")))
               for x in s)


# -------------------------------------------------------------------- alarms
def alarms(t: R) -> dict[str, R]:
    return {n: r["Properties"] for n, r in of_type(t, "AWS::CloudWatch::Alarm").items()}


def alarm_on(t: R, namespace: Any, metric: str) -> R:
    found = [a for a in alarms(t).values() if a.get("Namespace") == namespace and a.get("MetricName") == metric]
    found += [a for a in alarms(t).values() for m in a.get("Metrics", [])
              if m.get("MetricStat", {}).get("Metric", {}).get("Namespace") == namespace
              and m["MetricStat"]["Metric"].get("MetricName") == metric]
    assert len(found) == 1, f"expected one alarm on {namespace}/{metric}, found {len(found)}"
    return found[0]


def env_dimension(a: R) -> bool:
    return a.get("Dimensions") == [{"Name": "Environment", "Value": {"Ref": "Environment"}}]


def check_alarms(t: R) -> None:
    ns = {"Ref": "MetricsNamespace"}
    assert t["Parameters"]["MetricsNamespace"]["Default"] == "BackupSystem"
    for name, a in alarms(t).items():
        assert a.get("AlarmActions") == [{"Ref": TOPIC}], f"{name}: must notify the alarm topic"
        assert "${AWS::StackName}" in (sub_text(a.get("AlarmName")) or ""), f"{name}: name from the stack name"
    failure = alarm_on(t, ns, "BackupFailure")
    assert env_dimension(failure) and failure["Statistic"] == "Sum" and failure["Threshold"] == 1
    assert failure["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    verification = alarm_on(t, ns, "VerificationFailures")
    assert env_dimension(verification) and verification["Statistic"] == "Sum" and verification["Threshold"] == 1
    assert verification["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    failed_docs = alarm_on(t, ns, "FailedDocuments")
    assert env_dimension(failed_docs) and failed_docs["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    missing = alarm_on(t, ns, "BackupSuccess")
    assert env_dimension(missing) and missing["Statistic"] == "Sum"
    assert missing["ComparisonOperator"] == "LessThanThreshold" and missing["Threshold"] == 1
    assert missing["TreatMissingData"] == "breaching", "a job that never runs must alarm"
    window = missing["Period"] * missing["EvaluationPeriods"]
    assert 86400 <= window <= 2 * 86400, "the no-success window is a day (plus slack)"
    assert missing.get("DatapointsToAlarm", missing["EvaluationPeriods"]) == missing["EvaluationPeriods"], \
        "every period of the window must lack a success"
    assert missing["Period"] >= 3600, "periods of an hour or more (longer windows are allowed from there)"
    duration = alarm_on(t, "AWS/Lambda", "Duration")
    stat = [m for m in duration["Metrics"] if "MetricStat" in m][0]["MetricStat"]
    assert stat["Metric"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": FUNCTION}}]
    expr = [m for m in duration["Metrics"] if "Expression" in m][0]
    assert "${LambdaTimeout}" in sub_text(expr["Expression"]) and duration["Threshold"] < 100, \
        "duration alarm is relative to the configured timeout"
    errors = alarm_on(t, "AWS/Lambda", "Errors")
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": FUNCTION}}]
    dlq = alarm_on(t, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [DLQ, "QueueName"]}}]
    used = {a.get("MetricName") for a in alarms(t).values()}
    assert {"BackupFailure", "BackupSuccess", "FailedDocuments", "VerificationFailures"} <= used <= \
        METRIC_NAMES | {"Errors", "ApproximateNumberOfMessagesVisible", "ExecutionsFailed", None}
    machine = [{"Name": "StateMachineArn", "Value": {"Ref": STATE_MACHINE}}]
    assert alarm_on(t, "AWS/States", "ExecutionsFailed")["Dimensions"] == machine
    for metric in ("ExecutionsTimedOut", "ExecutionsAborted"):
        stopped = alarm_on(t, "AWS/States", metric)
        stat = [m["MetricStat"] for m in stopped["Metrics"] if m.get("MetricStat", {}).get("Metric", {})
                .get("MetricName") == metric][0]
        assert stat["Metric"]["Dimensions"] == machine and stat["Stat"] == "Sum"
    topic = props(t, TOPIC)
    assert "${AWS::StackName}" in sub_text(topic["TopicName"])
    subs = of_type(t, "AWS::SNS::Subscription")
    assert all(s.get("Condition") == "HasAlarmEmail" and is_ref(s["Properties"]["Endpoint"], "AlarmEmail")
               for s in subs.values()) and subs


# ---------------------------------------------------------------------- tags
def taggable(resource_type: str) -> bool:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    return "Tags" in schema.get("properties", {})


def check_tags(t: R) -> None:
    seen = 0
    for name, r in t["Resources"].items():
        if not taggable(r["Type"]):
            continue
        seen += 1
        tags = r.get("Properties", {}).get("Tags")
        assert isinstance(tags, list), f"{name} ({r['Type']}) takes tags but has none"
        values = {tag["Key"]: tag["Value"] for tag in tags}
        for k in TAG_KEYS:
            assert k in values, f"{name}: tag {k} missing"
        assert is_ref(values["Environment"], "Environment"), f"{name}: Environment tag must be the parameter"
        assert isinstance(values["Purpose"], str) and values["Purpose"], f"{name}: Purpose tag empty"
    assert seen >= 10, "the schema lookup found too few taggable resources"


# ------------------------------------------------- names, pseudo parameters
NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName", "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName", "AWS::Events::Rule": "Name", "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName", "AWS::KMS::Alias": "AliasName", "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::IAM::Role": "RoleName",
}


def check_names_and_no_hardcoding(t: R) -> None:
    for name, r in t["Resources"].items():
        prop = NAME_PROPERTIES.get(r["Type"])
        if not prop or prop not in r.get("Properties", {}):
            continue
        value = r["Properties"][prop]
        text = sub_text(value)
        assert text is not None, f"{name}.{prop} must be built with Fn::Sub from the stack"
        if "${AWS::StackName}" not in text:
            # Buckets (global, lower-case names) use the stack id suffix.
            assert "${Suffix}" in text and value["Fn::Sub"][1] == {"Suffix": STACK_SUFFIX}, \
                f"{name}.{prop} is not derived from the stack"
    body = json.dumps({k: t[k] for k in ("Resources", "Outputs")})
    assert not re.search(r"\b\d{12}\b", body), "hard-coded account id"
    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af|il|mx)-(gov-)?[a-z]+-\d\b", body), "hard-coded region"
    for s in strings_in({k: t[k] for k in ("Resources", "Outputs")}):
        assert not s.startswith("arn:aws:"), f"hard-coded partition in {s!r} (use ${{AWS::Partition}})"
    for name, o in t["Outputs"].items():
        assert (sub_text(o.get("Export", {}).get("Name")) or "").startswith("${AWS::StackName}-"), \
            f"output {name}: export named after the stack"
    required = {"BackupBucketName", "BackupLambdaArn", "EventBridgeRuleName", "KMSKeyId",
                "LoggingBucketName", "AlarmTopicArn", "DeadLetterQueueArn"}
    assert required <= set(t["Outputs"]), required - set(t["Outputs"])


def check_parameters(t: R) -> None:
    p = t["Parameters"]
    assert p["Environment"].get("AllowedValues") == ["dev", "staging", "prod"]
    b = p["BackupBucketName"]
    assert b.get("AllowedPattern") == "^[a-z0-9][a-z0-9-]*[a-z0-9]$" and b.get("MinLength", 0) >= 3
    longest_env = max(len(e) for e in p["Environment"]["AllowedValues"])
    log_name = sub_text(props(t, LOG_BUCKET)["BucketName"])
    fixed = len(log_name.replace("${BackupBucketName}", "").replace("${Environment}", "").replace("${Suffix}", ""))
    assert b["MaxLength"] + longest_env + 12 + fixed <= 63, "bucket names can exceed 63 characters"
    assert p["MetricsMode"].get("AllowedValues") == ["emf", "put-metric-data"]
    for name in ("SourceBucketName", "SourceInventoryBucket", "AlarmEmail", "CodeS3ObjectVersion"):
        assert p[name]["Default"] == "", f"{name} must be optional"
    # The inventory's folder ends with its slash, so its read grant covers no sibling folder.
    assert p["SourceInventoryPrefix"]["AllowedPattern"] == "^$|^[^*?]*/$"
    # An inventory without its folder or without the source it lists is refused at deploy time.
    rule = t.get("Rules", {}).get("InventoryNeedsItsFolderAndASource", {})
    assert rule.get("RuleCondition") == {"Fn::Not": [{"Fn::Equals": [{"Ref": "SourceInventoryBucket"}, ""]}]}
    assert [a["Assert"] for a in rule["Assertions"]] == [{"Fn::And": [
        {"Fn::Not": [{"Fn::Equals": [{"Ref": "SourceInventoryPrefix"}, ""]}]},
        {"Fn::Not": [{"Fn::Equals": [{"Ref": "SourceBucketName"}, ""]}]}]}]
    groups = t["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [x for g in groups for x in g["Parameters"]]
    assert sorted(grouped) == sorted(p), "every parameter belongs to one parameter group"


# ------------------------------------------------------------- state machine
STATE_MACHINE = "BackupStateMachine"
ERROR_RS = Path(__file__).resolve().parents[2] / "host-lambda" / "src" / "error.rs"


def definition(t: R, batch: int = 1, concurrency: int = 40) -> R:
    """The state machine's definition as deployed: its Fn::Sub text with the function ARN, the
    retry policy and the Map's numbers filled in."""
    text, values = props(t, STATE_MACHINE)["DefinitionString"]["Fn::Sub"]
    assert values["Function"] == {"Fn::GetAtt": [FUNCTION, "Arn"]}
    filled = (text.replace("${Function}", "arn:aws:lambda:us-east-1:123456789012:function:docvault-backup")
              .replace("${Retry}", values["Retry"]).replace("${AWS::Partition}", "aws").replace("${ShardBatchSize}", str(batch))
              .replace("${MapMaxConcurrency}", str(concurrency)))
    assert "${" not in filled, "every substitution is known"
    return json.loads(filled)


def function_error_types() -> set[str]:
    """Every `Retryable.*` and `Fatal.*` error type the function reports (its error.rs)."""
    return set(re.findall(r'"((?:Retryable|Fatal)\.[A-Za-z]+)"', ERROR_RS.read_text()))


def tasks(states: R) -> Iterable[tuple[str, R]]:
    for name, st in states.items():
        yield name, st
        if st.get("Type") == "Map":
            yield from tasks(st["ItemProcessor"]["States"])


def check_state_machine(t: R) -> None:
    sm = props(t, STATE_MACHINE)
    assert sm.get("StateMachineType") == "STANDARD", "Express workflows last 5 minutes at most"
    assert is_arn_of(sm.get("RoleArn"), "BackupStateMachineRole")
    assert "${AWS::StackName}" in sub_text(sm["StateMachineName"])
    assert sm.get("LoggingConfiguration", {}).get("Level") in ("ERROR", "ALL")
    assert sm.get("TracingConfiguration", {}).get("Enabled") is True
    d = definition(t)
    states = d["States"]
    # plan -> (already complete? done) -> shards -> commit; a failed map still records the day.
    assert d["StartAt"] == "Plan" and states["Plan"]["Next"] == "AlreadyComplete"
    shards = states["Shards"]
    assert shards["Type"] == "Map" and shards["Next"] == "Commit"
    assert shards["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert shards.get("ToleratedFailurePercentage") == 0 and "ToleratedFailureCount" not in shards, \
        "a day is complete or it is not: no tolerated failures"
    assert shards["ItemReader"]["Parameters"] == {"Bucket.$": "$.bucket", "Key.$": "$.items_key"}
    assert shards["ItemBatcher"]["BatchInput"] == {"date.$": "$.backup_date", "plan_sha256.$": "$.plan_sha256",
                                                   "execution.$": "$$.Execution.Name"}
    assert definition(t, batch=7)["States"]["Shards"]["ItemBatcher"]["MaxItemsPerBatch"] == 7
    assert definition(t, concurrency=9)["States"]["Shards"]["MaxConcurrency"] == 9
    assert shards["Catch"][0]["Next"] == "RecordIncomplete"
    # Child outputs are dropped ({} each): 10,000 shards' results must not reach the 256 KiB
    # state payload limit (the commit reads the parts from S3, not from the Map's output).
    assert shards["ItemProcessor"]["States"]["BackupShard"].get("OutputPath", "$") is None
    assert shards.get("ResultPath", "$") is None
    commit = {"action": "commit", "date.$": "$.backup_date", "execution.$": "$$.Execution.Name"}
    assert states["RecordIncomplete"]["Parameters"]["Payload"] == commit
    assert states["Commit"]["Parameters"]["Payload"] == commit
    actions = {name: st["Parameters"]["Payload"]["action"] for name, st in tasks(states) if st.get("Type") == "Task"}
    assert actions == {"Plan": "plan", "BackupShard": "backup_shard", "Commit": "commit",
                       "RecordIncomplete": "commit"}, actions
    # Retried: every Retryable.* error of the function, and Lambda's own; never a Fatal.* one.
    errors = function_error_types()
    for name, st in tasks(states):
        if st.get("Type") != "Task":
            continue
        retried = {e for r in st.get("Retry", []) for e in r["ErrorEquals"]}
        assert {e for e in errors if e.startswith("Retryable.") and e != "Retryable.RestoreIncomplete"} <= retried, \
            f"{name}: retries {sorted(retried)}"
        assert not {e for e in retried if e.startswith("Fatal.") or e == "States.ALL"}, name
        assert {"Sandbox.Timedout", "Lambda.TooManyRequestsException"} <= retried, name
        assert all(r.get("BackoffRate", 1) > 1 and r.get("MaxAttempts", 0) >= 3 for r in st["Retry"]), name
    # The state machine's role: the function, the work/ items, its own map children; no more.
    role = props(t, "BackupStateMachineRole")
    stmts = [x for pol in role["Policies"] for x in statements(pol["PolicyDocument"])]
    by_sid = {x["Sid"]: x for x in stmts}
    assert by_sid["ReadShardItems"]["Action"] == "s3:GetObject"
    assert sub_text(by_sid["ReadShardItems"]["Resource"]) == "${BackupS3Bucket.Arn}/work/*"
    assert by_sid["InvokeBackupFunction"]["Action"] == "lambda:InvokeFunction"
    assert by_sid["RunMapChildren"]["Action"] == "states:StartExecution"
    assert sub_text(by_sid["RunMapChildren"]["Resource"]).endswith(":stateMachine:${AWS::StackName}-daily-backup")
    assert not [x for x in stmts if "s3:PutObject" in as_list(x["Action"]) or "s3:*" in as_list(x["Action"])]
    star = [x for x in stmts if x.get("Resource") == "*"]
    assert all(a.startswith(("logs:", "xray:")) for x in star for a in as_list(x["Action"])), star
    # The work area expires on its own.
    work = [r for c, r in lifecycle_rules(t) if r.get("Prefix") == "work/"]
    assert len(work) == 1 and work[0]["ExpirationInDays"] <= 14


ALL_CHECKS = [
    check_backup_bucket_versioning, check_backup_bucket_lifecycle, check_object_lock, check_log_bucket_lifecycle,
    check_public_access_blocked, check_access_logging, check_bucket_encryption, check_backup_bucket_policy,
    check_log_bucket_accepts_access_logs, check_retain_policies, check_kms_key, check_role_least_privilege,
    check_function, check_schedule, check_verification_schedule, check_alarms, check_tags, check_names_and_no_hardcoding, check_parameters,
    check_state_machine,
]
