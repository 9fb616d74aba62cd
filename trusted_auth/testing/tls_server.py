"""The Django project served over real TLS on loopback, in a background thread of the test process
(Django's ``LiveServerThread`` behind an ``ssl.SSLContext``). Use it with ``transactional_db``, so
the server threads see the rows a test writes.
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
from typing import Any

from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connections
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler

# Bounds a handler thread blocked on a client that keeps its connection open, so stopping the
# server (which joins those threads) never hangs.
CONNECTION_TIMEOUT_SECONDS = 5.0


class TLSWSGIServer(ThreadedWSGIServer):
    """Django's threaded WSGI server speaking HTTPS only. The handshake runs in each request's
    thread, so one slow client cannot stall the accept loop; ``server_close()`` ends kept-alive
    connections and joins every request thread, so nothing uses the database after a stop.
    """

    daemon_threads = False
    block_on_close = True

    def __init__(self, *args: Any, ssl_context: ssl.SSLContext, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.socket = ssl_context.wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )
        # wsgi.url_scheme is "https", so request.is_secure() and build_absolute_uri() are right.
        self.base_environ["HTTPS"] = "on"
        self._open_connections: set[socket.socket] = set()
        self._open_connections_lock = threading.Lock()

    def serve_forever(self, poll_interval: float = 0.05) -> None:
        # socketserver's default 0.5 s poll would add half a second to every test's teardown.
        super().serve_forever(poll_interval)

    def get_request(self) -> tuple[Any, Any]:
        connection, address = super().get_request()
        connection.settimeout(CONNECTION_TIMEOUT_SECONDS)
        with self._open_connections_lock:
            self._open_connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self._open_connections_lock:
            self._open_connections.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        # A keep-alive connection (a client's pool, or one held by an exception's traceback)
        # would keep its thread waiting for a next request: end them as a real server does.
        # Shut the OS socket down (not the TLS layer, which belongs to the handler thread): the
        # handler reads EOF and returns.
        with self._open_connections_lock:
            open_connections = list(self._open_connections)
        for connection in open_connections:
            try:
                socket.socket.shutdown(connection, socket.SHUT_RDWR)
            except OSError:
                pass
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that refuses our certificate (a test proving verification is on) is expected.
        if isinstance(sys.exc_info()[1], ssl.SSLError | TimeoutError):
            return
        super().handle_error(request, client_address)


class TLSLiveServerThread(LiveServerThread):
    server_class = TLSWSGIServer

    def __init__(self, host: str, ssl_context: ssl.SSLContext, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self.ssl_context = ssl_context

    def _create_server(self, connections_override: dict[str, Any] | None = None) -> TLSWSGIServer:
        return self.server_class(
            (self.host, self.port),
            QuietWSGIRequestHandler,
            allow_reuse_address=False,
            connections_override=connections_override,
            ssl_context=self.ssl_context,
        )


class TLSLiveServer:
    """Start and stop a ``TLSLiveServerThread`` on ``127.0.0.1`` with an ephemeral port; an
    in-memory SQLite connection is shared with the server threads, as in ``live_server``."""

    host = "127.0.0.1"

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self.connections_override = {
            conn.alias: conn
            for conn in connections.all()
            if conn.vendor == "sqlite" and conn.is_in_memory_db()  # type: ignore[attr-defined]
        }
        self.thread = TLSLiveServerThread(
            self.host,
            ssl_context,
            static_handler=lambda app: app,
            connections_override=self.connections_override,
        )
        self.thread.daemon = True

    @property
    def port(self) -> int:
        return self.thread.port

    @property
    def url(self) -> str:
        """The base URL without trailing slash, e.g. ``https://127.0.0.1:54321``."""
        return f"https://{self.host}:{self.port}"

    def start(self) -> None:
        for conn in self.connections_override.values():
            conn.inc_thread_sharing()
        self.thread.start()
        self.thread.is_ready.wait()
        if self.thread.error:
            error = self.thread.error
            self.stop()
            raise error

    def stop(self) -> None:
        self.thread.terminate()
        for conn in self.connections_override.values():
            conn.dec_thread_sharing()
