"""Step Functions on moto with the real `bootstrap` as its Lambda function.

moto's Step Functions interpreter executes state machines (a DISTRIBUTED Map with an S3
ItemReader included), but its Lambda cannot run a `provided.al2023` function without Docker.
Its interpreter sends every AWS call to http://localhost:$MOTO_PORT, so moto is started with
MOTO_PORT pointing at this router: the router passes every request to moto, except Lambda
`Invoke`, which it hands to the real `bootstrap` process through a local Lambda Runtime API
(runtime_api.py) and answers as Lambda does (a function error as `X-Amz-Function-Error` with
the error's type and message).

Like Lambda, each invocation in flight has its own `bootstrap` process (an idle one is reused,
else one more is started), so a process killed in one invocation affects no other.

Faults are injected here, where Lambda would cause them: `kill_shard` kills the bootstrap while
it runs that shard (its invocation then fails as `Sandbox.Timedout`, as a killed or timed-out
Lambda does, and a fresh bootstrap serves the retry); `before_commit` runs before a commit event
is handed over (a test deletes or alters a part there).
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import runtime_api
import stack

INVOKE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations")


@dataclass
class Router:
    moto_port: int
    start_function: Callable[[], runtime_api.Function]
    server: ThreadingHTTPServer | None = None
    idle: list[runtime_api.Function] = field(default_factory=list)
    started: list[runtime_api.Function] = field(default_factory=list)
    kill_shard: int | None = None
    before_commit: Callable[[], None] | None = None
    invocations: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def invoke(self, event: dict) -> tuple[bool, dict]:
        with self.lock:
            self.invocations.append(event)
            while self.idle and self.idle[-1].process.poll() is not None:
                self.idle.pop()
            function = self.idle.pop() if self.idle else None
        if function is None:
            function = self.start_function()
            with self.lock:
                self.started.append(function)
        action = event.get("action")
        if action == "commit" and self.before_commit:
            hook, self.before_commit = self.before_commit, None
            hook()
        if action == "backup_shard" and self.kill_shard is not None and \
                any(i.get("index") == self.kill_shard for i in event.get("Items", [])):
            self.kill_shard = None
            function.api.events.put(("killed-" + str(time.time()), json.dumps(event).encode()))
            time.sleep(0.8)  # mid-shard: some documents stored, no part yet
            function.process.kill()
            function.process.wait()
            return False, {"errorType": "Sandbox.Timedout",
                           "errorMessage": "the function was killed while it ran the shard"}
        result = function.invoke(event, timeout=600)
        with self.lock:
            self.idle.append(function)
        return result.ok, result.payload

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
        for function in self.started:
            function.stop()


def start(start_function: Callable[[], runtime_api.Function]) -> Router:
    """A router on 127.0.0.1 and a free port; `attach` it to moto with `router.moto_port`."""
    router = Router(moto_port=0, start_function=start_function)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for k, v in headers.items():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.command == "POST" and INVOKE.match(self.path):
                ok, payload = router.invoke(json.loads(body or b"{}"))
                headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST"}
                if not ok:
                    headers["X-Amz-Function-Error"] = "Unhandled"
                return self._reply(200, json.dumps(payload).encode(), headers)
            url = f"http://127.0.0.1:{router.moto_port}{self.path}"
            request = urllib.request.Request(url, data=body if body else None, method=self.command,
                                             headers={k: v for k, v in self.headers.items()
                                                      if k.lower() not in ("host", "content-length")})
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    return self._reply(response.status, response.read(), dict(response.headers))
            except urllib.error.HTTPError as e:
                return self._reply(e.code, e.read(), dict(e.headers))

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    router.server = ThreadingHTTPServer(("127.0.0.1", stack.free_port()), Handler)
    router.server.daemon_threads = True
    threading.Thread(target=router.server.serve_forever, daemon=True).start()
    return router
