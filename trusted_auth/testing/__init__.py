"""Test tooling for projects that use trusted_auth, as a pytest plugin: real issuers, keys and
TLS servers, nothing mocked. Enable it with ``pytest_plugins = ["trusted_auth.testing"]`` (needs
pytest-django and the ``testing`` extra); ``pytest --fixtures`` describes each fixture.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from trusted_auth.testing.clock import MovableClock
from trusted_auth.testing.issuers import (
    AUDIENCE,
    DROP,
    ISSUER,
    JwksIssuer,
    SigningPair,
    default_claims,
)
from trusted_auth.testing.keys import KeyPool
from trusted_auth.testing.tls_server import TLSLiveServer

if TYPE_CHECKING:
    import trustme

    from trusted_auth.models import TrustedAuthTokenProfile

__all__ = [
    "AUDIENCE",
    "DROP",
    "ISSUER",
    "JwksIssuer",
    "KeyPool",
    "MovableClock",
    "SigningPair",
    "TLSLiveServer",
    "default_claims",
]


@pytest.fixture(scope="session")
def rsa_key_pool() -> Iterator[KeyPool]:
    """Real RSA keys, generated at most ``KeyPool.size`` per key size for the whole session and
    installed as ``rsa.generate_private_key``. Opt in with an autouse fixture that wraps each
    test in ``with rsa_key_pool.lease(): yield``."""
    pool = KeyPool()
    with pool.installed():
        yield pool


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """A throw-away certificate authority (trustme) that the test servers' certificates chain to."""
    import trustme  # the ``testing`` extra; imported when a test asks for TLS

    return trustme.CA()


@pytest.fixture(scope="session")
def ca_bundle(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The path of the test CA's PEM file."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def server_ssl_context(tls_ca: trustme.CA) -> ssl.SSLContext:
    """A server TLS context for 127.0.0.1 and localhost, signed by the test CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def issuer(
    server_ssl_context: ssl.SSLContext, ca_bundle: str, settings: Any
) -> Iterator[JwksIssuer]:
    """A JWKS issuer served over TLS on loopback, with one RSA key to start with, that
    ``TRUSTED_AUTH`` may fetch from. ``issuer.signer.sign(claims)`` mints a token;
    ``issuer.rotate()``, ``issuer.down = True`` and ``issuer.requests`` drive and observe it."""
    settings.TRUSTED_AUTH = {
        **getattr(settings, "TRUSTED_AUTH", {}),
        "JWKS_ALLOW_PRIVATE_NETWORKS": True,
        "JWKS_CA_BUNDLE": ca_bundle,
    }
    jwks_issuer = JwksIssuer(keys=[SigningPair.rsa()])
    jwks_issuer.start(server_ssl_context)
    yield jwks_issuer
    jwks_issuer.stop()


@pytest.fixture(scope="session")
def signer() -> SigningPair:
    """A session-wide RSA ``SigningPair``: what ``token_factory`` signs with."""
    return SigningPair.rsa()


@pytest.fixture
def token_factory(signer: SigningPair) -> Callable[..., str]:
    """Sign test tokens: ``token_factory(email=…, exp=DROP, headers={…}, key=other_pair)``."""

    def make(
        key: SigningPair | None = None,
        headers: dict[str, Any] | None = None,
        with_kid: bool = True,
        **claims: Any,
    ) -> str:
        return (key or signer).sign(default_claims(**claims), headers=headers, with_kid=with_kid)

    return make


@pytest.fixture
def profile_factory(db: None) -> Callable[..., TrustedAuthTokenProfile]:
    """Create profiles: ``profile_factory(pem_keys=[signer.public_pem], can_jit_provision=True)``
    or ``profile_factory(jwks_url=issuer.url)``; any other model field as a keyword."""
    # Imported here: a pytest plugin is imported before Django's app registry is ready.
    from trusted_auth.models import ProfilePublicKey, TrustedAuthTokenProfile

    def make(
        *, pem_keys: list[str] | None = None, jwks_url: str = "", **fields: Any
    ) -> TrustedAuthTokenProfile:
        fields.setdefault("name", "Test issuer")
        fields.setdefault("issuer", ISSUER)
        fields.setdefault("audience", AUDIENCE)
        fields.setdefault("attribute_mapping", {"email": "email", "token_id": "jti"})
        key_type = (
            TrustedAuthTokenProfile.KeyType.JWK if jwks_url else TrustedAuthTokenProfile.KeyType.PEM
        )
        profile = TrustedAuthTokenProfile.objects.create(
            public_key_type=key_type, jwks_url=jwks_url, **fields
        )
        for pem in pem_keys or []:
            ProfilePublicKey.objects.create(profile=profile, public_key_pem=pem)
        return profile

    return make


@pytest.fixture
def tls_live_server(
    transactional_db: None, server_ssl_context: ssl.SSLContext, settings: Any
) -> Iterator[TLSLiveServer]:
    """The Django project over HTTPS on 127.0.0.1; our session JWT ``iss`` is its base URL."""
    server = TLSLiveServer(server_ssl_context)
    server.start()
    settings.TRUSTED_AUTH = {**getattr(settings, "TRUSTED_AUTH", {}), "ISSUER": server.url}
    yield server
    server.stop()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> MovableClock:
    """Advance the time-based rules with ``clock.advance(seconds)`` instead of sleeping."""
    return MovableClock(monkeypatch)
