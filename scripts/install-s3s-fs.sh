#!/usr/bin/env bash
# Installs s3s-fs (an S3 server that validates x-amz-checksum-sha256; docs/toolchain.md) into
# target/tools/bin once, for the end-to-end tests. Prints nothing when it is there already.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${DOCVAULT_S3S_FS:-}" && ! -x target/tools/bin/s3s-fs ]]; then
  echo "install-s3s-fs.sh: installing s3s-fs 0.14.1 into target/tools" >&2
  cargo install --locked --quiet --root target/tools s3s-fs --version 0.14.1 --features binary
fi
