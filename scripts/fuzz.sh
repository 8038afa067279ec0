#!/usr/bin/env bash
# Runs the manifest-parser fuzz target (nightly + cargo-fuzz), seeded with the golden manifests.
#   scripts/fuzz.sh [SECONDS]      default 600
# Crashes land in fuzz/artifacts/parse_manifest/; copy each into tests/fixtures/fuzz/ so
# `cargo test` replays it forever (tests/tests/parse_errors.rs::fuzz_regressions_do_not_panic).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p fuzz/corpus/parse_manifest
cp tests/golden/*.json tests/fixtures/fuzz/* fuzz/corpus/parse_manifest/
cd fuzz
cargo +nightly fuzz run parse_manifest corpus/parse_manifest -- \
  -max_total_time="$seconds" -max_len=65536 -dict=../scripts/manifest.dict
