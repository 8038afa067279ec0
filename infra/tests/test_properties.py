"""Static property checks, each shown to bite.

test_check_passes runs every check of properties.py on the shipped template.
test_check_bites applies one mutation (a plausible regression: versioning
deleted, TLS statement dropped, PutObjectAcl added, ...) to a copy of the
template and asserts that the named check then fails. A mutation that does not
find what it edits raises KeyError/IndexError/AssertionError in the helper and
fails the test, so no mutation can silently be a no-op.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

import pytest

import properties as P

R = dict[str, Any]


def props(t: R, name: str) -> R:
    return t["Resources"][name]["Properties"]


def drop_statement(t: R, resource: str, sid: str, key: str = "PolicyDocument") -> None:
    doc = props(t, resource)[key]
    before = len(doc["Statement"])
    doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != sid]
    assert len(doc["Statement"]) == before - 1, f"no statement {sid} in {resource}"


def statement(t: R, resource: str, sid: str, key: str = "PolicyDocument") -> R:
    found = [s for s in props(t, resource)[key]["Statement"] if s.get("Sid") == sid]
    assert len(found) == 1, f"no statement {sid} in {resource}"
    return found[0]


def role_statement(t: R, sid: str) -> R:
    for pol in props(t, "BackupLambdaRole")["Policies"]:
        for s in pol["PolicyDocument"]["Statement"]:
            if s.get("Sid") == sid:
                return s
    raise KeyError(sid)


def rule_of(t: R, bucket: str, rule_id: str) -> R:
    found = [r for r in props(t, bucket)["LifecycleConfiguration"]["Rules"] if r.get("Id") == rule_id]
    assert len(found) == 1, rule_id
    return found[0]


def conditional_rule(t: R, rule_id: str) -> R:
    found = [r["Fn::If"][1] for r in props(t, "BackupS3Bucket")["LifecycleConfiguration"]["Rules"]
             if "Fn::If" in r and r["Fn::If"][1]["Id"] == rule_id]
    assert len(found) == 1, rule_id
    return found[0]


def alarm(t: R, name: str) -> R:
    return props(t, name)


def delete(d: R, key: str) -> None:
    del d[key]  # KeyError if it is not there: the mutation must change something


def tag_list(t: R, name: str) -> list:
    return props(t, name)["Tags"]


def definition_replace(t: R, old: str, new: str, part: str = "text") -> None:
    """Edits the state machine's definition text (or its Retry substitution)."""
    sub = props(t, "BackupStateMachine")["DefinitionString"]["Fn::Sub"]
    if part == "text":
        assert old in sub[0], old
        sub[0] = sub[0].replace(old, new)
    else:
        assert old in sub[1]["Retry"], old
        sub[1]["Retry"] = sub[1]["Retry"].replace(old, new)


def machine_role_statement(t: R, sid: str) -> R:
    for pol in props(t, "BackupStateMachineRole")["Policies"]:
        for s in pol["PolicyDocument"]["Statement"]:
            if s.get("Sid") == sid:
                return s
    raise KeyError(sid)


# (check, description, mutation). The description is the test id.
MUTATIONS: list[tuple[Callable[[R], None], str, Callable[[R], None]]] = [
    (P.check_backup_bucket_versioning, "versioning-deleted",
     lambda t: delete(props(t, "BackupS3Bucket"), "VersioningConfiguration")),
    (P.check_backup_bucket_versioning, "versioning-suspended",
     lambda t: props(t, "BackupS3Bucket")["VersioningConfiguration"].update(Status="Suspended")),
    (P.check_backup_bucket_lifecycle, "daily-expiry-removed",
     lambda t: delete(rule_of(t, "BackupS3Bucket", "ExpireDailyBackups"), "ExpirationInDays")),
    (P.check_backup_bucket_lifecycle, "daily-expiry-hardcoded",
     lambda t: rule_of(t, "BackupS3Bucket", "ExpireDailyBackups").update(ExpirationInDays=30)),
    (P.check_backup_bucket_lifecycle, "prod-retention-changed",
     lambda t: t["Mappings"]["EnvironmentConfig"]["prod"].update(RetentionDays=3650)),
    (P.check_backup_bucket_lifecycle, "noncurrent-expiry-removed",
     lambda t: delete(rule_of(t, "BackupS3Bucket", "ExpireDailyBackups"), "NoncurrentVersionExpiration")),
    (P.check_backup_bucket_lifecycle, "expiry-rule-disabled",
     lambda t: rule_of(t, "BackupS3Bucket", "ExpireDailyBackups").update(Status="Disabled")),
    (P.check_backup_bucket_lifecycle, "weekly-rule-untagged",
     lambda t: delete(conditional_rule(t, "ExpireWeeklyBackups"), "TagFilters")),
    (P.check_backup_bucket_lifecycle, "monthly-days-hardcoded",
     lambda t: conditional_rule(t, "ExpireMonthlyBackups").update(ExpirationInDays=30)),
    (P.check_backup_bucket_lifecycle, "yearly-rule-dropped",
     lambda t: props(t, "BackupS3Bucket")["LifecycleConfiguration"].update(
         Rules=[r for r in props(t, "BackupS3Bucket")["LifecycleConfiguration"]["Rules"]
                if "Fn::If" not in r or r["Fn::If"][1]["Id"] != "ExpireYearlyBackups"])),
    (P.check_backup_bucket_lifecycle, "yearly-days-short",
     lambda t: t["Mappings"]["YearlyLifecycleDays"]["7"].update(Days=7 * 365 - 1)),
    (P.check_backup_bucket_lifecycle, "monthly-count-missing",
     lambda t: delete(t["Mappings"]["MonthlyLifecycleDays"], "84")),
    (P.check_backup_bucket_lifecycle, "prefix-only-expiry-added",
     lambda t: props(t, "BackupS3Bucket")["LifecycleConfiguration"]["Rules"].append(
         {"Id": "ExpireEverything", "Status": "Enabled", "Prefix": "backups/", "ExpirationInDays": 30})),
    (P.check_object_lock, "lock-always-on",
     lambda t: props(t, "BackupS3Bucket").update(ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})),
    (P.check_object_lock, "lock-by-replacement",
     lambda t: props(t, "BackupS3Bucket").update(ObjectLockEnabled=True)),
    (P.check_object_lock, "bucket-default-retention",
     lambda t: props(t, "BackupS3Bucket").update(ObjectLockConfiguration={"Fn::If": [
         "LocksObjects", {"ObjectLockEnabled": "Enabled",
                          "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}}},
         {"Ref": "AWS::NoValue"}]})),
    (P.check_object_lock, "lock-mode-not-passed",
     lambda t: delete(props(t, "BackupLambdaFunction")["Environment"]["Variables"], "LOCK_MODE")),
    (P.check_role_least_privilege, "lock-permissions-unconditional",
     lambda t: delete(t["Resources"]["LockedObjectsPolicy"], "Condition")),
    (P.check_role_least_privilege, "bypass-governance-added",
     lambda t: props(t, "LockedObjectsPolicy")["PolicyDocument"]["Statement"][0]["Action"].append(
         "s3:BypassGovernanceRetention")),
    (P.check_backup_bucket_lifecycle, "abort-multipart-removed",
     lambda t: props(t, "BackupS3Bucket")["LifecycleConfiguration"].update(
         Rules=[r for r in props(t, "BackupS3Bucket")["LifecycleConfiguration"]["Rules"]
                if r.get("Id") != "AbortIncompleteMultipartUploads"])),
    (P.check_log_bucket_lifecycle, "log-expiry-removed",
     lambda t: delete(rule_of(t, "LoggingBucket", "ExpireAccessLogs"), "ExpirationInDays")),
    (P.check_public_access_blocked, "backup-block-public-policy-false",
     lambda t: props(t, "BackupS3Bucket")["PublicAccessBlockConfiguration"].update(BlockPublicPolicy=False)),
    (P.check_public_access_blocked, "log-bucket-pab-deleted",
     lambda t: delete(props(t, "LoggingBucket"), "PublicAccessBlockConfiguration")),
    (P.check_access_logging, "logging-deleted",
     lambda t: delete(props(t, "BackupS3Bucket"), "LoggingConfiguration")),
    (P.check_access_logging, "logging-to-other-bucket",
     lambda t: props(t, "BackupS3Bucket")["LoggingConfiguration"].update(DestinationBucketName="some-bucket")),
    (P.check_bucket_encryption, "sse-s3-instead-of-kms",
     lambda t: props(t, "BackupS3Bucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
     ["ServerSideEncryptionByDefault"].update(SSEAlgorithm="AES256")),
    (P.check_bucket_encryption, "bucket-key-off",
     lambda t: props(t, "BackupS3Bucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
     .update(BucketKeyEnabled=False)),
    (P.check_bucket_encryption, "kms-key-id-removed",
     lambda t: delete(props(t, "BackupS3Bucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
                      ["ServerSideEncryptionByDefault"], "KMSMasterKeyID")),
    (P.check_bucket_encryption, "log-bucket-unencrypted",
     lambda t: delete(props(t, "LoggingBucket"), "BucketEncryption")),
    (P.check_backup_bucket_policy, "tls-statement-dropped",
     lambda t: drop_statement(t, "BackupBucketPolicy", "DenyInsecureTransport")),
    (P.check_backup_bucket_policy, "tls-statement-allow",
     lambda t: statement(t, "BackupBucketPolicy", "DenyInsecureTransport").update(Effect="Allow")),
    (P.check_backup_bucket_policy, "tls-statement-objects-only",
     lambda t: statement(t, "BackupBucketPolicy", "DenyInsecureTransport").update(
         Resource=[{"Fn::Sub": "${BackupS3Bucket.Arn}/*"}])),
    (P.check_backup_bucket_policy, "unencrypted-upload-statement-dropped",
     lambda t: drop_statement(t, "BackupBucketPolicy", "DenyUploadsNotUsingKms")),
    (P.check_backup_bucket_policy, "upload-allows-aes256",
     lambda t: statement(t, "BackupBucketPolicy", "DenyUploadsNotUsingKms")["Condition"]
     ["StringNotEqualsIfExists"].update({"s3:x-amz-server-side-encryption": "AES256"})),
    (P.check_backup_bucket_policy, "other-key-statement-dropped",
     lambda t: drop_statement(t, "BackupBucketPolicy", "DenyUploadsWithAnotherKmsKey")),
    (P.check_backup_bucket_policy, "aws-managed-key-statement-dropped",
     lambda t: drop_statement(t, "BackupBucketPolicy", "DenyKmsUploadsWithoutTheStackKey")),
    (P.check_backup_bucket_policy, "bucket-policy-deleted",
     lambda t: delete(t["Resources"], "BackupBucketPolicy")),
    (P.check_log_bucket_accepts_access_logs, "logging-service-grant-dropped",
     lambda t: drop_statement(t, "LoggingBucketPolicy", "AllowS3ServerAccessLogs")),
    (P.check_log_bucket_accepts_access_logs, "logging-grant-wrong-principal",
     lambda t: statement(t, "LoggingBucketPolicy", "AllowS3ServerAccessLogs").update(
         Principal={"Service": "s3.amazonaws.com"})),
    (P.check_log_bucket_accepts_access_logs, "log-prefix-mismatch",
     lambda t: props(t, "BackupS3Bucket")["LoggingConfiguration"].update(LogFilePrefix="other/")),
    (P.check_log_bucket_accepts_access_logs, "logging-grant-any-source",
     lambda t: delete(statement(t, "LoggingBucketPolicy", "AllowS3ServerAccessLogs")["Condition"], "ArnLike")),
    (P.check_log_bucket_accepts_access_logs, "log-bucket-tls-dropped",
     lambda t: drop_statement(t, "LoggingBucketPolicy", "DenyInsecureTransport")),
    (P.check_log_bucket_accepts_access_logs, "log-bucket-acls-enabled",
     lambda t: delete(props(t, "LoggingBucket"), "OwnershipControls")),
    (P.check_retain_policies, "backup-bucket-deletable",
     lambda t: delete(t["Resources"]["BackupS3Bucket"], "DeletionPolicy")),
    (P.check_retain_policies, "key-replaceable",
     lambda t: delete(t["Resources"]["BackupKMSKey"], "UpdateReplacePolicy")),
    (P.check_retain_policies, "log-group-deletable",
     lambda t: t["Resources"]["BackupLambdaLogGroup"].update(DeletionPolicy="Delete")),
    (P.check_retain_policies, "log-bucket-deletable",
     lambda t: delete(t["Resources"]["LoggingBucket"], "DeletionPolicy")),
    (P.check_kms_key, "rotation-off",
     lambda t: props(t, "BackupKMSKey").update(EnableKeyRotation=False)),
    (P.check_kms_key, "wildcard-principal",
     lambda t: statement(t, "BackupKMSKey", "EnableIamPolicies", "KeyPolicy").update(Principal={"AWS": "*"})),
    (P.check_kms_key, "logs-statement-unconditioned",
     lambda t: delete(statement(t, "BackupKMSKey", "AllowCloudWatchLogsForTheFunctionLogGroup", "KeyPolicy"),
                      "Condition")),
    (P.check_kms_key, "log-group-unencrypted",
     lambda t: delete(props(t, "BackupLambdaLogGroup"), "KmsKeyId")),
    (P.check_role_least_privilege, "put-object-acl-added",
     lambda t: role_statement(t, "BackupObjects")["Action"].append("s3:PutObjectAcl")),
    (P.check_role_least_privilege, "wildcard-action",
     lambda t: role_statement(t, "BackupObjects").update(Action=["s3:*"])),
    (P.check_role_least_privilege, "get-object-star",
     lambda t: role_statement(t, "BackupObjects")["Action"].append("s3:GetObject*")),
    (P.check_role_least_privilege, "objects-of-any-bucket",
     lambda t: role_statement(t, "BackupObjects").update(Resource="*")),
    (P.check_role_least_privilege, "kms-any-key",
     lambda t: role_statement(t, "UseBackupKeyThroughS3").update(Resource="*")),
    (P.check_role_least_privilege, "kms-not-via-s3",
     lambda t: delete(role_statement(t, "UseBackupKeyThroughS3"), "Condition")),
    (P.check_role_least_privilege, "describe-any-key",
     lambda t: role_statement(t, "DescribeBackupKey").update(Resource="*")),
    (P.check_role_least_privilege, "kms-create-grant-added",
     lambda t: role_statement(t, "UseBackupKeyThroughS3")["Action"].append("kms:CreateGrant")),
    (P.check_role_least_privilege, "logs-anywhere",
     lambda t: role_statement(t, "WriteOwnLogGroup").update(Resource="*")),
    (P.check_role_least_privilege, "basic-execution-role-attached",
     lambda t: props(t, "BackupLambdaRole").update(ManagedPolicyArns=[
         {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}])),
    (P.check_role_least_privilege, "put-metric-data-unconditional",
     lambda t: delete(t["Resources"]["PutMetricDataPolicy"], "Condition")),
    (P.check_role_least_privilege, "put-metric-data-any-namespace",
     lambda t: delete(props(t, "PutMetricDataPolicy")["PolicyDocument"]["Statement"][0], "Condition")),
    (P.check_role_least_privilege, "source-read-unconditional",
     lambda t: delete(t["Resources"]["SourceBucketReadPolicy"], "Condition")),
    (P.check_role_least_privilege, "restore-write-unconditional",
     lambda t: delete(t["Resources"]["RestoreBucketWritePolicy"], "Condition")),
    (P.check_role_least_privilege, "restore-write-any-bucket",
     lambda t: props(t, "RestoreBucketWritePolicy")["PolicyDocument"]["Statement"][0].update(
         Resource="arn:aws:s3:::*/*")),
    (P.check_role_least_privilege, "restore-read-added",
     lambda t: props(t, "RestoreBucketWritePolicy")["PolicyDocument"]["Statement"][0]["Action"].append(
         "s3:GetObject")),
    (P.check_function, "python-runtime",
     lambda t: props(t, "BackupLambdaFunction").update(Runtime="python3.12")),
    (P.check_function, "arm64",
     lambda t: props(t, "BackupLambdaFunction").update(Architectures=["arm64"])),
    (P.check_function, "env-var-dropped",
     lambda t: delete(props(t, "BackupLambdaFunction")["Environment"]["Variables"], "KMS_KEY_ID")),
    (P.check_function, "env-var-renamed",
     lambda t: props(t, "BackupLambdaFunction")["Environment"]["Variables"].update(
         BUCKET=props(t, "BackupLambdaFunction")["Environment"]["Variables"].pop("BACKUP_BUCKET"))),
    (P.check_function, "reserved-concurrency-hardcoded",
     lambda t: props(t, "BackupLambdaFunction").update(ReservedConcurrentExecutions=1)),
    (P.check_function, "function-dlq-removed",
     lambda t: delete(props(t, "BackupLambdaFunction"), "DeadLetterConfig")),
    (P.check_function, "inline-code",
     lambda t: props(t, "BackupLambdaFunction").update(Code={"ZipFile": "print(1)"})),
    (P.check_schedule, "rate-instead-of-cron",
     lambda t: props(t, "DailyBackupRule").update(ScheduleExpression="rate(1 day)")),
    (P.check_schedule, "wrong-hour",
     lambda t: props(t, "DailyBackupRule").update(ScheduleExpression="cron(0 3 * * ? *)")),
    (P.check_schedule, "retry-policy-removed",
     lambda t: delete(props(t, "DailyBackupRule")["Targets"][0]["Fn::If"][2], "RetryPolicy")),
    (P.check_schedule, "rule-dlq-removed",
     lambda t: delete(props(t, "DailyBackupRule")["Targets"][0]["Fn::If"][2], "DeadLetterConfig")),
    (P.check_schedule, "scale-out-target-without-dlq",
     lambda t: delete(props(t, "DailyBackupRule")["Targets"][0]["Fn::If"][1], "DeadLetterConfig")),
    (P.check_schedule, "permission-unscoped",
     lambda t: delete(props(t, "LambdaInvokePermission"), "SourceArn")),
    (P.check_schedule, "dlq-policy-deleted",
     lambda t: delete(t["Resources"], "BackupDeadLetterQueuePolicy")),
    (P.check_verification_schedule, "verification-rule-deleted",
     lambda t: delete(t["Resources"], "WeeklyVerificationRule")),
    (P.check_verification_schedule, "verification-input-constant",
     lambda t: delete(props(t, "WeeklyVerificationRule")["Targets"][0], "InputTransformer")),
    (P.check_verification_schedule, "verification-asks-for-backup",
     lambda t: props(t, "WeeklyVerificationRule")["Targets"][0]["InputTransformer"].update(
         InputTemplate='{"action": "backup", "time": <time>}')),
    (P.check_verification_schedule, "verification-permission-unscoped",
     lambda t: delete(props(t, "VerificationInvokePermission"), "SourceArn")),
    (P.check_verification_schedule, "verification-dlq-not-admitted",
     lambda t: statement(t, "BackupDeadLetterQueuePolicy", "AllowScheduleRuleDeadLetters", "PolicyDocument")
     ["Condition"]["ArnEquals"].update({"aws:SourceArn": {"Fn::GetAtt": ["DailyBackupRule", "Arn"]}})),
    (P.check_alarms, "verification-alarm-deleted",
     lambda t: delete(t["Resources"], "VerificationFailureAlarm")),
    (P.check_alarms, "missing-alarm-not-breaching",
     lambda t: alarm(t, "BackupMissingAlarm").update(TreatMissingData="notBreaching")),
    (P.check_alarms, "missing-alarm-window-too-short",
     lambda t: alarm(t, "BackupMissingAlarm").update(EvaluationPeriods=1, DatapointsToAlarm=1)),
    (P.check_alarms, "missing-alarm-deleted",
     lambda t: delete(t["Resources"], "BackupMissingAlarm")),
    (P.check_alarms, "failure-alarm-wrong-namespace",
     lambda t: alarm(t, "BackupFailureAlarm").update(Namespace="Backups")),
    (P.check_alarms, "failure-alarm-no-dimension",
     lambda t: delete(alarm(t, "BackupFailureAlarm"), "Dimensions")),
    (P.check_alarms, "errors-alarm-deleted",
     lambda t: delete(t["Resources"], "LambdaErrorsAlarm")),
    (P.check_alarms, "duration-alarm-absolute",
     lambda t: alarm(t, "LambdaDurationAlarm").update(Threshold=600000)),
    (P.check_alarms, "dlq-alarm-deleted",
     lambda t: delete(t["Resources"], "DeadLetterAlarm")),
    (P.check_alarms, "alarm-without-action",
     lambda t: delete(alarm(t, "FailedDocumentsAlarm"), "AlarmActions")),
    (P.check_tags, "key-untagged",
     lambda t: delete(props(t, "BackupKMSKey"), "Tags")),
    (P.check_tags, "alarm-lacks-iac-tag",
     lambda t: props(t, "LambdaErrorsAlarm").update(
         Tags=[x for x in tag_list(t, "LambdaErrorsAlarm") if x["Key"] != "iac-rlhf-amazon"])),
    (P.check_tags, "queue-environment-literal",
     lambda t: [x.update(Value="prod") for x in tag_list(t, "BackupDeadLetterQueue") if x["Key"] == "Environment"]),
    (P.check_names_and_no_hardcoding, "function-name-per-environment",
     lambda t: props(t, "BackupLambdaFunction").update(FunctionName={"Fn::Sub": "${Environment}-backup-function"})),
    (P.check_names_and_no_hardcoding, "bucket-name-per-environment",
     lambda t: props(t, "BackupS3Bucket").update(
         BucketName={"Fn::Sub": "${BackupBucketName}-${AWS::AccountId}-${Environment}"})),
    (P.check_names_and_no_hardcoding, "hardcoded-account",
     lambda t: statement(t, "BackupKMSKey", "EnableIamPolicies", "KeyPolicy").update(
         Principal={"AWS": "arn:aws:iam::123456789012:root"})),
    (P.check_names_and_no_hardcoding, "hardcoded-region",
     lambda t: role_statement(t, "UseBackupKeyThroughS3")["Condition"]["StringEquals"].update(
         {"kms:ViaService": "s3.us-east-1.amazonaws.com"})),
    (P.check_names_and_no_hardcoding, "export-not-stack-scoped",
     lambda t: t["Outputs"]["BackupBucketName"]["Export"].update(Name="backup-bucket")),
    (P.check_names_and_no_hardcoding, "output-dropped",
     lambda t: delete(t["Outputs"], "LoggingBucketName")),
    (P.check_parameters, "bucket-prefix-too-long",
     lambda t: t["Parameters"]["BackupBucketName"].update(MaxLength=63)),
    (P.check_parameters, "environment-unconstrained",
     lambda t: delete(t["Parameters"]["Environment"], "AllowedValues")),
    (P.check_state_machine, "express-workflow",
     lambda t: props(t, "BackupStateMachine").update(StateMachineType="EXPRESS")),
    (P.check_state_machine, "failures-tolerated",
     lambda t: definition_replace(t, '"ToleratedFailurePercentage": 0', '"ToleratedFailurePercentage": 5')),
    (P.check_state_machine, "map-inline",
     lambda t: definition_replace(t, '"Mode": "DISTRIBUTED"', '"Mode": "INLINE"')),
    (P.check_state_machine, "failed-map-not-recorded",
     lambda t: definition_replace(t, '"Next": "RecordIncomplete"', '"Next": "Incomplete"')),
    (P.check_state_machine, "busy-not-retried",
     lambda t: definition_replace(t, '"Retryable.Busy", ', "", part="retry")),
    (P.check_state_machine, "fatal-retried",
     lambda t: definition_replace(t, '"Sandbox.Timedout"', '"Sandbox.Timedout", "Fatal.PlanConflict"', part="retry")),
    (P.check_state_machine, "items-readable-bucket-wide",
     lambda t: machine_role_statement(t, "ReadShardItems").update(Resource={"Fn::Sub": "${BackupS3Bucket.Arn}/*"})),
    (P.check_state_machine, "machine-may-write",
     lambda t: machine_role_statement(t, "ReadShardItems").update(Action=["s3:GetObject", "s3:PutObject"])),
    (P.check_state_machine, "child-results-kept",
     lambda t: definition_replace(t, '"OutputPath": null,', '')),
    (P.check_state_machine, "batch-size-fixed",
     lambda t: definition_replace(t, '"MaxItemsPerBatch": ${ShardBatchSize}', '"MaxItemsPerBatch": 1')),
    (P.check_schedule, "scale-out-starts-the-function",
     lambda t: props(t, "DailyBackupRule")["Targets"][0]["Fn::If"][1].update(
         Arn={"Fn::GetAtt": ["BackupLambdaFunction", "Arn"]})),
]


@pytest.mark.parametrize("check", P.ALL_CHECKS, ids=lambda c: c.__name__)
def test_check_passes(template, check):
    check(template)


@pytest.mark.parametrize("check,mutate", [(c, m) for c, _, m in MUTATIONS],
                         ids=[f"{c.__name__}[{d}]" for c, d, _ in MUTATIONS])
def test_check_bites(template, check, mutate):
    mutated = copy.deepcopy(template)
    mutate(mutated)
    assert json.dumps(mutated, sort_keys=True) != json.dumps(template, sort_keys=True), "mutation changed nothing"
    with pytest.raises(AssertionError):
        check(mutated)


def test_every_check_has_a_biting_mutation():
    bitten = {c for c, _, _ in MUTATIONS}
    assert bitten == set(P.ALL_CHECKS), {c.__name__ for c in set(P.ALL_CHECKS) - bitten}
