"""A bounded memo dict, the caching primitive of the tokenizer's hot loop."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(dict[K, V]):
    """Key -> ``build(key)``, computed on first use.

    A dict subclass so that a hit is a single C-level lookup (``cache[key]``); ``__missing__`` builds the
    value. It is emptied when it reaches ``max_size`` entries: that bounds memory on unbounded corpora,
    and since the frequent keys come back at once, it costs far less than LRU bookkeeping on every hit.
    """

    def __init__(self, build: Callable[[K], V], max_size: int) -> None:
        super().__init__()
        self._build = build
        self._max_size = max_size

    def __missing__(self, key: K) -> V:
        if len(self) >= self._max_size:
            self.clear()
        value = self[key] = self._build(key)
        return value
