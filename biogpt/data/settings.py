"""The ``data`` block's settings, apart from the DataModule that takes them, so that the config's schema
(:mod:`biogpt.experiment.config.schema`) reads them without importing Lightning or ``datasets``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class DataSettings:
    """The ``data`` config block as the DataModule uses it.

    ``cache_dir`` holds the tokenized splits; ``splits`` maps a role (train, valid, test) to the
    release split playing it; ``max_tokens`` is fairseq's token budget of a micro-batch, ``batch_size``
    a fixed number of examples instead (set exactly one); ``train_shots`` draws that many training
    examples with the run's seed (few-shot).
    """

    cache_dir: Path = Path(".cache/biogpt")
    splits: Mapping[str, str] = field(default_factory=dict)
    max_tokens: int | None = 1024
    batch_size: int | None = None
    num_workers: int = 0
    train_shots: int | None = None
