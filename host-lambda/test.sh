#!/usr/bin/env bash
# host-lambda end-to-end tests: the real `bootstrap` binary under a local Lambda Runtime API,
# against moto_server (S3 + KMS) and s3s-fs (checksums) on 127.0.0.1, checked with boto3.
#   host-lambda/test.sh [extra pytest args]
# Uses $DOCVAULT_BOOTSTRAP if set, else builds target/debug/bootstrap.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -z "${DOCVAULT_BOOTSTRAP:-}" ]]; then
  cargo build --locked -q -p docvault-lambda --bin bootstrap
fi
# s3s-fs: an S3 server that validates x-amz-checksum-sha256 (moto does not).
scripts/install-s3s-fs.sh
source "$ROOT/scripts/python-env.sh"
setup_env tools infra/requirements-test.txt
exec "${ENV_CMD[@]}" -m pytest -q -c host-lambda/tests/e2e/pytest.ini host-lambda/tests/e2e "$@"
