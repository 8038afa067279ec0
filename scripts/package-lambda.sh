#!/usr/bin/env bash
# Builds the Lambda artifact for provided.al2023 (x86_64) with the `lambda` profile:
# target/lambda/bootstrap and target/lambda/bootstrap.zip, linked against glibc 2.34 (Amazon Linux 2023; this machine has
# 2.36) with cargo-zigbuild, then checks the newest GLIBC symbol version the binary needs and
# records sizes in target/lambda/sizes.txt.
#
# aarch64 (Graviton) is not built: it needs the aarch64 Rust std, which rustup cannot download
# here (docs/toolchain.md).
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
# cargo-zigbuild comes from the same requirements (its PyPI wheel): in the venv's bin, or in
# the pip --target directory's bin where venv is unavailable.
export PATH="$zig_python_dir:$CACHE/zig-target/bin:$PATH"
command -v cargo-zigbuild >/dev/null || {
  echo "package-lambda.sh: cargo-zigbuild is missing from $CACHE/zig" >&2
  exit 1
}

# The `lambda` profile (Cargo.toml); scripts/bench-lambda-artifact.sh builds its variants
# through CARGO_PROFILE_LAMBDA_* overrides.
cargo zigbuild --locked --profile lambda -p docvault-lambda --bin bootstrap --target "$TARGET.$GLIBC"
mkdir -p "$OUT"
cp "target/$TARGET/lambda/bootstrap" "$OUT/bootstrap"
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
