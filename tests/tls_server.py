"""Kept for the suite's imports: the TLS live server lives in ``trusted_auth.testing``."""

from trusted_auth.testing.tls_server import (  # noqa: F401
    CONNECTION_TIMEOUT_SECONDS,
    TLSLiveServer,
    TLSLiveServerThread,
    TLSWSGIServer,
)
