#!/usr/bin/env bash
# Builds the npm package `docvault` into target/host-node/package and prints that directory.
#
#   host-node/build.sh
#
# 1. docvault-node for wasm32-unknown-unknown (scripts/build-wasm.sh: rustup's target when
#    installed, Debian's rustc-web otherwise), fat LTO and one codegen unit for speed and size;
# 2. wasm-bindgen-cli at exactly the version of the wasm-bindgen crate in Cargo.lock, installed
#    once into target/tools (skipped when the right version is there);
# 3. `wasm-bindgen --target nodejs`, then package.json (version = the workspace's) and README.md.
# Progress goes to stderr; stdout is only the package directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

log() { printf 'host-node/build.sh: %s\n' "$*" >&2; }

out=target/host-node/package
tools=target/tools

# The wasm-bindgen crate version the lock file pins (the CLI must match it exactly).
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$bindgen_version" ] || { log "no wasm-bindgen in Cargo.lock"; exit 1; }
version=$(awk '/^\[workspace.package\]/ { p = 1 } p && /^version = / { gsub(/version = |"/, ""); print; exit }' Cargo.toml)

log "building docvault-node for wasm32-unknown-unknown"
wasm=$(nice -n 10 scripts/build-wasm.sh unknown docvault-node \
  --config 'profile.release.lto="fat"' --config 'profile.release.codegen-units=1')

bindgen="$tools/bin/wasm-bindgen"
if [ ! -x "$bindgen" ] || [ "$("$bindgen" --version)" != "wasm-bindgen $bindgen_version" ]; then
  log "installing wasm-bindgen-cli $bindgen_version into $tools (a few minutes, once)"
  if ! nice -n 10 cargo install --locked --root "$tools" wasm-bindgen-cli --version "=$bindgen_version" >&2; then
    # The CLI's own lock file can name a dependency version the registry no longer serves
    # (0.2.130's names webpki-roots 1.0.11); resolve afresh then.
    log "locked install failed; installing wasm-bindgen-cli $bindgen_version with fresh resolution"
    nice -n 10 cargo install --root "$tools" wasm-bindgen-cli --version "=$bindgen_version" >&2
  fi
fi

rm -rf "$out"
"$bindgen" --target nodejs --out-name docvault --out-dir "$out" "$wasm"
rm -f "$out/docvault_bg.wasm.d.ts" # the raw wasm exports; not part of the package's API

# The public types must say what every value is.
if grep -nE '(:\s*any\b|\bany\[\]|<any>|\|\s*any\b|\bany\s*[|;,)])' "$out/docvault.d.ts" >&2; then
  log "the generated docvault.d.ts uses \`any\` (above): give that value a type"
  exit 1
fi

cp host-node/npm/README.md "$out/README.md"
node - "$out/package.json" "$version" <<'EOF'
const [file, version] = process.argv.slice(2);
const pkg = {
  name: 'docvault',
  version,
  description:
    'Read, validate, summarize, compare and build docvault backup manifests, and reproduce generated days byte for byte: the docvault core (Rust) as WebAssembly',
  license: 'Apache-2.0',
  type: 'commonjs',
  main: './docvault.js',
  types: './docvault.d.ts',
  exports: {
    '.': { types: './docvault.d.ts', default: './docvault.js' },
    './package.json': './package.json',
  },
  files: ['docvault.js', 'docvault.d.ts', 'docvault_bg.wasm', 'README.md'],
  engines: { node: '>=20' },
  keywords: ['backup', 'manifest', 's3', 'sha256', 'wasm', 'docvault'],
};
require('node:fs').writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
EOF
log "package docvault@$version in $out (wasm-bindgen $bindgen_version)"
echo "$root/$out"
