"""A Lambda Runtime API on 127.0.0.1, enough to run the real `bootstrap` binary locally.

It serves the four endpoints a custom runtime uses (next invocation, response, error, init
error), hands out queued events one at a time, and collects each result. The binary under test
is the same one that ships in bootstrap.zip; only the Lambda service around it is stood in for.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PREFIX = "/2018-06-01/runtime"


@dataclass
class Result:
    ok: bool
    payload: dict
    error_type: str | None = None
    request_id: str = ""


@dataclass
class RuntimeApi:
    server: ThreadingHTTPServer
    events: "queue.Queue[tuple[str, bytes]]" = field(default_factory=queue.Queue)
    results: dict = field(default_factory=dict)
    done: threading.Condition = field(default_factory=threading.Condition)
    init_error: dict | None = None

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def invoke(self, event: dict, timeout: float = 120, request_id: str | None = None) -> Result:
        """Sends one event and waits for its result. `request_id` repeats an earlier invocation's
        id, as Lambda does when it retries a failed asynchronous invocation."""
        request_id = request_id or str(uuid.uuid4())
        self.events.put((request_id, json.dumps(event).encode()))
        with self.done:
            if not self.done.wait_for(lambda: request_id in self.results, timeout=timeout):
                raise TimeoutError(f"no result for {request_id} within {timeout}s")
            return self.results.pop(request_id)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start() -> RuntimeApi:
    api: RuntimeApi

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _reply(self, status: int, body: bytes = b"{}", headers: dict | None = None):
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != f"{PREFIX}/invocation/next":
                return self._reply(404)
            request_id, body = api.events.get()
            self._reply(200, body, {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": "4102444800000",
                "Lambda-Runtime-Invoked-Function-Arn":
                    "arn:aws:lambda:us-east-1:123456789012:function:docvault-e2e",
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
                "Content-Type": "application/json",
            })

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = self.path[len(PREFIX):].strip("/").split("/")
            if parts == ["init", "error"]:
                api.init_error = json.loads(body or b"{}")
                return self._reply(202)
            if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                ok = parts[2] == "response"
                payload = json.loads(body) if body else {}
                result = Result(ok, payload, None if ok else payload.get("errorType"), parts[1])
                with api.done:
                    api.results[parts[1]] = result
                    api.done.notify_all()
                return self._reply(202)
            return self._reply(404)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    api = RuntimeApi(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return api


@dataclass
class Function:
    """A running `bootstrap` process connected to a RuntimeApi."""

    api: RuntimeApi
    process: subprocess.Popen
    stdout_path: Path
    stderr_path: Path

    def invoke(self, event: dict, timeout: float = 120, request_id: str | None = None) -> Result:
        if self.process.poll() is not None:
            raise RuntimeError(f"bootstrap exited ({self.process.returncode}): {self.stderr()}")
        return self.api.invoke(event, timeout, request_id)

    def stdout_lines(self) -> list[str]:
        return self.stdout_path.read_text().splitlines()

    def emf(self) -> list[dict]:
        """The EMF metric lines printed so far."""
        out = []
        for line in self.stdout_lines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict) and "_aws" in doc:
                out.append(doc)
        return out

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.api.stop()


def start_function(binary: str, env: dict, workdir: Path) -> Function:
    api = start()
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": "docvault-e2e",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/docvault-e2e",
        "AWS_LAMBDA_LOG_STREAM_NAME": "e2e",
        **env,
    }
    stdout_path = workdir / f"bootstrap-{uuid.uuid4().hex[:8]}.stdout"
    stderr_path = stdout_path.with_suffix(".stderr")
    process = subprocess.Popen(
        [binary], env=full_env,
        stdout=stdout_path.open("wb"), stderr=stderr_path.open("wb"),
    )
    return Function(api, process, stdout_path, stderr_path)
