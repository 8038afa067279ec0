#!/usr/bin/env bash
# Builds a crate for a wasm32 target, offline.
#
#   scripts/build-wasm.sh unknown PACKAGE   -> wasm32-unknown-unknown (pure core, wasm-bindgen)
#   scripts/build-wasm.sh wasip1  PACKAGE   -> wasm32-wasip1 (WASI command for `wasmtime run`)
#
# Uses the rustup target when it is installed; otherwise Debian's rustc-web (which has the wasm
# targets in its LLVM) with -Zbuild-std and wasm-ld (see docs/toolchain.md). Prints the path
# of the built .wasm on stdout. Artifacts go to target/wasm/<target>/release/.
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:?usage: build-wasm.sh unknown|wasip1 PACKAGE [cargo args...]}
package=${2:?usage: build-wasm.sh unknown|wasip1 PACKAGE [cargo args...]}
shift 2
case "$kind" in
  unknown) target=wasm32-unknown-unknown ;;
  wasip1) target=wasm32-wasip1 ;;
  *) echo "build-wasm.sh: unknown target kind '$kind' (use unknown or wasip1)" >&2; exit 2 ;;
esac
target_dir=target/wasm
# No DWARF in the shipped module: it would triple its size and slow every load (the workspace's
# release profile keeps line tables for native backtraces).
export CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=debuginfo

if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  echo "build-wasm.sh: using rustup's $target" >&2
  cargo build --locked --release -p "$package" --target "$target" --target-dir "$target_dir" "$@" >&2
else
  echo "build-wasm.sh: using Debian rustc-web with -Zbuild-std for $target" >&2
  for tool in /usr/bin/rustc wasm-ld; do
    command -v "$tool" >/dev/null || {
      echo "build-wasm.sh: $tool is missing: apt-get install -y rustc-web rust-web-src lld wasi-libc" >&2
      exit 1
    }
  done
  export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld
  export CARGO_TARGET_WASM32_WASIP1_LINKER=wasm-ld
  export CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C link-self-contained=no -L /usr/lib/wasm32-wasi -C link-arg=/usr/lib/wasm32-wasi/crt1-command.o"
  cargo build --locked --release -p "$package" --target "$target" --target-dir "$target_dir" \
    -Zbuild-std=std,panic_abort "$@" >&2
fi

name=${package//-/_}
for candidate in "$target_dir/$target/release/$name.wasm" "$target_dir/$target/release/${package}.wasm"; do
  if [ -f "$candidate" ]; then echo "$candidate"; exit 0; fi
done
ls "$target_dir/$target/release/"*.wasm 2>/dev/null | head -n 1
