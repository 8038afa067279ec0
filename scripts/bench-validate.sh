#!/usr/bin/env bash
# `docvault validate` of a large generated manifest, two builds side by side: wall time and
# peak RSS, runs alternating (A, B, B, A, ...) so that the machine's load favours neither.
#   scripts/bench-validate.sh BEFORE_BIN AFTER_BIN [DOCUMENTS] [ROUNDS]
# DOCUMENTS defaults to 1,000,000 (a 367 MB manifest), ROUNDS to 5; one core (taskset -c 1).
# Build a BEFORE_BIN with `git worktree add ../before REV` and
# `CARGO_TARGET_DIR=../before-target cargo build --release -p docvault-cli` there.
set -euo pipefail
before=$1 after=$2 count=${3:-1000000} rounds=${4:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
manifest=$work/manifest.json
"$after" manifest --generate "$count" --date 2026-11-27 --at 2026-11-27T02:00:00Z > "$manifest"
size=$(stat -c %s "$manifest")
run() { # BIN LABEL : one validation, "LABEL seconds max_rss_kib" appended to the results
  /usr/bin/time -f "$2 %e %M" -o "$work/one" taskset -c 1 "$1" validate "$manifest" > /dev/null
  cat "$work/one" >> "$work/results"
}
for r in $(seq "$rounds"); do
  if (( r % 2 )); then run "$before" before; run "$after" after
  else run "$after" after; run "$before" before; fi
done
python3 - "$work/results" "$size" "$count" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
size, count = int(sys.argv[2]), int(sys.argv[3])
print(f"manifest: {count:,} documents, {size / 1e6:.1f} MB; medians of {len(rows) // 2} runs each")
print("| build | wall (s) | range | peak RSS (MiB) | peak RSS / manifest size |")
print("|---|---:|---:|---:|---:|")
for label in ("before", "after"):
    wall = [float(r[1]) for r in rows if r[0] == label]
    rss = [int(r[2]) * 1024 for r in rows if r[0] == label]
    m = statistics.median(rss)
    print(f"| {label} | {statistics.median(wall):.2f} | {min(wall):.2f}-{max(wall):.2f} "
          f"| {m / 2**20:.0f} | {m / size:.2f}x |")
PY
