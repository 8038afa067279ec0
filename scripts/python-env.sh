# Sourced by the test scripts: pinned Python tool environments, installed once per pin set.
#   source scripts/python-env.sh; setup_env NAME REQUIREMENTS_FILE; "${ENV_CMD[@]}" -m pytest ...
# Needs ROOT (the repository root). Installs into target/infra-venv (or $DOCVAULT_INFRA_CACHE):
# a virtualenv per requirements file, or `pip install --target` where venv is unavailable.
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

