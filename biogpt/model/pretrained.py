"""The BioGPT network with its weight files: :class:`BioGPT` loads Hugging Face directories and hub ids,
fairseq release checkpoints and our Lightning checkpoints, saves the Hugging Face layout, and is a
decoder-only :class:`~biogpt.model.backbone.Backbone`.

The network (:mod:`biogpt.model.network`) knows no file format and the formats
(:mod:`biogpt.model.weights`) no network: this module joins them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from biogpt.model.backbone import DECODER, Backbone
from biogpt.model.network import BioGPTNetwork, DecoderLayer, KVCache
from biogpt.model.weights import (
    HF_PREFIX,
    LIGHTNING_CONFIG_KEY,
    CheckpointError,
    PretrainedWeights,
    read_pretrained,
    write_pretrained,
)


class BioGPT(BioGPTNetwork, Backbone):
    """The BioGPT network (:class:`~biogpt.model.network.BioGPTNetwork`), loadable and savable."""

    kind = DECODER
    family = "biogpt"

    @classmethod
    def from_pretrained(
        cls, source: str | Path, *, dtype: torch.dtype = torch.float32, **options: Any
    ) -> BioGPT:
        """Load a Hugging Face directory or hub id, a fairseq release checkpoint or one of our Lightning
        checkpoints.

        Options (see :func:`biogpt.model.weights.read_pretrained`): ``trust_pickle``, ``revision``,
        ``cache_dir``.
        """
        return cls.from_weights(read_pretrained(source, **options), dtype=dtype)

    @classmethod
    def from_weights(cls, weights: PretrainedWeights, *, dtype: torch.dtype = torch.float32) -> BioGPT:
        """A model whose every parameter comes from ``weights`` (checked first, assigned after)."""
        with torch.device("meta"):
            model = cls(weights.config)
        expected = {name: tuple(param.shape) for name, param in model.named_parameters()}
        state, source = weights.state, weights.source
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        if missing or unexpected:
            details = []
            if missing:
                details.append(f"missing keys {_sample(missing)}")
            if unexpected:
                details.append(f"unexpected keys {_sample(unexpected)}")
            raise CheckpointError(f"{source}: {'; '.join(details)}")
        for name, shape in expected.items():
            if tuple(state[name].shape) != shape:
                raise CheckpointError(
                    f"{source}: {name} has shape {list(state[name].shape)}, the config expects {list(shape)}"
                )
        model.load_state_dict({name: tensor.to(dtype) for name, tensor in state.items()}, assign=True)
        return model

    def save_pretrained(self, directory: str | Path, state: Mapping[str, Tensor] | None = None) -> Path:
        """Write the Hugging Face layout (``config.json`` + ``model.safetensors``)."""
        return write_pretrained(self.config, self.state_dict() if state is None else state, directory)

    # --- the Backbone interface ------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    @property
    def max_positions(self) -> int:
        return self.config.max_positions

    @property
    def block_classes(self) -> tuple[type[nn.Module], ...]:
        return (DecoderLayer,)

    @property
    def adapter_targets(self) -> tuple[str, ...]:
        return ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")

    def transformers_name(self, name: str) -> str:
        return HF_PREFIX + name  # BioGptForCausalLM holds our modules under ``biogpt.``

    def batch_logits(self, batch: Mapping[str, Any], logits_to_keep: int = 0) -> Tensor:
        return self(batch["input_ids"], batch["attention_mask"], logits_to_keep=logits_to_keep)

    def input_embeddings(self) -> nn.Embedding:
        return self.embed_tokens

    def grow_embeddings(self, rows: Tensor) -> None:
        old = self.embed_tokens.weight
        embedding = nn.Embedding(
            old.shape[0] + rows.shape[0], old.shape[1], padding_idx=self.config.pad_token_id
        )
        with torch.no_grad():
            embedding.weight.copy_(torch.cat([old.detach(), rows.to(old.dtype)]))
        self.embed_tokens = embedding.to(old.device)
        self.config = replace(self.config, vocab_size=embedding.num_embeddings)

    def begin_decoding(
        self, tokens: Tensor, mask: Tensor, capacity: int, encoder: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, KVCache]:
        if encoder is not None:
            raise ValueError("BioGPT is decoder-only: it takes no encoder inputs")
        cache = self.new_cache(tokens.shape[0], capacity)
        return self(tokens, mask, cache=cache, logits_to_keep=1)[:, -1], cache

    def continue_decoding(self, token: Tensor, mask: Tensor, state: KVCache) -> Tensor:  # type: ignore[override]
        return self(token[:, None], mask, cache=state, logits_to_keep=1)[:, -1]

    def checkpoint_entries(self) -> dict[str, Any]:
        return {LIGHTNING_CONFIG_KEY: self.config.to_dict()}


def _sample(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(key) for key in keys[:limit])
    return f"[{shown}{', ...' if len(keys) > limit else ''}] ({len(keys)} in all)"
