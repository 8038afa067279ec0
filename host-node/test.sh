#!/usr/bin/env bash
# host-node's test command: the npm package `docvault` built, packed, installed into a fresh
# project and tested there, as a user gets it.
#
#   host-node/test.sh        (from any directory; scripts/test.sh calls it)
#
# 1. host-node/build.sh: wasm32 build, wasm-bindgen-cli (pinned, installed once into
#    target/tools), wasm-bindgen --target nodejs, package.json and README into
#    target/host-node/package;
# 2. `npm pack`, and the tarball's file list checked;
# 3. a fresh temporary project installs the tarball (and TypeScript from the npm registry);
# 4. `node --test` runs the suite (every export, error codes, hostile input, golden bytes, the
#    native CLI's bytes) against the installed copy;
# 5. a CommonJS and an ESM script run there, and `tsc --noEmit --strict` checks a consumer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
started=$SECONDS
typescript=typescript@5.9.3

step() { printf '\n--- host-node: %s\n' "$*"; }

step "build the package"
pkg=$(host-node/build.sh)

step "native CLI (for the cross-host byte comparison)"
cargo build --locked --quiet -p docvault-cli
cli="$root/target/debug/docvault"

work=$(mktemp -d "${TMPDIR:-/tmp}/docvault-node-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

step "npm pack"
tarball=$(cd "$pkg" && npm pack --silent --pack-destination "$work" | tail -n 1)
version=$(node -p "require('$pkg/package.json').version")
[ "$tarball" = "docvault-$version.tgz" ] || { echo "unexpected tarball name: $tarball" >&2; exit 1; }
files=$(tar -tzf "$work/$tarball" | sort | tr '\n' ' ')
expected="package/README.md package/docvault.d.ts package/docvault.js package/docvault_bg.wasm package/package.json "
if [ "$files" != "$expected" ]; then
  printf 'the tarball holds:   %s\nexpected exactly:    %s\n' "$files" "$expected" >&2
  exit 1
fi
echo "$tarball: $(du -k "$work/$tarball" | cut -f1) KiB, files: $files"

step "fresh project: npm install ./$tarball and $typescript"
project="$work/project"
mkdir "$project"
cp host-node/tests/consumer/* "$project/"
printf '{ "name": "docvault-consumer", "version": "0.0.0", "private": true }\n' >"$project/package.json"
(cd "$project" && npm install --no-audit --no-fund --prefer-offline --loglevel=error "$work/$tarball" "$typescript")
installed="$project/node_modules/docvault"

step "node --test (against the installed package)"
DOCVAULT_PKG="$installed" DOCVAULT_CLI="$cli" \
  node --test --test-reporter=spec host-node/tests/api.test.mjs host-node/tests/golden.test.mjs

step "require() and import in the fresh project"
(cd "$project" && node consumer.cjs "$root/tests/golden/manifest-500-2026-11-27.json" && node consumer.mjs)

step "tsc --noEmit --strict on a consumer"
(cd "$project" && ./node_modules/.bin/tsc --version && ./node_modules/.bin/tsc --noEmit --strict -p tsconfig.json)
echo "consumer.ts type-checks (with $(grep -c '@ts-expect-error' "$project/consumer.ts") expected type errors caught)"

printf '\nhost-node: all tests passed in %ss\n' "$((SECONDS - started))"
