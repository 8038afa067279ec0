#!/usr/bin/env bash
# Runs every docvault test: the README's test command, and what CI (.ci/run) calls.
# Installs what it needs first (scripts/setup.sh). Starts every service its tests use on
# loopback and stops them on exit.
#
#   scripts/test.sh                 every step, in order
#   scripts/test.sh node lambda     only the named steps (setup always runs)
#   scripts/test.sh --list          the step names
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# One build from a clean clone: incremental state would only cost disk and time.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

steps=(format clippy cargo wasm-probe wasmtime node package-lambda lambda infra generated)

if [[ "${1:-}" == "--list" ]]; then
  printf '%s\n' "${steps[@]}"
  exit 0
fi
for wanted in "$@"; do
  if [[ ! " ${steps[*]} " == *" $wanted "* ]]; then
    echo "unknown step '$wanted'; the steps are: ${steps[*]}" >&2
    exit 2
  fi
done
if [[ " $* " == *" lambda "* && " $* " != *" package-lambda "* && ! -f target/lambda/bootstrap.zip ]]; then
  echo "step 'lambda' tests target/lambda/bootstrap.zip; run 'package-lambda' with it" >&2
  exit 2
fi

requested="$*"
step() {
  local name=$1
  shift
  if [[ -n "$requested" && " ${requested} " != *" $name "* ]]; then
    return 1
  fi
  printf '\n=== %s: %s ===\n' "$name" "$*"
}

printf '\n=== setup ===\n'
scripts/setup.sh

if step format "rustfmt"; then
  cargo fmt --all -- --check
fi

if step clippy "clippy, warnings are errors"; then
  cargo clippy --locked --workspace --all-targets -- -D warnings
fi

if step cargo "cargo test (core, fs, s3, CLI, Lambda handler, golden files, schema, properties)"; then
  cargo test --locked --workspace
fi

if step wasm-probe "wasm32-unknown-unknown: core imports nothing and writes the golden bytes"; then
  probe=$(scripts/build-wasm.sh unknown docvault-wasm-probe)
  node --test-reporter=spec tests/wasm/probe.mjs "$probe" tests/golden/manifest-500-2026-11-27.json
fi

if step wasmtime "the WASI guest under stock wasmtime and the docvault-wasmtime runner (sandbox, limits, S3 on moto and s3s-fs)"; then
  host-wasmtime/test.sh
fi

if step node "the npm package built, packed, installed into a fresh project and tested there"; then
  host-node/test.sh
fi

if step package-lambda "bootstrap.zip for provided.al2023 (glibc 2.34 symbols checked)"; then
  scripts/package-lambda.sh
fi

if step lambda "the packaged bootstrap against moto (S3, KMS, the deployed stack) and s3s-fs (checksums)"; then
  DOCVAULT_BOOTSTRAP=target/lambda/bootstrap DOCVAULT_LAMBDA_ZIP=target/lambda/bootstrap.zip \
    host-lambda/test.sh
fi

if step infra "cfn-lint, checkov, static rules, deploy on moto"; then
  infra/test.sh
fi

if step generated "generated files are committed and current"; then
  git diff --exit-code -- tests/golden core/schema
fi

printf '\nall requested docvault tests passed\n'
