"""Prompts between source and target: learned virtual tokens, a text, or nothing; and the sequence
layout that places them.

As in the release, a soft prompt is ``N`` tokens ``learned1..learnedN`` appended to the vocabulary:
their embedding rows are the learned prompt vectors, so fine-tuned fairseq checkpoints (which carry
those rows) plug in unchanged, and the tokens also decode to the "learned1 ..." echo the release's
post-processing strips. A hard prompt is a text encoded with the tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from biogpt.data.sequences import EncoderLayout, SequenceLayout
from biogpt.model.backbone import ENCODER_DECODER, Backbone
from biogpt.model.loading import BIOGPT_FAMILY
from biogpt.tokenizer.protocol import Tokenizer

PROMPT_KINDS = ("soft", "hard", "none")
SOFT_INITS = ("random", "vocab")
LEARNED_PATTERN = "learned"


@dataclass(frozen=True)
class PromptSettings:
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


@dataclass(frozen=True)
class PromptTokens:
    """A prompt's token ids, and the soft-prompt tokens the tokenizer lacks.

    ``new_tokens`` get the ids after the tokenizer's vocabulary, in order: the caller adds them
    (``tokenizer.add_tokens``) and grows the model's embedding to match (:func:`fit_embeddings`), so
    both changes are visible where the objects are built rather than hidden in a lookup.
    """

    ids: tuple[int, ...]
    new_tokens: tuple[str, ...] = ()


def prompt_tokens(config: PromptSettings, tokenizer: Tokenizer) -> PromptTokens:
    """The prompt's ids under ``tokenizer`` once its ``new_tokens`` are added; the tokenizer is unchanged."""
    if config.kind == "soft":
        next_id = tokenizer.vocab_size
        ids: list[int] = []
        new: list[str] = []
        for token in config.soft_tokens:
            known = tokenizer.token_to_id(token)
            if known is None:
                known, next_id = next_id, next_id + 1
                new.append(token)
            ids.append(known)
        return PromptTokens(tuple(ids), tuple(new))
    if config.kind == "hard":
        return PromptTokens(tuple(tokenizer.encode(config.text)))
    return PromptTokens(())


# The released vocabulary spells "..." as one piece; a vocabulary learned on another corpus may need
# several, which mark a cut just the same.
ELLIPSIS = "..."


@dataclass(frozen=True)
class LayoutSettings:
    """How long sequences may be and where the loss is taken (the task's and ``data.loss_on``).

    ``max_source_positions`` bounds the source (cut with "..." as the release does), ``max_positions``
    the whole sequence (further bounded by the model's positions), ``loss_on`` is ``all`` (the
    release's LM loss over the whole sequence) or ``target``.
    """

    max_source_positions: int = 1024
    max_positions: int = 1024
    loss_on: str = "all"


def build_layout(
    settings: LayoutSettings,
    tokenizer: Tokenizer,
    prompt_ids: tuple[int, ...],
    model: Backbone | None = None,
) -> SequenceLayout:
    """How examples become sequences under ``tokenizer``, with the prompt's ids between source and target.

    ``model`` bounds the sequence by its positions and, for an encoder-decoder, puts the source and
    prompt on the encoder side in the family's special tokens (None: a decoder-only layout).
    """
    model_positions = model.max_positions if model is not None else None
    encoder = None
    if model is not None and model.kind == ENCODER_DECODER:
        prefix, suffix = tokenizer.special_wrapping()
        assert model.decoder_start_id is not None
        encoder = EncoderLayout(model.decoder_start_id, prefix, suffix)
    return SequenceLayout(
        eos_id=tokenizer.eos_id,
        ellipsis_ids=tuple(tokenizer.encode(ELLIPSIS)),
        prompt_ids=prompt_ids,
        max_source_positions=settings.max_source_positions,
        max_positions=min(settings.max_positions, model_positions or settings.max_positions),
        loss_on=settings.loss_on,
        encoder=encoder,
    )


def check_prompt_fits(config: PromptSettings, model: Backbone) -> None:
    """Soft prompts are learned rows read by a decoder-only backbone: refuse them for an encoder-decoder."""
    if config.kind == "soft" and model.kind == ENCODER_DECODER:
        raise ValueError(
            "prompt=soft needs a decoder-only backbone: this encoder-decoder reads its prompt as text on "
            "the encoder side; use prompt=hard (prompt.text=...) or prompt=none"
        )


def fit_embeddings(model: Backbone, vocab_size: int, init: str = "random", seed: int = 0) -> int:
    """Grow the (tied) token embedding to ``vocab_size`` rows; returns how many rows were added.

    New rows are drawn as fairseq initialises embeddings (normal, std ``d**-0.5``), or copied from
    randomly chosen vocabulary rows (``init="vocab"``), a common soft-prompt initialisation. Rows the
    model already has (a fine-tuned release checkpoint's learned prompt) are kept. A BioGPT with more
    rows than the tokenizer has ids carries a prompt the tokenizer lacks (an error); a ``transformers``
    model's extra rows are its family's padding of the table.
    """
    old = model.input_embeddings().weight
    added = vocab_size - old.shape[0]
    if added < 0 and model.family == BIOGPT_FAMILY:  # a fine-tuned checkpoint's prompt rows, unclaimed
        raise ValueError(
            f"the model has {old.shape[0]} embedding rows, more than the tokenizer's {vocab_size} ids"
        )
    if added <= 0:  # other families pad their tables (T5: 32,128 rows for 32,100 ids): nothing to add
        return 0
    generator = torch.Generator().manual_seed(seed)
    if init == "vocab":
        rows = old.detach()[torch.randint(4, old.shape[0], (added,), generator=generator)].clone()
    else:
        rows = torch.randn(added, old.shape[1], generator=generator) * old.shape[1] ** -0.5
    model.grow_embeddings(rows)
    return added
