#!/usr/bin/env bash
# Runs every docvault test: the README's test command, and what CI (.ci/run) calls.
# Installs what it needs first (scripts/setup.sh). Starts every service its tests use on
# loopback and stops them on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n=== %s ===\n' "$*"; }

step "setup"
scripts/setup.sh

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "cargo test (core, CLI, golden files, schema, properties)"
cargo test --locked --workspace

step "wasm32-unknown-unknown: core imports nothing and writes the golden bytes"
probe=$(scripts/build-wasm.sh unknown docvault-wasm-probe)
node --test-reporter=spec tests/wasm/probe.mjs "$probe" tests/golden/manifest-500-2026-11-27.json

step "host-wasmtime: the WASI guest under stock wasmtime and the docvault-wasmtime runner (sandbox, limits, S3 on moto and s3s-fs)"
host-wasmtime/test.sh

step "host-node: the npm package built, packed, installed into a fresh project and tested there"
host-node/test.sh

step "host-lambda: package bootstrap.zip for provided.al2023 (glibc 2.34 symbols checked)"
scripts/package-lambda.sh

step "host-lambda: the packaged bootstrap against moto (S3, KMS, the deployed stack) and s3s-fs (checksums)"
DOCVAULT_BOOTSTRAP=target/lambda/bootstrap DOCVAULT_LAMBDA_ZIP=target/lambda/bootstrap.zip \
  host-lambda/test.sh

step "infra: cfn-lint, checkov, static rules, deploy on moto"
infra/test.sh

step "generated files are committed and current"
git diff --exit-code -- tests/golden core/schema

printf '\nall docvault tests passed\n'
