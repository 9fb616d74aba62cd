"""A pool of real RSA keys for a test session, so a suite does not generate a key per test."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["KeyPool"]

_real_generate = rsa.generate_private_key


class KeyPool:
    """Hands out real RSA private keys (exponent 65537), reusing them between tests, never within
    one: keys taken inside ``lease()`` return to the pool when it ends, keys taken outside any
    lease never do. No two holders share a key (a rotation always gets a new one).
    """

    def __init__(self) -> None:
        self._free: dict[int, list[rsa.RSAPrivateKey]] = {}
        self._leased: list[tuple[int, rsa.RSAPrivateKey]] | None = None
        self._lock = threading.Lock()
        self.generated = 0

    def take(self, key_size: int = 2048) -> rsa.RSAPrivateKey:
        with self._lock:
            free = self._free.setdefault(key_size, [])
            key = free.pop() if free else None
        if key is None:
            key = _real_generate(public_exponent=65537, key_size=key_size)
            with self._lock:
                self.generated += 1
        with self._lock:
            if self._leased is not None:
                self._leased.append((key_size, key))
        return key

    def generate_private_key(
        self, public_exponent: int, key_size: int, backend: Any = None
    ) -> rsa.RSAPrivateKey:
        """A drop-in for ``cryptography``'s ``rsa.generate_private_key``."""
        if public_exponent != 65537:
            return _real_generate(public_exponent=public_exponent, key_size=key_size)
        return self.take(key_size)

    @contextmanager
    def lease(self) -> Iterator[None]:
        """Keys taken in the block return to the pool when it ends (wrap one test in it)."""
        with self._lock:
            self._leased = []
        try:
            yield
        finally:
            with self._lock:
                for key_size, key in self._leased or []:
                    self._free.setdefault(key_size, []).append(key)
                self._leased = None

    @contextmanager
    def installed(self) -> Iterator[KeyPool]:
        """Serve every ``rsa.generate_private_key`` call in this process from the pool (the
        product's signing-key generation and the test issuers' alike) while the block runs."""
        original: Callable[..., Any] = rsa.generate_private_key
        rsa.generate_private_key = self.generate_private_key
        try:
            yield self
        finally:
            rsa.generate_private_key = original
