"""The BioGPT network with its weight files: :class:`BioGPT` loads Hugging Face directories and hub ids,
fairseq release checkpoints and our Lightning checkpoints, and saves the Hugging Face layout.

The network (:mod:`biogpt.model.network`) knows no file format and the formats
(:mod:`biogpt.model.weights`) no network: this module joins them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from biogpt.model.network import BioGPTNetwork
from biogpt.model.weights import CheckpointError, PretrainedWeights, read_pretrained, write_pretrained


class BioGPT(BioGPTNetwork):
    """The BioGPT network (:class:`~biogpt.model.network.BioGPTNetwork`), loadable and savable."""

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

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the Hugging Face layout (``config.json`` + ``model.safetensors``)."""
        return write_pretrained(self.config, self.state_dict(), directory)


def _sample(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(key) for key in keys[:limit])
    return f"[{shown}{', ...' if len(keys) > limit else ''}] ({len(keys)} in all)"
