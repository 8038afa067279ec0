"""Deploy the template to moto_server's CloudFormation and check the wiring
moto really builds, with boto3.

What moto does NOT build (docs/toolchain.md, and seen here): bucket
versioning, lifecycle, logging, public access block and bucket keys come back
absent; AWS::S3::BucketPolicy, AWS::SQS::QueuePolicy, AWS::SNS::TopicPolicy,
AWS::SNS::Subscription and AWS::CloudWatch::Alarm are not created; the
function's LoggingConfig and tags are not recorded. Those are checked
statically in test_properties.py; nothing here asserts on them.

WORKAROUND (test only): moto crashes on Tags of AWS::KMS::Key, so
stack.template_for_moto() strips them from the copy sent to moto.
"""

from __future__ import annotations

import ast
import json

import pytest

import stack
from properties import EXPECTED_ACTIONS, ENV_VARS

BASE_SOURCE_PARAMS = {
    "Environment": "dev",
    "SourceBucketName": "business-drop",
    "SourcePrefix": "incoming/{date}/",
    "SourceInventoryBucket": "drop-inventories",
    "SourceInventoryPrefix": "reports/business-drop/daily/",
    "BackupHourUtc": "7",
    "RestoreBucketName": "audit-restores",
    "MetricsMode": "put-metric-data",
    "ReservedConcurrency": "5",
    "DocumentCount": "750",
    "KeepDaily": "10",
    "KeepWeekly": "4",
    "KeepMonthly": "12",
    "KeepYearly": "7",
    "WeeklyOn": "monday",
    "LockMode": "COMPLIANCE",
}


@pytest.fixture(scope="module")
def deployed(moto_url):
    """Three stacks on one moto server: two prod stacks with the defaults side
    by side, and one dev stack with a source bucket and PutMetricData."""
    return {
        "prod-a": stack.deploy_stack(moto_url, "docvault-prod-a", {"Environment": "prod"}),
        "prod-b": stack.deploy_stack(moto_url, "docvault-prod-b", {"Environment": "prod"}),
        "dev-src": stack.deploy_stack(moto_url, "docvault-dev-src", BASE_SOURCE_PARAMS),
    }


def c(moto_url, service):
    return stack.client(moto_url, service)


def policy_document(raw):
    """moto returns inline role policies as a JSON string, or (for policies
    given inline in AWS::IAM::Role) as the repr of a Python dict."""
    if isinstance(raw, dict):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return ast.literal_eval(raw)


def role_of(moto_url, stack_name):
    role = stack.stack_resources(moto_url, stack_name)["BackupLambdaRole"]["PhysicalResourceId"]
    iam = c(moto_url, "iam")
    docs = {p: policy_document(iam.get_role_policy(RoleName=role, PolicyName=p)["PolicyDocument"])
            for p in iam.list_role_policies(RoleName=role)["PolicyNames"]}
    return role, docs


def actions_by_sid(docs):
    out = {}
    for doc in docs.values():
        for s in doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]:
            a = s["Action"]
            out[s["Sid"]] = set(a if isinstance(a, list) else [a])
    return out


def test_all_stacks_create_complete(moto_url, deployed):
    cfn = c(moto_url, "cloudformation")
    for name in ("docvault-prod-a", "docvault-prod-b", "docvault-dev-src"):
        assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_two_stacks_of_one_environment_side_by_side(moto_url, deployed):
    a, b = deployed["prod-a"], deployed["prod-b"]
    for key in ("BackupBucketName", "LoggingBucketName", "BackupLambdaArn", "EventBridgeRuleName",
                "VerificationRuleName", "KMSKeyId", "LogGroupName", "AlarmTopicArn", "DeadLetterQueueArn"):
        assert a[key] != b[key], f"{key} collides: {a[key]}"
    assert a["BackupBucketName"].startswith("docvault-backup-prod-")
    assert b["LoggingBucketName"] == b["BackupBucketName"] + "-logs"
    assert len(a["LoggingBucketName"]) <= 63
    ra, _ = role_of(moto_url, "docvault-prod-a")
    rb, _ = role_of(moto_url, "docvault-prod-b")
    assert ra != rb


def test_exports(moto_url, deployed):
    exports = {e["Name"]: e["Value"] for e in c(moto_url, "cloudformation").list_exports()["Exports"]}
    out = deployed["prod-a"]
    for output, suffix in [("BackupBucketName", "backup-bucket"), ("BackupLambdaArn", "backup-lambda-arn"),
                           ("EventBridgeRuleName", "daily-backup-rule"), ("KMSKeyId", "kms-key-id"),
                           ("VerificationRuleName", "weekly-verification-rule"),
                           ("KMSKeyArn", "kms-key-arn"), ("LoggingBucketName", "logging-bucket"),
                           ("AlarmTopicArn", "alarm-topic"), ("DeadLetterQueueArn", "dead-letter-queue-arn"),
                           ("LogGroupName", "log-group")]:
        assert exports[f"docvault-prod-a-{suffix}"] == out[output]


def test_kms_key_rotation_and_alias(moto_url, deployed):
    kms = c(moto_url, "kms")
    out = deployed["prod-a"]
    assert kms.get_key_rotation_status(KeyId=out["KMSKeyId"])["KeyRotationEnabled"] is True
    assert out["KMSKeyArn"].endswith(":key/" + out["KMSKeyId"])
    aliases = [a["AliasName"] for a in kms.list_aliases()["Aliases"] if a.get("TargetKeyId") == out["KMSKeyId"]]
    assert aliases == ["alias/docvault-prod-a-backup"]
    policy = kms.get_key_policy(KeyId=out["KMSKeyId"], PolicyName="default")["Policy"]
    policy = policy if isinstance(policy, dict) else json.loads(policy)
    logs = [s for s in policy["Statement"] if s["Sid"] == "AllowCloudWatchLogsForTheFunctionLogGroup"][0]
    arn = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert arn == f"arn:aws:logs:us-east-1:123456789012:log-group:{out['LogGroupName']}"


def test_backup_bucket_encryption_and_tags(moto_url, deployed):
    s3 = c(moto_url, "s3")
    out = deployed["prod-a"]
    enc = s3.get_bucket_encryption(Bucket=out["BackupBucketName"])["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert enc["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": out["KMSKeyArn"]}
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=out["BackupBucketName"])["TagSet"]}
    assert tags == {"Environment": "prod", "Purpose": "DailyBackups", "iac-rlhf-amazon": "true"}
    log_enc = s3.get_bucket_encryption(Bucket=out["LoggingBucketName"])["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert log_enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_role_and_policies_default_stack(moto_url, deployed):
    role, docs = role_of(moto_url, "docvault-prod-a")
    iam = c(moto_url, "iam")
    r = iam.get_role(RoleName=role)["Role"]
    trust = r["AssumeRolePolicyDocument"]
    trust = trust if isinstance(trust, dict) else json.loads(trust)
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]
    assert {t["Key"] for t in r.get("Tags", [])} == {"Environment", "Purpose", "iac-rlhf-amazon"}
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    # EMF mode, no source bucket, no restore bucket: neither PutMetricData nor access to any
    # other bucket.
    assert set(docs) == {"BackupBucketAccess", "FunctionLogsAndDeadLetters"}
    expected = {k: v for k, v in EXPECTED_ACTIONS.items()
                if k not in ("ReadSourceObjects", "ListSourcePrefix", "ReadInventoryReports",
                             "ListInventoryReports", "WriteRestoredObjects",
                             "PutMetricsInBackupNamespace", "LockBackupObjects")}
    assert actions_by_sid(docs) == expected
    out = deployed["prod-a"]
    stmts = {s["Sid"]: s for d in docs.values() for s in d["Statement"]}
    assert stmts["BackupObjects"]["Resource"] == f"arn:aws:s3:::{out['BackupBucketName']}/*"
    assert stmts["ListBackupBucket"]["Resource"] == f"arn:aws:s3:::{out['BackupBucketName']}"
    assert stmts["UseBackupKeyThroughS3"]["Resource"] == out["KMSKeyArn"]
    assert stmts["DescribeBackupKey"]["Resource"] == out["KMSKeyArn"]
    assert stmts["UseBackupKeyThroughS3"]["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    group = f"arn:aws:logs:us-east-1:123456789012:log-group:{out['LogGroupName']}"
    assert sorted(stmts["WriteOwnLogGroup"]["Resource"]) == [group, group + ":log-stream:*"]
    assert stmts["SendFailedInvocationsToDlq"]["Resource"] == out["DeadLetterQueueArn"]


def test_conditional_policies_when_configured(moto_url, deployed):
    _, docs = role_of(moto_url, "docvault-dev-src")
    assert set(docs) == {"BackupBucketAccess", "FunctionLogsAndDeadLetters", "ReadSourceDocuments",
                         "ReadSourceInventory", "WriteRestoredDocuments", "PutBackupMetrics", "LockBackupObjects"}
    assert actions_by_sid(docs) == EXPECTED_ACTIONS
    stmts = {s["Sid"]: s for d in docs.values() for s in d["Statement"]}
    assert stmts["WriteRestoredObjects"]["Resource"] == "arn:aws:s3:::audit-restores/*"
    assert stmts["ReadSourceObjects"]["Resource"] == "arn:aws:s3:::business-drop/incoming/*"
    assert stmts["ListSourcePrefix"]["Condition"] == {"StringLike": {"s3:prefix": "incoming/*"}}
    assert stmts["ReadInventoryReports"]["Resource"] == "arn:aws:s3:::drop-inventories/reports/business-drop/daily/*"
    assert stmts["ListInventoryReports"]["Condition"] == \
        {"StringLike": {"s3:prefix": "reports/business-drop/daily/*"}}
    assert stmts["PutMetricsInBackupNamespace"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "BackupSystem"}}


def test_log_group(moto_url, deployed):
    logs = c(moto_url, "logs")
    for name, retention in (("prod-a", 365), ("dev-src", 30)):
        out = deployed[name]
        groups = logs.describe_log_groups(logGroupNamePrefix=out["LogGroupName"])["logGroups"]
        assert len(groups) == 1 and groups[0]["retentionInDays"] == retention
        assert out["LogGroupName"].startswith(f"/aws/lambda/docvault-{name}-backup-")


def test_function_configuration(moto_url, deployed):
    lam = c(moto_url, "lambda")
    out = deployed["prod-a"]
    f = lam.get_function(FunctionName=out["BackupLambdaName"])
    cfg = f["Configuration"]
    assert cfg["FunctionArn"] == out["BackupLambdaArn"] and cfg["FunctionName"] == "docvault-prod-a-backup"
    assert cfg["Runtime"] == "provided.al2023" and cfg["Handler"] == "bootstrap"
    assert cfg["Architectures"] == ["x86_64"]
    assert cfg["MemorySize"] == 512 and cfg["Timeout"] == 900
    role, _ = role_of(moto_url, "docvault-prod-a")
    assert cfg["Role"].endswith(":role/" + role)
    env = {k: str(v) for k, v in cfg["Environment"]["Variables"].items()}
    # Set only with a restore bucket, or with a source's inventory.
    assert set(env) == ENV_VARS - {"RESTORE_BUCKET", "SOURCE_INVENTORY"}
    assert env == {
        "BACKUP_BUCKET": out["BackupBucketName"], "ENVIRONMENT": "prod", "KMS_KEY_ID": out["KMSKeyArn"],
        "DOCUMENT_SOURCE": "generator", "ALLOW_EMPTY_DAYS": "false", "DOCUMENT_COUNT": "500",
        "UPLOAD_CONCURRENCY": "32", "SHARD_MAX_DOCUMENTS": "100000",
        "METRICS_MODE": "emf", "METRICS_NAMESPACE": "BackupSystem", "RUST_LOG": "info",
        # Retention by default: prod's 30 dailies, no longer-kept periods, no lock.
        "KEEP_DAILY": "30", "KEEP_WEEKLY": "0", "KEEP_MONTHLY": "0", "KEEP_YEARLY": "0",
        "WEEKLY_ON": "sunday", "LOCK_MODE": "NONE",
    }
    assert "ReservedConcurrentExecutions" not in f.get("Concurrency", {})


def test_function_configuration_with_source_bucket(moto_url, deployed):
    lam = c(moto_url, "lambda")
    out = deployed["dev-src"]
    f = lam.get_function(FunctionName=out["BackupLambdaName"])
    env = {k: str(v) for k, v in f["Configuration"]["Environment"]["Variables"].items()}
    assert env["DOCUMENT_SOURCE"] == "s3://business-drop/incoming/{date}/"
    assert env["SOURCE_INVENTORY"] == "s3://drop-inventories/reports/business-drop/daily/"
    assert env["RESTORE_BUCKET"] == "audit-restores"
    assert env["METRICS_MODE"] == "put-metric-data" and env["DOCUMENT_COUNT"] == "750"
    assert env["ENVIRONMENT"] == "dev"
    assert {k: env[k] for k in ("KEEP_DAILY", "KEEP_WEEKLY", "KEEP_MONTHLY", "KEEP_YEARLY", "WEEKLY_ON",
                                "LOCK_MODE")} == {
        "KEEP_DAILY": "10", "KEEP_WEEKLY": "4", "KEEP_MONTHLY": "12", "KEEP_YEARLY": "7",
        "WEEKLY_ON": "monday", "LOCK_MODE": "COMPLIANCE"}
    assert f["Concurrency"]["ReservedConcurrentExecutions"] == 5


def test_schedule_rule_target_and_permission(moto_url, deployed):
    ev = c(moto_url, "events")
    out = deployed["prod-a"]
    rule = ev.describe_rule(Name=out["EventBridgeRuleName"])
    assert rule["ScheduleExpression"] == "cron(0 2 * * ? *)" and rule["State"] == "ENABLED"
    # A later hour (after an inventory's reports arrive) still backs up the day that ended.
    later = ev.describe_rule(Name=deployed["dev-src"]["EventBridgeRuleName"])
    assert later["ScheduleExpression"] == "cron(0 7 * * ? *)"
    targets = ev.list_targets_by_rule(Rule=out["EventBridgeRuleName"])["Targets"]
    assert len(targets) == 1
    t = targets[0]
    assert t["Arn"] == out["BackupLambdaArn"]
    assert t["InputTransformer"] == {"InputPathsMap": {"time": "$.time"},
                                     "InputTemplate": '{"action": "backup", "time": <time>}'}
    assert t["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 7200}
    assert t["DeadLetterConfig"] == {"Arn": out["DeadLetterQueueArn"]}
    tags = {x["Key"]: x["Value"] for x in ev.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]}
    assert tags["Environment"] == "prod" and set(tags) == {"Environment", "Purpose", "iac-rlhf-amazon"}
    verify = ev.describe_rule(Name=out["VerificationRuleName"])
    assert verify["ScheduleExpression"] == "cron(0 6 ? * SUN *)" and verify["State"] == "ENABLED"
    (vt,) = ev.list_targets_by_rule(Rule=out["VerificationRuleName"])["Targets"]
    assert vt["Arn"] == out["BackupLambdaArn"]
    assert vt["InputTransformer"] == {"InputPathsMap": {"time": "$.time"},
                                      "InputTemplate": '{"action": "verify", "time": <time>}'}
    policy = json.loads(c(moto_url, "lambda").get_policy(FunctionName=out["BackupLambdaName"])["Policy"])
    assert len(policy["Statement"]) == 2, "one invoke permission per rule"
    assert sorted(s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in policy["Statement"]) == \
        sorted([rule["Arn"], verify["Arn"]])
    for s in policy["Statement"]:
        assert s["Action"] == "lambda:InvokeFunction" and s["Principal"] == {"Service": "events.amazonaws.com"}
        assert s["Condition"]["StringEquals"]["AWS:SourceAccount"] == "123456789012"


def test_dead_letter_queue(moto_url, deployed):
    sqs = c(moto_url, "sqs")
    out = deployed["prod-a"]
    attrs = sqs.get_queue_attributes(QueueUrl=out["DeadLetterQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert attrs["QueueArn"] == out["DeadLetterQueueArn"]
    assert attrs["SqsManagedSseEnabled"] == "true" and attrs["MessageRetentionPeriod"] == "1209600"
    tags = sqs.list_queue_tags(QueueUrl=out["DeadLetterQueueUrl"])["Tags"]
    assert tags == {"Environment": "prod", "Purpose": "BackupDeadLetters", "iac-rlhf-amazon": "true"}


def test_alarm_topic(moto_url, deployed):
    out = deployed["prod-a"]
    attrs = c(moto_url, "sns").get_topic_attributes(TopicArn=out["AlarmTopicArn"])["Attributes"]
    assert attrs["TopicArn"].endswith(":docvault-prod-a-backup-alarms")


def test_deployed_bucket_takes_sse_kms_upload(moto_url, deployed):
    """The Lambda's write path against the deployed resources, with boto3:
    an SSE-KMS PUT with the stack's key, read back with its encryption."""
    s3 = c(moto_url, "s3")
    out = deployed["prod-a"]
    s3.put_object(Bucket=out["BackupBucketName"], Key="probe/hello.txt", Body=b"hello",
                  ServerSideEncryption="aws:kms", SSEKMSKeyId=out["KMSKeyArn"])
    head = s3.head_object(Bucket=out["BackupBucketName"], Key="probe/hello.txt")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == out["KMSKeyArn"]
    assert s3.get_object(Bucket=out["BackupBucketName"], Key="probe/hello.txt")["Body"].read() == b"hello"


def test_deploy_failure_is_reported(moto_url):
    """deploy_stack raises, with the cause, when the stack cannot be created
    (here: the code zip is missing), instead of returning outputs."""
    with pytest.raises(stack.StackFailed, match="NoSuchBucket"):
        stack.deploy_stack(moto_url, "docvault-bad",
                           {"CodeS3Bucket": "docvault-no-such-code-bucket", "CodeS3Key": "bootstrap.zip"})
