"""A bounded memo dict filled in batches, the caching primitive of the tokenizer's hot loop."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from itertools import compress, repeat
from operator import is_
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(dict[K, V]):
    """Key -> value, the values of keys first seen together computed by one ``build_many(keys)`` call.

    Building in batches is what makes a cold cache fast: the tokenizer's builders run their regular
    expressions and BPE over all new keys at once instead of paying a round of calls per key. The cache is
    a dict so that a hit is a C-level lookup, and it is emptied before it would exceed ``max_size`` entries:
    that bounds memory on unbounded corpora (to ``max_size`` or one batch, whichever is larger), and since
    the frequent keys come back at once, it costs far less than LRU bookkeeping on every hit.
    """

    def __init__(self, build_many: Callable[[list[K]], list[V]], max_size: int) -> None:
        super().__init__()
        self._build_many = build_many
        self._max_size = max_size

    def get_many(self, keys: list[K]) -> list[V]:
        """The value of each key, building those of the keys not cached in one call. Values are never None."""
        values = list(map(self.get, keys))
        if None not in values:
            return values  # type: ignore[return-value]
        missing = list(dict.fromkeys(compress(keys, map(is_, values, repeat(None)))))
        if len(self) + len(missing) > self._max_size:
            self.clear()
            missing = list(dict.fromkeys(keys))
        self.update(zip(missing, self._build_many(missing), strict=True))
        return list(map(self.__getitem__, keys))
