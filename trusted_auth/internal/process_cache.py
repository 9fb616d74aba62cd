"""Process-local copies of security-relevant rows, valid while their generation is unchanged.

A ``GenerationCache`` keeps ``(generation, value)``: ``get()`` reads the counter (one query per
request for every cache together, see ``generations``) and refills from the database when it
moved, so a revoke or retire committed by any process is seen on the next request of every worker,
whatever the cache backend.

A value loaded inside a transaction is kept only once that transaction commits: the transaction
may hold a bump of its own that a rollback undoes, and the counter could later reach the same
number for a different state (which would then look current). Until the commit each call loads
again, so inside an uncommitted transaction the cache is simply not used.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import connection, transaction

from trusted_auth.internal import generations

T = TypeVar("T")

_instances: weakref.WeakSet[GenerationCache] = weakref.WeakSet()


class GenerationCache(Generic[T]):
    """``load()``'s result, kept per process until counter ``counter`` changes."""

    def __init__(self, counter: str, load: Callable[[], T]) -> None:
        self.counter = counter
        self._load = load
        self._entry: tuple[int, T] | None = None
        self._lock = threading.Lock()
        _instances.add(self)

    def get(self) -> T:
        """The value for the current generation, loaded from the database when it moved."""
        generation = generations.value(self.counter)
        entry = self._entry
        if entry is not None and entry[0] == generation:
            return entry[1]
        # Read the counter before loading: the value kept is at least as new as its generation.
        value = self._load()
        if connection.in_atomic_block:
            transaction.on_commit(lambda: self._store(generation, value))
        else:
            self._store(generation, value)
        return value

    def _store(self, generation: int, value: T) -> None:
        with self._lock:
            self._entry = (generation, value)

    def clear(self) -> None:
        """Forget the value: the next ``get()`` loads it again."""
        with self._lock:
            self._entry = None


def clear_all() -> None:
    """Forget every process cache (tests call this after truncating the database)."""
    for instance in list(_instances):
        instance.clear()
