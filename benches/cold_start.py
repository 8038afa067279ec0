"""The Lambda's cold start, as BENCHMARKS.md reports it: from the exec of `bootstrap` to its
first Runtime API `GET /invocation/next` (the process has read its configuration, built its
AWS clients and is ready for an event; Lambda's own sandbox start is not in it).

  cold_start.py RUNS LABEL=BINARY [LABEL=BINARY ...]

Each run starts every binary once, in turn (side by side, so the machine's noise falls on all
of them alike), against a minimal Runtime API on 127.0.0.1 that answers no event; the process
is killed once it asks. Prints one JSON line per binary: median, min and max in milliseconds.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NEXT = "/2018-06-01/runtime/invocation/next"


class Api:
    """Records when the first `next` request arrives."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.at_ns = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == NEXT and not api.asked.is_set():
                    api.at_ns = time.perf_counter_ns()
                    api.asked.set()
                # No event: the request is held until the process is killed, as Lambda holds
                # it until an event arrives.
                api.stopped.wait()

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # the killed process's connection

        self.stopped = threading.Event()
        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def stop(self) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()


def once(binary: str) -> float:
    """Milliseconds from exec to the first `next` request."""
    api = Api()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": "docvault-bench",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "BACKUP_BUCKET": "docvault-bench",
        "ENVIRONMENT": "dev",
        "KMS_KEY_ID": "none",
        "RUST_LOG": "info",
    }
    try:
        start = time.perf_counter_ns()
        process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        if not api.asked.wait(timeout=30):
            raise RuntimeError(f"{binary} never asked for an event")
        return (api.at_ns - start) / 1e6
    finally:
        process.kill()
        process.wait()
        api.stop()


def main() -> None:
    runs = int(sys.argv[1])
    binaries = dict(arg.split("=", 1) for arg in sys.argv[2:])
    times: dict[str, list[float]] = {label: [] for label in binaries}
    for label, binary in binaries.items():  # one unmeasured start each: page cache warm
        once(binary)
    for _ in range(runs):
        for label, binary in binaries.items():
            times[label].append(once(binary))
    for label, ms in times.items():
        print(json.dumps({"binary": label, "runs": runs, "median_ms": round(statistics.median(ms), 2),
                          "min_ms": round(min(ms), 2), "max_ms": round(max(ms), 2)}))


if __name__ == "__main__":
    main()
