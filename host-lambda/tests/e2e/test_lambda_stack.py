"""The Lambda against the resources of a deployed stack: infra/template.yaml is deployed to
moto's CloudFormation with the packaged zip, and the real `bootstrap` runs with exactly the
environment the stack gave the function (read back from the deployed function), plus only the
endpoint variables that point the SDK at moto. This is the code path of a real deployment."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import boto3

import stack
from conftest import REGION, ROOT

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event",
             "time": "2026-11-28T02:00:00Z", "detail": {}}


def test_backup_into_the_deployed_stack(moto, start_lambda):
    zip_path = Path(os.environ.get("DOCVAULT_LAMBDA_ZIP", ROOT / "target" / "lambda" / "bootstrap.zip"))
    name = f"docvault-e2e-{uuid.uuid4().hex[:8]}"
    outputs = stack.deploy_stack(
        moto, name, {"Environment": "dev", "DocumentCount": "60"},
        code_zip=zip_path if zip_path.is_file() else None,
    )
    # moto 5.2.5 keeps the KeyPolicy of a key made by CloudFormation as a dict, not JSON text,
    # and then fails (HTTP 500) every call that evaluates the policy, DescribeKey included,
    # which the function makes before its first write. Store the policy's account statement as
    # text again (what KMS itself holds); the policy's content is checked statically in infra/.
    kms = boto3.client("kms", endpoint_url=moto, region_name=REGION,
                       aws_access_key_id="test", aws_secret_access_key="test")
    kms.put_key_policy(KeyId=outputs["KMSKeyArn"].split("/")[-1], PolicyName="default", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "EnableIamPolicies", "Effect": "Allow",
                       "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                       "Action": "kms:*", "Resource": "*"}]}))
    lam = boto3.client("lambda", endpoint_url=moto, region_name=REGION,
                       aws_access_key_id="test", aws_secret_access_key="test")
    config = lam.get_function_configuration(FunctionName=outputs["BackupLambdaArn"])
    assert config["Runtime"] == "provided.al2023" and config["Handler"] == "bootstrap"
    # moto hands Number parameters back as integers; Lambda passes every value as a string.
    env = {k: str(v) for k, v in config["Environment"]["Variables"].items()}
    assert env["BACKUP_BUCKET"] == outputs["BackupBucketName"]
    assert env["KMS_KEY_ID"] == outputs["KMSKeyArn"]

    fn = start_lambda(env)
    result = fn.invoke(SCHEDULED)
    assert result.ok, (result.payload, fn.stderr()[-2000:])
    assert result.payload["documents"] == 60

    s3 = boto3.client("s3", endpoint_url=moto, region_name=REGION,
                      aws_access_key_id="test", aws_secret_access_key="test")
    bucket = outputs["BackupBucketName"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="backups/2026-11-27/manifest.json")["Body"].read())
    assert manifest["environment"] == "dev" and manifest["total_documents"] == 60
    for doc in manifest["documents"][:10]:
        obj = s3.get_object(Bucket=bucket, Key=doc["object_key"])
        assert obj["SSEKMSKeyId"] == outputs["KMSKeyArn"]
        assert "sha256:" + hashlib.sha256(obj["Body"].read()).hexdigest() == doc["checksum"]
    (emf,) = fn.emf()
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == env.get("METRICS_NAMESPACE", "BackupSystem")
    assert emf["Environment"] == "dev" and emf["BackupSuccess"] == 1
