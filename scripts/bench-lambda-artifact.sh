#!/usr/bin/env bash
# The Lambda artifact, setting by setting: builds the bootstrap as scripts/package-lambda.sh
# does (cargo-zigbuild, glibc 2.34, stripped, zipped) once per variant of the `lambda` profile,
# then measures each one's cold start side by side (benches/cold_start.py: exec to the first
# Runtime API `next` request, median of RUNS starts of each). Prints a Markdown table; the
# binaries stay in target/bench/artifact/<variant>/.
#   scripts/bench-lambda-artifact.sh [RUNS]     (default 100)
# Each variant is a full build of the function and its dependencies (several minutes each).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS=${1:-100}
OUT=target/bench/artifact

# label | the `lambda` profile's settings changed from Cargo.toml (CARGO_PROFILE_LAMBDA_*).
# The profile as it is comes last, so target/lambda is left as package-lambda.sh builds it.
variants=(
  "release|LTO=false CODEGEN_UNITS=16 PANIC=unwind"
  "lto|PANIC=unwind"
  "lto+abort+opt-s|OPT_LEVEL=s"
  "lto+abort|"
)
binaries=()
for variant in "${variants[@]}"; do
  label=${variant%%|*}
  settings=${variant#*|}
  overrides=()
  for s in $settings; do overrides+=("CARGO_PROFILE_LAMBDA_$s"); done
  echo "building $label (${settings:-the profile as it is})" >&2
  env "${overrides[@]}" scripts/package-lambda.sh >/dev/null
  mkdir -p "$OUT/$label"
  cp target/lambda/bootstrap target/lambda/bootstrap.zip "$OUT/$label/"
  binaries+=("$label=$OUT/$label/bootstrap")
done

echo "| variant | bootstrap bytes | zip bytes | cold start median (min-max) |"
echo "|---|---|---|---|"
python3 benches/cold_start.py "$RUNS" "${binaries[@]}" | while read -r line; do
  label=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["binary"])' "$line")
  python3 - "$line" "$(stat -c %s "$OUT/$label/bootstrap")" "$(stat -c %s "$OUT/$label/bootstrap.zip")" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"| {r['binary']} | {int(sys.argv[2]):,} | {int(sys.argv[3]):,} | "
      f"{r['median_ms']:.1f} ms ({r['min_ms']:.1f}-{r['max_ms']:.1f}) |")
PY
done
