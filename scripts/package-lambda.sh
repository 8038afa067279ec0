#!/usr/bin/env bash
# Builds the Lambda artifact for provided.al2023 (x86_64): target/lambda/bootstrap and
# target/lambda/bootstrap.zip, linked against glibc 2.34 (Amazon Linux 2023; this machine has
# 2.36) with cargo-zigbuild, then checks the newest GLIBC symbol version the binary needs and
# records sizes in target/lambda/sizes.txt.
#
# aarch64 (Graviton) is not built: it needs the aarch64 Rust std, which rustup cannot download
# here. See README.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET=x86_64-unknown-linux-gnu
GLIBC=2.34
OUT=target/lambda

source "$ROOT/scripts/python-env.sh"
setup_env zig host-lambda/requirements-build.txt
# cargo-zigbuild runs `python3 -m ziglang`: the venv's python must come first on PATH.
zig_python_dir="$(dirname "$("${ENV_CMD[@]}" -c 'import sys; print(sys.executable)')")"
export PATH="$zig_python_dir:$ROOT/target/tools/bin:$PATH"

if ! command -v cargo-zigbuild >/dev/null; then
  echo "package-lambda.sh: installing cargo-zigbuild into target/tools" >&2
  cargo install --locked --quiet --root target/tools cargo-zigbuild --version 0.24.1
fi

cargo zigbuild --locked --release -p docvault-lambda --bin bootstrap --target "$TARGET.$GLIBC"
mkdir -p "$OUT"
cp "target/$TARGET/release/bootstrap" "$OUT/bootstrap"
strip "$OUT/bootstrap" -o "$OUT/bootstrap.stripped" && mv "$OUT/bootstrap.stripped" "$OUT/bootstrap"
rm -f "$OUT/bootstrap.zip"
(cd "$OUT" && zip -q -X bootstrap.zip bootstrap)

newest=$(objdump -T "$OUT/bootstrap" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)
if [ "$(printf '%s\n%s\n' "$newest" "$GLIBC" | sort -V | tail -n 1)" != "$GLIBC" ]; then
  echo "package-lambda.sh: bootstrap needs GLIBC_$newest, newer than Amazon Linux 2023's $GLIBC" >&2
  exit 1
fi
{
  echo "bootstrap_bytes $(stat -c %s "$OUT/bootstrap")"
  echo "zip_bytes $(stat -c %s "$OUT/bootstrap.zip")"
  echo "newest_glibc $newest"
} | tee "$OUT/sizes.txt"
echo "$OUT/bootstrap.zip"
