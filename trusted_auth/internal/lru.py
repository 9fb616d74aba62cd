"""A bounded, thread-safe least-recently-used map for per-process copies.

Each entry carries a tag (the state it was made from: a generation counter, a fingerprint of
the claims) and the time it was stored. ``get`` returns a value only while the caller's tag is
the same and the entry is younger than ``max_age``; otherwise the caller makes a new one and
``put``s it. The oldest-used entries go first once ``size`` is reached, so a flood of distinct
keys never grows the process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TaggedLru(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[K, tuple[Hashable, float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, tag: Hashable, *, now: float, max_age: float) -> V | None:
        """The value stored under ``key`` with ``tag`` less than ``max_age`` before ``now``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != tag or now - entry[1] >= max_age:
                return None
            self._entries.move_to_end(key)
            return entry[2]

    def put(self, key: K, tag: Hashable, value: V, *, now: float) -> None:
        with self._lock:
            self._entries[key] = (tag, now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
