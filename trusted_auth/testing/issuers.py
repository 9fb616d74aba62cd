"""Real test issuers, nothing mocked: key pairs, token signing, and a JWKS served over HTTPS on
127.0.0.1 that any client verifies against the test CA.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://issuer.test/auth/v1"
AUDIENCE = "authenticated"

__all__ = ["AUDIENCE", "DROP", "ISSUER", "JwksIssuer", "SigningPair", "default_claims"]


@dataclass
class SigningPair:
    """A private key that signs test tokens, with its public forms."""

    private_key: Any
    kid: str
    alg: str

    @classmethod
    def rsa(cls, bits: int = 2048, alg: str = "RS256") -> SigningPair:
        return cls(
            rsa.generate_private_key(public_exponent=65537, key_size=bits),
            f"kid-{uuid.uuid4().hex[:12]}",
            alg,
        )

    @classmethod
    def ec(cls, curve: ec.EllipticCurve | None = None, alg: str = "ES256") -> SigningPair:
        return cls(
            ec.generate_private_key(curve or ec.SECP256R1()), f"kid-{uuid.uuid4().hex[:12]}", alg
        )

    @property
    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            )
            .decode()
        )

    @property
    def public_jwk(self) -> dict[str, Any]:
        algorithm = RSAAlgorithm if isinstance(self.private_key, rsa.RSAPrivateKey) else ECAlgorithm
        jwk = json.loads(algorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "alg": self.alg, "use": "sig"})
        return jwk

    def sign(
        self, claims: dict[str, Any], headers: dict[str, Any] | None = None, with_kid: bool = True
    ) -> str:
        all_headers = {"kid": self.kid} if with_kid else {}
        all_headers.update(headers or {})
        return jwt.encode(claims, self.private_key, algorithm=self.alg, headers=all_headers)


def default_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": f"ext-{uuid.uuid4().hex[:8]}",
        "email": "ada@example.com",
        "email_verified": True,
        "jti": f"jti-{uuid.uuid4()}",
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not DROP}


DROP = object()  # pass as a claim value to leave the claim out


@dataclass
class JwksIssuer:
    """An identity provider's JWKS endpoint over real TLS on 127.0.0.1."""

    keys: list[SigningPair]
    server: ThreadingHTTPServer | None = None
    requests: int = 0
    down: bool = False
    extra_keys: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"https://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"

    @property
    def signer(self) -> SigningPair:
        return self.keys[-1]

    def document(self) -> dict[str, Any]:
        return {"keys": [pair.public_jwk for pair in self.keys] + self.extra_keys}

    def rotate(self, keep_old: bool = False) -> SigningPair:
        new = SigningPair.rsa()
        self.keys = [*self.keys, new] if keep_old else [new]
        return new

    def start(self, ssl_context: ssl.SSLContext) -> None:
        """Serve the JWKS at ``url``; 503 while ``down``; counts ``requests``."""
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                with issuer.lock:
                    issuer.requests += 1
                if issuer.down:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(issuer.document()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
        # A short poll: socketserver's default 0.5 s would be added to every stop().
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
