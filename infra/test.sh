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
PY="${PYTHON:-python3}"
CACHE="${DOCVAULT_INFRA_CACHE:-$ROOT/target/infra-venv}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1
mkdir -p "$CACHE"

fingerprint() { # requirements file + interpreter version
    { cat "$1"; "$PY" -c 'import sys; print(sys.version)'; } | "$PY" -c \
        'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}

# setup_env NAME REQUIREMENTS: installs (once per pin set) and sets ENV_CMD
# to the command (an array) that runs that environment's python.
setup_env() {
    local name="$1" req="$2" want venv="$CACHE/$1" target="$CACHE/$1-target"
    want="$(fingerprint "$req")"
    if [[ -z "${DOCVAULT_INFRA_NO_VENV:-}" ]]; then
        if [[ ! -f "$venv/.installed" || "$(cat "$venv/.installed")" != "$want" ]]; then
            rm -rf "$venv"
            if "$PY" -m venv "$venv" >/dev/null 2>&1 && [[ -x "$venv/bin/python" ]]; then
                echo "infra/test.sh: installing $req into $venv" >&2
                "$venv/bin/python" -m pip install -q -r "$req" >&2
                echo "$want" > "$venv/.installed"
            else
                rm -rf "$venv"
                echo "infra/test.sh: python3 -m venv unavailable, using pip --target" >&2
            fi
        fi
        if [[ -f "$venv/.installed" ]]; then
            ENV_CMD=(env "PATH=$venv/bin:$PATH" "$venv/bin/python"); return
        fi
    fi
    if [[ ! -f "$target/.installed" || "$(cat "$target/.installed")" != "$want" ]]; then
        rm -rf "$target"
        echo "infra/test.sh: installing $req into $target" >&2
        "$PY" -m pip install -q --target "$target" -r "$req" >&2
        echo "$want" > "$target/.installed"
    fi
    ENV_CMD=(env "PYTHONPATH=$target" "PATH=$target/bin:$PATH" "$PY")
}

setup_env checkov infra/requirements-checkov.txt
# The tests run checkov as: $DOCVAULT_CHECKOV_PYTHON -m checkov.main (shell-quoted).
DOCVAULT_CHECKOV_PYTHON="$(printf '%q ' "${ENV_CMD[@]}")"
export DOCVAULT_CHECKOV_PYTHON
setup_env tools infra/requirements-test.txt

exec "${ENV_CMD[@]}" -m pytest -q infra/tests "$@"
