#!/usr/bin/env bash
# Runs docvault's fuzz targets (nightly + cargo-fuzz), seeded with the golden manifests and the
# kept fixtures.
#   scripts/fuzz.sh [SECONDS] [TARGET...]   default 600 seconds each, every target
# Targets: parse_manifest (manifests), read_manifest_both_ways (the one-pass manifest reading
# against the careful one), parse_event (Lambda events), parse_time (dates and timestamps). Crashes land in fuzz/artifacts/TARGET/; copy each into tests/fixtures/fuzz/
# (manifests), tests/fixtures/fuzz-events/ or tests/fixtures/fuzz-time/ so `cargo test` replays
# it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(parse_manifest read_manifest_both_ways parse_event parse_time)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for target in "${targets[@]}"; do
  corpus=fuzz/corpus/$target
  mkdir -p "$corpus"
  case "$target" in
    parse_manifest | read_manifest_both_ways) cp tests/golden/*.json tests/fixtures/fuzz/* "$corpus"/; dict=-dict=../scripts/manifest.dict ;;
    parse_event) cp tests/fixtures/fuzz-events/* "$corpus"/; dict= ;;
    parse_time) cp tests/fixtures/fuzz-time/* "$corpus"/; dict= ;;
    *) echo "fuzz.sh: unknown target $target" >&2; exit 2 ;;
  esac
  (cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=65536 $dict)
done
