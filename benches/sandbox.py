"""Sandboxed vs native backups. Driven by scripts/bench-sandbox.sh, which
builds the binaries and passes their paths. Prints a Markdown table; raw figures go to
target/bench/sandbox.json.

Workloads, each timed as whole processes (median of RUNS, wall clock, peak RSS via wait4):
* backup: FILES files (log-uniform sizes, 1 KiB to 1 MiB, fixed seed) into an empty
  destination: native `docvault`, the runner `docvault-wasmtime`, stock `wasmtime run`;
* scan: `manifest --source` over the same files (read + hash + manifest, nothing written);
* validate: parse and check a manifest of MANIFEST_DOCS documents (manifest work, no hashing);
* scan and validate also by the runner with `--timeout 0` (compiled without epoch checks);
* start-up: the runner with a cached module (load + instantiate, from its debug log), and
  `--version` end to end for the runner and stock wasmtime.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NATIVE, RUNNER, WASMTIME, WASM = (Path(p) for p in sys.argv[1:5])
RUNS = int(os.environ.get("RUNS", "3"))
FILES = int(os.environ.get("FILES", "10000"))
MANIFEST_DOCS = int(os.environ.get("MANIFEST_DOCS", "100000"))
DAY = ["--date", "2026-11-27", "--at", "2026-11-27T02:00:00Z", "--env", "prod", "--run-id", "bench"]


def timed_rss(cmd: list[str], env: dict | None = None) -> tuple[float, int, bytes]:
    """Wall seconds, peak RSS (KiB, from wait4) and stderr of one process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errf:
        pid = os.posix_spawnp(cmd[0], cmd, {**os.environ, **(env or {})},
                              file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                                            (os.POSIX_SPAWN_DUP2, errf.fileno(), 2)])
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        errf.seek(0)
        err = errf.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed: {err.decode()[-2000:]}")
    return wall, usage.ru_maxrss, err


def median_of(make_cmd, prepare=None, env=None):
    walls, rss = [], []
    for _ in range(RUNS):
        if prepare:
            prepare()
        wall, peak, _ = timed_rss(make_cmd(), env)
        walls.append(wall)
        rss.append(peak)
    return statistics.median(walls), max(rss)


def make_files(root: Path) -> int:
    rng = random.Random(20261127)
    total = 0
    for i in range(FILES):
        size = int(1024 * (1024 ** rng.random()))  # log-uniform 1 KiB .. 1 MiB
        sub = root / f"dept-{i % 8}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"doc-{i:05}.bin").write_bytes(rng.randbytes(size))
        total += size
    return total


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="docvault-bench-"))
    cache = work / "cache"
    results: dict[str, dict] = {}
    try:
        src = work / "src"
        total = make_files(src)
        dst = work / "dst"

        def fresh_dst():
            shutil.rmtree(dst, ignore_errors=True)
            dst.mkdir()

        runner_env = {"DOCVAULT_WASM": str(WASM), "DOCVAULT_CACHE_DIR": str(cache)}
        # Warm the module cache and the page cache once.
        timed_rss([str(RUNNER), "run", "--", "--version"], runner_env)
        timed_rss([str(RUNNER), "--timeout", "0", "run", "--", "--version"], runner_env)
        timed_rss([str(WASMTIME), "run", str(WASM), "--version"])  # its own cache, on by default
        timed_rss([str(NATIVE), "manifest", "--source", str(src), *DAY])

        backups = {
            "native": lambda: [str(NATIVE), "backup", "--source", str(src), "--dest", str(dst), *DAY, "-q"],
            "runner": lambda: [str(RUNNER), "backup", "--source", str(src), "--dest", str(dst), *DAY, "-q"],
            "wasmtime run": lambda: [str(WASMTIME), "run", "--dir", f"{src}::/src", "--dir", f"{dst}::/dst",
                                     str(WASM), "backup", "--source", "/src", "--dest", "/dst", *DAY, "-q"],
        }
        for name, cmd in backups.items():
            wall, rss = median_of(cmd, fresh_dst, runner_env)
            results[f"backup/{name}"] = {"seconds": wall, "rss_kib": rss}

        scans = {
            "native": lambda: [str(NATIVE), "manifest", "--source", str(src), *DAY],
            "runner": lambda: [str(RUNNER), "run", "--dir", f"{src}::/src::ro", "--", "manifest", "--source", "/src", *DAY],
            "runner --timeout 0": lambda: [str(RUNNER), "--timeout", "0", "run", "--dir", f"{src}::/src::ro", "--",
                                           "manifest", "--source", "/src", *DAY],
            "wasmtime run": lambda: [str(WASMTIME), "run", "--dir", f"{src}::/src", str(WASM), "manifest", "--source", "/src", *DAY],
        }
        for name, cmd in scans.items():
            wall, rss = median_of(cmd, None, runner_env)
            results[f"scan/{name}"] = {"seconds": wall, "rss_kib": rss}

        big = work / "big.json"
        with big.open("wb") as f:
            subprocess.run([str(NATIVE), "manifest", "--generate", str(MANIFEST_DOCS), *DAY], stdout=f, check=True)
        validates = {
            "native": lambda: [str(NATIVE), "validate", str(big)],
            "runner": lambda: [str(RUNNER), "run", "--dir", f"{work}::/w::ro", "--", "validate", "/w/big.json"],
            "runner --timeout 0": lambda: [str(RUNNER), "--timeout", "0", "run", "--dir", f"{work}::/w::ro", "--",
                                           "validate", "/w/big.json"],
            "wasmtime run": lambda: [str(WASMTIME), "run", "--dir", f"{work}::/w", str(WASM), "validate", "/w/big.json"],
        }
        for name, cmd in validates.items():
            wall, rss = median_of(cmd, None, runner_env)
            results[f"validate/{name}"] = {"seconds": wall, "rss_kib": rss}

        # Start-up: cached module load + instantiation, as the runner logs them.
        loads, insts = [], []
        for _ in range(max(RUNS, 10)):
            _, _, err = timed_rss([str(RUNNER), "run", "--", "--version"],
                                  {**runner_env, "DOCVAULT_LOG": "docvault_wasmtime=debug"})
            text = err.decode()
            assert "source=Cached" in text, text
            loads.append(int(re.search(r"load_us=(\d+)", text).group(1)))
            insts.append(int(re.search(r"instantiate_us=(\d+)", text).group(1)))
        results["startup/runner cached load"] = {"microseconds": statistics.median(loads)}
        results["startup/runner instantiate"] = {"microseconds": statistics.median(insts)}
        for name, cmd in {
            "runner": lambda: [str(RUNNER), "run", "--", "--version"],
            "wasmtime run": lambda: [str(WASMTIME), "run", str(WASM), "--version"],
            "native": lambda: [str(NATIVE), "--version"],
        }.items():
            wall, rss = median_of(cmd, None, runner_env)
            results[f"startup/{name} --version"] = {"seconds": wall, "rss_kib": rss}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    meta = {"files": FILES, "bytes": total, "manifest_docs": MANIFEST_DOCS, "runs": RUNS}
    out = Path("target/bench/sandbox.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")

    mb = total / 1e6
    print(f"{FILES} files, {mb:.0f} MB (log-uniform 1 KiB..1 MiB); median of {RUNS} runs\n")
    print("| workload | host | seconds | files/s | MB/s | vs native | peak RSS |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for kind in ("backup", "scan", "validate"):
        base = results[f"{kind}/native"]["seconds"]
        for host in ("native", "runner", "runner --timeout 0", "wasmtime run"):
            r = results.get(f"{kind}/{host}")
            if r is None:
                continue
            s = r["seconds"]
            rate = f"{FILES / s:,.0f}" if kind != "validate" else f"{MANIFEST_DOCS / s:,.0f} docs/s"
            mbs = f"{mb / s:,.0f}" if kind != "validate" else "-"
            print(f"| {kind} | {host} | {s:.2f} | {rate} | {mbs} | {s / base:.2f}x | {r['rss_kib'] / 1024:.0f} MiB |")
    print()
    print(f"runner start-up, cached module: load {results['startup/runner cached load']['microseconds'] / 1000:.2f} ms, "
          f"instantiate {results['startup/runner instantiate']['microseconds'] / 1000:.2f} ms")
    for host in ("native", "runner", "wasmtime run"):
        r = results[f"startup/{host} --version"]
        print(f"`{host} --version` end to end: {r['seconds'] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
