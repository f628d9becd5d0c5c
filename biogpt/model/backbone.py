"""What every network the framework trains offers its users: one interface over two kinds of backbone.

Fine-tuning, checkpoint averaging, saving ``final/``, generation and evaluation see a network only
through :class:`Backbone`, so BioGPT (our own implementation) and the ``transformers`` families
(:mod:`biogpt.model.hf`) run through one path:

* ``decoder``: one sequence ``[start; source; prompt; target]``; the batch holds ``input_ids`` and
  ``attention_mask``;
* ``encoder-decoder``: the source (with a hard prompt) goes to the encoder (``encoder_ids``,
  ``encoder_mask``), the target to the decoder (``input_ids``, ``attention_mask``).

In both, ``batch_logits`` returns the decoder's next-token logits over ``input_ids``, which the loss
compares with the batch's ``targets``. Decoding runs through :meth:`Backbone.begin_decoding` and
:meth:`Backbone.continue_decoding` with a cache that the backbone owns (:class:`DecodingState`), so
greedy, beam and sampling decoding (:mod:`biogpt.generation.decoding`) are one loop for every kind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

from torch import Tensor, nn

DECODER = "decoder"
ENCODER_DECODER = "encoder-decoder"


class DecodingState(Protocol):
    """A backbone's cache between decoding steps."""

    def reorder(self, rows: Tensor) -> None:
        """Keep these batch rows, in this order (beam search keeps the surviving hypotheses)."""


class Backbone(ABC, nn.Module):
    """A network that a run trains, saves, reloads and decodes with, whatever its kind and family."""

    kind: ClassVar[str]
    family: str  # ``biogpt`` (our implementation) or a transformers ``model_type``

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Rows of the token embedding (the ids the network accepts)."""

    @property
    @abstractmethod
    def max_positions(self) -> int | None:
        """Longest decoder sequence (prefix and generated tokens); None: no limit (relative positions)."""

    @property
    def decoder_start_id(self) -> int | None:
        """The token an encoder-decoder's decoder starts from (None for decoder-only backbones)."""
        return None

    @property
    @abstractmethod
    def block_classes(self) -> tuple[type[nn.Module], ...]:
        """The repeated layer classes: the units FSDP shards and activation checkpointing recomputes."""

    @property
    @abstractmethod
    def adapter_targets(self) -> tuple[str, ...]:
        """The family's own names of the projections a LoRA adapter targets by default
        (``peft.target_modules``): every attention and feed-forward projection of every layer."""

    @property
    def adapter_fan_in_fan_out(self) -> bool:
        """Whether those projections store their weight as (in, out), as GPT-2's ``Conv1D`` does."""
        return False

    @abstractmethod
    def transformers_name(self, name: str) -> str:
        """The name ``transformers``' model class of this family gives the module or weight ``name`` of
        this backbone: what a ``peft`` adapter's weights are keyed by, so others load it on that class."""

    @abstractmethod
    def batch_logits(self, batch: Mapping[str, Any], logits_to_keep: int = 0) -> Tensor:
        """Next-token logits over the batch's ``input_ids`` (shape batch x time x vocab), or over its last
        ``logits_to_keep`` positions only (0: all), as ``transformers``' argument of that name: a loss on
        the targets alone needs no logits before the first target."""

    @abstractmethod
    def input_embeddings(self) -> nn.Embedding:
        """The token embedding whose rows a soft prompt adds and trains."""

    @abstractmethod
    def grow_embeddings(self, rows: Tensor) -> None:
        """Append ``rows`` to the token embedding (and to a tied output projection); existing rows and
        every other weight stay as they are."""

    @abstractmethod
    def begin_decoding(
        self, tokens: Tensor, mask: Tensor, capacity: int, encoder: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, DecodingState]:
        """Run the left-padded prefixes (and, for an encoder-decoder, the right-padded encoder
        inputs and their mask); return the last position's logits and the cache for ``capacity``
        decoder tokens in all."""

    @abstractmethod
    def continue_decoding(self, token: Tensor, mask: Tensor, state: DecodingState) -> Tensor:
        """One more token per row (``mask``: the whole decoder mask so far); the next logits."""

    @abstractmethod
    def save_pretrained(self, directory: str | Path, state: Mapping[str, Tensor] | None = None) -> Path:
        """Write the Hugging Face layout of this network with ``state`` (default: its own weights)."""

    @abstractmethod
    def checkpoint_entries(self) -> dict[str, Any]:
        """What a Lightning checkpoint records besides the weights, so that it loads back alone."""
