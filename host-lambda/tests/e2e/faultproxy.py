"""A TCP proxy on 127.0.0.1 that can take the store away mid-run: `down()` closes the listener
and every open connection (clients see resets, then connection refused); `up()` listens again
on the same port."""

from __future__ import annotations

import socket
import threading


class FaultProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._conns: list[socket.socket] = []
        # Request paths (substrings) whose next request body gets one byte flipped in flight.
        self.corrupt_paths: list[bytes] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        self._listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener:
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _corrupt(self, data: bytes, state: dict) -> bytes:
        """Flips the first body byte of a request whose request line names a corrupt path."""
        buf = bytearray(data)
        start = 0
        if not state.get("armed"):
            line_end = buf.find(b"\r\n")
            request_line = bytes(buf[:line_end]) if line_end >= 0 else b""
            if request_line.startswith(b"PUT ") and any(p in request_line for p in self.corrupt_paths):
                state["armed"] = True
                state["in_headers"] = True
        if state.get("armed"):
            if state.get("in_headers"):
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return bytes(buf)
                state["in_headers"] = False
                start = end + 4
            if start < len(buf):
                buf[start] ^= 0xFF
                state["armed"] = False
        return bytes(buf)

    def _pipe(self, src: socket.socket, dst: socket.socket, requests: bool = False) -> None:
        state: dict = {}
        try:
            while data := src.recv(65536):
                if requests and self.corrupt_paths:
                    data = self._corrupt(data, state)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
