#!/usr/bin/env bash
# Infra tests: cfn-lint, checkov, static property checks and a deployment of
# infra/template.yaml to moto_server on 127.0.0.1.
#
# Self-contained: needs only python3 with pip. Installs pinned tools into
# target/infra-venv (one virtualenv for moto/boto3/cfn-lint/pytest, one for
# checkov, whose boto3 pin conflicts with moto's), reused while the pins are
# unchanged. Where `python3 -m venv` is unavailable (Debian without
# python3-venv) it falls back to `pip install --target` directories.
#
# Usage: bash infra/test.sh [extra pytest args]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/python-env.sh"

setup_env checkov infra/requirements-checkov.txt
# The tests run checkov as: $DOCVAULT_CHECKOV_PYTHON -m checkov.main (shell-quoted).
DOCVAULT_CHECKOV_PYTHON="$(printf '%q ' "${ENV_CMD[@]}")"
export DOCVAULT_CHECKOV_PYTHON
setup_env tools infra/requirements-test.txt

# asl-validator (npm) checks the state machine's Amazon States Language definition, Distributed
# Map and ItemBatcher included (cfn-lint checks little inside a definition).
ASL_VALIDATOR_VERSION=4.0.0
ASL_DIR="$ROOT/target/tools/asl-validator-$ASL_VALIDATOR_VERSION"
if [[ ! -x "$ASL_DIR/node_modules/.bin/asl-validator" ]]; then
  npm install --prefix "$ASL_DIR" --no-audit --no-fund --silent "asl-validator@$ASL_VALIDATOR_VERSION"
fi
export DOCVAULT_ASL_VALIDATOR="$ASL_DIR/node_modules/.bin/asl-validator"

exec "${ENV_CMD[@]}" -m pytest -q infra/tests "$@"
