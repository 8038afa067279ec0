#!/usr/bin/env bash
# Sandboxed vs native backup benchmark: FILES files (default 10000, log-uniform
# 1 KiB..1 MiB) backed up natively, by the docvault-wasmtime runner and by stock `wasmtime
# run`; a hash-only scan; manifest validation (no hashing); runner start-up with a cached module.
# Prints a Markdown table (BENCHMARKS.md); raw figures in target/bench/sandbox.json.
#   RUNS=3 FILES=10000 scripts/bench-sandbox.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/python-env.sh
setup_env wasmtime host-wasmtime/requirements-test.txt
WASMTIME="$("${ENV_CMD[@]}" -c \
  'import os, wasmtime_cli; print(os.path.join(os.path.dirname(wasmtime_cli.__file__), "wasmtime"))')"
chmod +x "$WASMTIME"
WASM="$ROOT/$(scripts/build-wasm.sh wasip1 docvault-cli)"
cargo build --locked --release -q -p docvault-cli -p docvault-wasmtime
exec python3 benches/sandbox.py target/release/docvault target/release/docvault-wasmtime "$WASMTIME" "$WASM"
