#!/usr/bin/env bash
# Lambda upload benchmarks against s3s-fs on loopback (server on core 0, client on core 1),
# medians of RUNS runs. Prints a Markdown summary; raw JSON lines in target/bench/lambda.jsonl.
# Every case also records the CPU time the server spent on it ("server_cpu_s", from
# /proc/PID/stat, 10 ms ticks): s3s-fs is pinned to one core, so that is the least time the
# case could take on this server, and PUTs divided by it is the server's ceiling in PUT/s.
#   scripts/bench-lambda.sh [RUNS]     (default 5)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS=${1:-5}
export AWS_ACCESS_KEY_ID=docvault AWS_SECRET_ACCESS_KEY=docvault-secret AWS_REGION=us-east-1

source scripts/python-env.sh
setup_env tools infra/requirements-test.txt
PYBIN=("${ENV_CMD[@]}")
scripts/install-s3s-fs.sh
cargo build --locked --release -q -p docvault-s3 --example upload_bench
BENCH=target/release/examples/upload_bench

data=$(mktemp -d /dev/shm/docvault-s3s.XXXXXX 2>/dev/null || mktemp -d)
port=$("${PYBIN[@]}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
taskset -c 0 target/tools/bin/s3s-fs --host 127.0.0.1 --port "$port" \
  --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" "$data" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data" "${tmp:-}"' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
"${PYBIN[@]}" -c "import boto3; boto3.client('s3', endpoint_url='$url', region_name='us-east-1').create_bucket(Bucket='bench')"

mkdir -p target/bench
out=target/bench/lambda.jsonl
: > "$out"
date_for() { date -u -d "2026-01-01 + $1 days" +%F; }  # a fresh day per backup run
tick=$(getconf CLK_TCK)
server_cpu() { # the server's user+system CPU seconds so far (fields 14 and 15 of its stat)
  awk -v t="$tick" '{ print ($14 + $15) / t }' "/proc/$server/stat"
}
record() { # LABEL JSON SERVER_CPU_BEFORE : adds the server's CPU seconds since then
  echo "{\"case\": \"$1\", \"result\": $2, \"server_cpu_s\": $(awk -v a="$3" -v b="$(server_cpu)" 'BEGIN { print b - a }')}" >> "$out"
}
timed() { # OUTFILE command... : runs it, output to OUTFILE, prints wall seconds
  local t0 t1
  t0=$(date +%s.%N); "${@:2}" > "$1"; t1=$(date +%s.%N)
  "${PYBIN[@]}" -c "print($t1 - $t0)"
}
with_wall() { # WALL < JSON : adds "wall_s" to the JSON object
  "${PYBIN[@]}" -c "import json,sys; d=json.load(sys.stdin); d['wall_s']=$1; print(json.dumps(d))"
}
tmp=$(mktemp)

for r in $(seq "$RUNS"); do
  echo "run $r/$RUNS" >&2
  c=$(server_cpu)
  res=$(taskset -c 1 $BENCH "$url" bench 10000 4096 64 "$(date_for $((r * 10 + 1)))")
  record docvault-10k-4KiB "$res" "$c"
  c=$(server_cpu)
  res=$(taskset -c 1 "${PYBIN[@]}" benches/boto3_upload.py threads "$url" bench 10000 4096 8)
  record boto3-8threads-10k-4KiB "$res" "$c"
  c=$(server_cpu)
  w=$(timed "$tmp" taskset -c 1 $BENCH "$url" bench 500 generated 32 "$(date_for $((r * 10 + 2)))")
  record docvault-spec-500 "$(with_wall "$w" < "$tmp")" "$c"
  c=$(server_cpu)
  w=$(timed "$tmp" taskset -c 1 "${PYBIN[@]}" benches/boto3_upload.py spec "$url" bench 500)
  record boto3-spec-500 "$(with_wall "$w" < "$tmp")" "$c"
done
c=$(server_cpu)
record docvault-100k-4KiB "$(taskset -c 1 $BENCH "$url" bench 100000 4096 64 "$(date_for 999)")" "$c"

"${PYBIN[@]}" - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(case, key):
    vals = [r["result"][key] for r in rows if r["case"] == case]
    return statistics.median(vals) if vals else float("nan")
def server(case):  # median server CPU seconds per case, and the ceiling it implies in PUT/s
    vals = [(r["server_cpu_s"], r["result"]["puts"]) for r in rows if r["case"] == case]
    cpu = statistics.median(c for c, _ in vals)
    return cpu, statistics.median(p / c for c, p in vals if c > 0)
d, b = med("docvault-10k-4KiB", "puts_per_s"), med("boto3-8threads-10k-4KiB", "puts_per_s")
print(f"| 10,000 x 4 KiB PUT/s | docvault {d:,.0f} | boto3 8 threads {b:,.0f} | ratio {d/b:.1f}x |")
print(f"| client CPU per PUT | docvault {med('docvault-10k-4KiB','cpu_ms_per_put'):.3f} ms | boto3 {med('boto3-8threads-10k-4KiB','cpu_ms_per_put'):.3f} ms | |")
dw, bw = med("docvault-spec-500", "elapsed_s"), med("boto3-spec-500", "elapsed_s")
ds, bs = med("docvault-spec-500", "wall_s"), med("boto3-spec-500", "wall_s")
print(f"| spec day (500 + manifest), warm | docvault {dw*1000:.0f} ms | boto3 sequential {bw*1000:.0f} ms | {bw/dw:.1f}x |")
print(f"| spec day, including process start | docvault {ds*1000:.0f} ms | boto3 sequential {bs*1000:.0f} ms | {bs/ds:.1f}x |")
print(f"| peak RSS | 10k: {med('docvault-10k-4KiB','max_rss_kb')/1024:.1f} MiB | 100k: {med('docvault-100k-4KiB','max_rss_kb')/1024:.1f} MiB | |")
print(f"| 100,000 x 4 KiB PUT/s | docvault {med('docvault-100k-4KiB','puts_per_s'):,.0f} | | |")
_, ceil = server("docvault-10k-4KiB")
_, bceil = server("boto3-8threads-10k-4KiB")
print(f"| server ceiling, 10,000 x 4 KiB (PUTs / server CPU s) | under docvault {ceil:,.0f} PUT/s | under boto3 {bceil:,.0f} PUT/s | docvault at {d/ceil:.0%} of it |")
scpu, _ = server("docvault-spec-500")
print(f"| spec day: server CPU (least possible time) | {scpu*1000:.0f} ms | docvault warm {dw*1000:.0f} ms | {dw/scpu:.2f}x |")
PY
