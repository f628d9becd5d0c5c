"""BioGPT: pre-training, prompt fine-tuning and evaluation of BioGPT-style generative models.

The public classes are imported on first use, so command-line tools that need no torch (the PubMed
corpus builder, the scorers) start fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "BioGPT": "biogpt.model",
    "BioGPTConfig": "biogpt.model",
    "KVCache": "biogpt.model",
    "BioGPTTokenizer": "biogpt.tokenizer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'biogpt' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
