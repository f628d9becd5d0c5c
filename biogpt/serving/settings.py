"""The service's typed settings (the ``serve`` block of ``serve.yaml``, and where it listens)."""

from __future__ import annotations

from dataclasses import dataclass

LOCALHOST = "127.0.0.1"
# The addresses LitServer.run binds to (it refuses any other).
BIND_ADDRESSES: tuple[str, ...] = (LOCALHOST, "0.0.0.0", "::")


@dataclass(frozen=True)
class ServeSettings:
    """How the service batches and what one request may ask for.

    ``max_batch_size`` requests (each with its texts) are handed to the engine together, waiting up to
    ``batch_timeout`` seconds for a batch to fill; ``workers`` inference processes each hold the model.
    A request carries at most ``max_texts`` texts of 1 to ``max_chars`` characters, and may override
    the decoding settings with ``max_new_tokens`` and ``beam`` at most the limits here (they bound the
    work one request can cost). ``timeout``: seconds a request may wait for its answer. ``data_dir``:
    where the task's data is read for the page's example (None: where the model's task record says).
    """

    host: str = LOCALHOST
    port: int = 8000
    max_batch_size: int = 8
    batch_timeout: float = 0.05
    workers: int = 1
    max_chars: int = 20_000
    max_texts: int = 16
    max_new_tokens: int = 512
    max_beam: int = 5
    timeout: float = 600.0
    data_dir: str | None = None
