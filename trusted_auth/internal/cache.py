"""The one per-process cache: bounded, thread-safe, each copy tagged with what it was made from.

Beyond ``size`` entries the least recently used goes, so a flood of distinct keys never grows
the process. ``fetch`` tags copies of database rows with the generation of ``counter``
(``internal/generations.py``), so a change committed by any process is seen on every worker's
next request. A copy loaded inside a transaction is kept only once it commits: a rollback may
undo a bump of its own, and the counter could later reach the same number for another state.

Failure mode: the counter lives in the database; when it cannot be read ``fetch`` raises (503),
never serving a stale copy. Values are shared by the threads of a process: never modify one.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import partial
from typing import Generic, TypeVar

from django.db import connection, transaction

from trusted_auth.internal import generations

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_instances: weakref.WeakSet[ProcessCache] = weakref.WeakSet()


class ProcessCache(Generic[K, V]):
    """At most ``size`` values by key; ``counter`` names the generation ``fetch`` checks."""

    def __init__(self, size: int, *, counter: str = "") -> None:
        self.size = size
        self.counter = counter
        self._entries: OrderedDict[K, tuple[Hashable, float, V]] = OrderedDict()
        self._lock = threading.Lock()
        _instances.add(self)

    def get(
        self, key: K, tag: Hashable = None, *, now: float = 0.0, max_age: float = math.inf
    ) -> V | None:
        """The value stored under ``key`` with ``tag`` less than ``max_age`` before ``now``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != tag or now - entry[1] >= max_age:
                return None
            self._entries.move_to_end(key)
            return entry[2]

    def put(self, key: K, tag: Hashable, value: V, *, now: float = 0.0) -> None:
        with self._lock:
            self._entries[key] = (tag, now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def fetch(self, key: K, load: Callable[[], V], *, max_age: float = math.inf) -> V:
        """``load()``, kept under ``key`` while the ``counter`` generation is unchanged and the
        copy is younger than ``max_age`` seconds."""
        assert self.counter, "fetch needs the generation counter its copies depend on"
        # The counter first, the rows second: a change committed between the two reads leaves a
        # copy newer than its counter (loaded once more), never an old copy under a new counter.
        generation = generations.value(self.counter)
        now = time.monotonic()
        value = self.get(key, generation, now=now, max_age=max_age)
        if value is None:
            value = load()
            store = partial(self.put, key, generation, value, now=now)
            if connection.in_atomic_block:
                transaction.on_commit(store)
            else:
                store()
        return value

    def clear(self) -> None:
        """Forget every copy: the next ``fetch`` loads again."""
        with self._lock:
            self._entries.clear()


def clear_all() -> None:
    """Forget every copy in this process (tests call this after truncating the database)."""
    for instance in list(_instances):
        instance.clear()
