#!/usr/bin/env bash
# Installs what docvault's builds and tests need on a fresh Debian 12 machine (run as root, or
# with sudo available). Idempotent: skips what is already there.
#   - Debian's rustc-web + rust-web-src + lld + wasi-libc: wasm32 builds without rustup targets
#     (see docs/toolchain.md).
#   - Node.js: the wasm probe and (later) the npm package tests.
set -euo pipefail

need=()
dpkg -s rustc-web rust-web-src lld wasi-libc >/dev/null 2>&1 || need+=(rustc-web rust-web-src lld wasi-libc)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v sha256sum >/dev/null 2>&1 || need+=(coreutils)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-pip python3-venv)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup.sh: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

command -v cargo >/dev/null || {
  echo "setup.sh: cargo is missing: install Rust 1.95 with rustup (https://rustup.rs)" >&2
  exit 1
}
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt
