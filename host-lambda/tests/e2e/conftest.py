"""Fixtures of the Lambda end-to-end tests: moto_server on loopback, the real `bootstrap`
binary under a local Lambda Runtime API, boto3 (not our code) to check what landed."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "infra" / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import stack  # noqa: E402  (infra's moto helpers)
import runtime_api  # noqa: E402

REGION = "us-east-1"


@pytest.fixture(scope="session")
def bootstrap() -> str:
    path = os.environ.get("DOCVAULT_BOOTSTRAP", str(ROOT / "target" / "debug" / "bootstrap"))
    if not Path(path).is_file():
        pytest.fail(f"{path} is missing: build it with `cargo build -p docvault-lambda` "
                    "(host-lambda/test.sh does)")
    return path


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    server = stack.start_moto_server(log_path=log)
    try:
        yield server.url
    finally:
        server.stop()


def client(moto_url: str, service: str):
    return boto3.client(service, endpoint_url=moto_url, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture
def s3(moto):
    return client(moto, "s3")


@pytest.fixture
def kms(moto):
    return client(moto, "kms")


@pytest.fixture
def bucket(s3):
    name = f"docvault-e2e-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def key_arn(kms):
    return kms.create_key(Description="docvault e2e")["KeyMetadata"]["Arn"]


@pytest.fixture
def start_lambda(bootstrap, moto, tmp_path):
    """Starts `bootstrap` with the given configuration; stops every one started."""
    started = []

    def start(env: dict, endpoint: str | None = None) -> runtime_api.Function:
        base = {
            "AWS_ENDPOINT_URL": endpoint or moto,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": REGION,
            "S3_FORCE_PATH_STYLE": "true",
            "UPLOAD_CONCURRENCY": "16",
            "MAX_ATTEMPTS": "2",
            "RUST_LOG": "info",
        }
        fn = runtime_api.start_function(bootstrap, {**base, **env}, tmp_path)
        started.append(fn)
        return fn

    yield start
    for fn in started:
        fn.stop()
