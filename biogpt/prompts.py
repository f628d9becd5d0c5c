"""Prompts between source and target: learned virtual tokens, a text, or nothing.

As in the release, a soft prompt is ``N`` tokens ``learned1..learnedN`` appended to the vocabulary:
their embedding rows are the learned prompt vectors, so fine-tuned fairseq checkpoints (which carry
those rows) plug in unchanged, and the tokens also decode to the "learned1 ..." echo the release's
post-processing strips. A hard prompt is a text encoded with the tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from biogpt.model import BioGPT
from biogpt.tokenizer import BioGPTTokenizer

PROMPT_KINDS = ("soft", "hard", "none")
SOFT_INITS = ("random", "vocab")
LEARNED_PATTERN = "learned"


@dataclass(frozen=True)
class PromptConfig:
    """``kind`` soft|hard|none; ``length`` virtual tokens (soft); ``text`` (hard); ``init`` of new rows."""

    kind: str = "soft"
    length: int = 9
    text: str = ""
    init: str = "random"

    def __post_init__(self) -> None:
        if self.kind not in PROMPT_KINDS:
            raise ValueError(f"unknown prompt {self.kind!r}; valid prompts: {', '.join(PROMPT_KINDS)}")
        if self.kind == "soft" and self.length < 1:
            raise ValueError(f"prompt.length must be >= 1 for a soft prompt, got {self.length}")
        if self.kind == "hard" and not self.text.strip():
            raise ValueError("prompt.text must be a non-empty text for a hard prompt")
        if self.init not in SOFT_INITS:
            raise ValueError(f"unknown prompt.init {self.init!r}; valid choices: {', '.join(SOFT_INITS)}")

    @property
    def soft_tokens(self) -> list[str]:
        if self.kind != "soft":
            return []
        return [f"{LEARNED_PATTERN}{index}" for index in range(1, self.length + 1)]

    def echo(self) -> str:
        """What a model that learned to repeat the prompt generates first (stripped before parsing)."""
        return " ".join(self.soft_tokens) if self.kind == "soft" else self.text if self.kind == "hard" else ""


def prompt_ids(config: PromptConfig, tokenizer: BioGPTTokenizer) -> tuple[int, ...]:
    """Token ids of the prompt; adds the soft-prompt tokens to the tokenizer if it lacks them."""
    if config.kind == "soft":
        tokenizer.add_tokens(config.soft_tokens)
        return tuple(tokenizer.token_to_id(token) for token in config.soft_tokens)
    if config.kind == "hard":
        return tuple(tokenizer.encode(config.text))
    return ()


def fit_embeddings(model: BioGPT, vocab_size: int, init: str = "random", seed: int = 0) -> int:
    """Grow the (tied) token embedding to ``vocab_size`` rows; returns how many rows were added.

    New rows are drawn as fairseq initialises embeddings (normal, std ``d**-0.5``), or copied from
    randomly chosen vocabulary rows (``init="vocab"``), a common soft-prompt initialisation. Rows the
    model already has (a fine-tuned release checkpoint's learned prompt) are kept.
    """
    old = model.embed_tokens.weight
    added = vocab_size - old.shape[0]
    if added < 0:
        raise ValueError(
            f"the model has {old.shape[0]} embedding rows, more than the tokenizer's {vocab_size} ids"
        )
    if added == 0:
        return 0
    generator = torch.Generator().manual_seed(seed)
    if init == "vocab":
        rows = old.detach()[torch.randint(4, old.shape[0], (added,), generator=generator)].clone()
    else:
        rows = torch.randn(added, old.shape[1], generator=generator) * old.shape[1] ** -0.5
    embedding = torch.nn.Embedding(vocab_size, old.shape[1], padding_idx=model.config.pad_token_id)
    with torch.no_grad():
        embedding.weight.copy_(torch.cat([old.detach(), rows.to(old.dtype)]))
    model.embed_tokens = embedding.to(old.device)
    model.config = replace(model.config, vocab_size=vocab_size)
    return added
