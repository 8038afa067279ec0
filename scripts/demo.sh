#!/usr/bin/env bash
# The main job on the embedded default, no AWS account needed: generates the spec's day of 500
# documents with real bodies, writes them and their manifest under ./demo/, checks every
# checksum with sha256sum, validates the manifest and prints the day's summary.
#   scripts/demo.sh [YYYY-MM-DD]
set -euo pipefail
cd "$(dirname "$0")/.."
date=${1:-$(date -u +%F)}
at=$(date -u +%FT%TZ)
scripts/setup.sh
cargo build --locked --release -q -p docvault-cli
dv=target/release/docvault
out=demo/$date
rm -rf "$out" && mkdir -p "$out"
"$dv" generate --count 500 --date "$date" --out "$out/documents"
"$dv" manifest --generate 500 --date "$date" --at "$at" --env dev > "$out/manifest.json"
"$dv" validate "$out/manifest.json"
# Check every checksum with a tool that is not ours.
python3 - "$out" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
m = json.loads((out / "manifest.json").read_text())
lines = [f'{d["checksum"].removeprefix("sha256:")}  documents/{d["object_key"].rsplit("/", 1)[1]}' for d in m["documents"]]
(out / "SHA256SUMS").write_text("\n".join(lines) + "\n")
PY
(cd "$out" && sha256sum --check --quiet --strict SHA256SUMS) && echo "sha256sum: all 500 checksums match"
"$dv" summary --count 500 --date "$date"
echo "backup set written to $out"
