#!/usr/bin/env bash
# The main job on the embedded default, no AWS account needed: a real local backup of one day
# into a folder with the S3 bucket's layout (backups/{date}/documents/..., manifest last), then
# `docvault verify` re-hashes every stored document, and sha256sum (not our code) checks every
# checksum of the manifest once more.
#   scripts/demo.sh                         the spec's synthetic day of 500 documents, today
#   scripts/demo.sh --source DIR            a directory of your own documents instead
#   options: --date YYYY-MM-DD  --dest DIR (default ./demo/vault)  --count N (default 500)
# Rerunning for the same day finds the backup complete and rewrites nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
date=$(date -u +%F) dest=demo/vault source="" count=500
while [[ $# -gt 0 ]]; do
  case "$1" in
    --date) date=$2; shift 2 ;;
    --dest) dest=$2; shift 2 ;;
    --source) source=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    *) echo "demo.sh: unknown argument '$1' (see the comment at the top)" >&2; exit 2 ;;
  esac
done
scripts/setup.sh
cargo build --locked --release -q -p docvault-cli
dv=target/release/docvault
if [[ -n "$source" ]]; then input=(--source "$source"); else input=(--generate "$count"); fi
"$dv" backup "${input[@]}" --dest "$dest" --date "$date" --env dev
"$dv" verify --dest "$dest" --date "$date"
# Every checksum once more, with a tool that is not ours.
python3 - "$dest" "$date" <<'PY'
import json, pathlib, subprocess, sys
dest, date = pathlib.Path(sys.argv[1]), sys.argv[2]
m = json.loads((dest / "backups" / date / "manifest.json").read_text())
sums = "".join(f'{d["checksum"].removeprefix("sha256:")}  {d["object_key"]}\n' for d in m["documents"])
subprocess.run(["sha256sum", "--check", "--quiet", "--strict", "-"], input=sums.encode(), cwd=dest, check=True)
s = m["backup_summary"]
print(f'sha256sum: all {m["total_documents"]} checksums match; {s["total_size_bytes"]} bytes')
print("by type:", json.dumps(s["document_types"]), "by department:", json.dumps(s["departments"]))
PY
echo "backup set: $dest/backups/$date (restore with: $dv restore --dest $dest --date $date --to DIR)"
