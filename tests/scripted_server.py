"""A TLS server on loopback that answers whatever a test scripts: slow, huge, redirecting or
malformed JWKS responses for the fetcher's tests (``scripted_server`` fixture in conftest)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScriptedServer:
    """A TLS server on 127.0.0.1 whose every answer is written by ``respond(server, handler)``.

    ``requests`` lists the paths asked for; ``stopping`` tells a slow ``respond`` to give up,
    so stopping the server never waits on it.
    """

    def __init__(
        self, ssl_context, respond: Callable[[ScriptedServer, BaseHTTPRequestHandler], None]
    ) -> None:
        server = self
        self.requests: list[str] = []
        self.stopping = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.requests.append(self.path)
                try:
                    respond(server, self)
                except OSError:
                    pass  # the client gave up, as it should

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def send_body(
    handler: BaseHTTPRequestHandler,
    body: bytes,
    *,
    length: bool = True,
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    if length:
        handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def drip(
    server: ScriptedServer, handler: BaseHTTPRequestHandler, data: bytes, interval: float = 0.05
) -> None:
    for index in range(len(data)):
        if server.stopping.wait(interval):
            return
        handler.wfile.write(data[index : index + 1])
