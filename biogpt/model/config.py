"""The shape of a BioGPT decoder: its config, and the named shapes of the released models.

Kept apart from the network so that weight files (:mod:`biogpt.model.weights`) can read and write
configs without the network, which builds itself from them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

# fairseq numbers learned positions from padding_idx + 1 = 2: rows 0 and 1 of the table are unused.
POSITION_OFFSET = 2


@dataclass(frozen=True)
class BioGPTConfig:
    """Shape and regularisation of a BioGPT decoder.

    ``layer_norm_eps`` defaults to fairseq's 1e-5, with which the released weights were trained (and
    with which transformers runs them, whatever its configs' unused ``layer_norm_eps`` field says).
    """

    vocab_size: int = 42384
    num_layers: int = 24
    hidden_size: int = 1024
    num_heads: int = 16
    ffn_size: int = 4096
    max_positions: int = 1024
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation_dropout: float = 0.0
    layer_norm_eps: float = 1e-5
    scale_embedding: bool = True
    pad_token_id: int = 1
    bos_token_id: int = 0
    eos_token_id: int = 2

    def __post_init__(self) -> None:
        for name in ("vocab_size", "num_layers", "hidden_size", "num_heads", "ffn_size", "max_positions"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"BioGPTConfig.{name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"BioGPTConfig.hidden_size ({self.hidden_size}) must be divisible by "
                f"num_heads ({self.num_heads})"
            )
        for name in ("dropout", "attention_dropout", "activation_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"BioGPTConfig.{name} must be in [0, 1), got {value!r}")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> BioGPTConfig:
        """A named shape (``biogpt``, ``biogpt-large``, ``tiny``, ...) with optional field overrides."""
        if name not in PRESETS:
            raise ValueError(f"unknown model preset {name!r}; valid presets: {', '.join(sorted(PRESETS))}")
        return replace(PRESETS[name], **overrides)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BioGPTConfig:
        """Build from a plain mapping, naming any key that is not a config field."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown BioGPTConfig field(s) {unknown}; valid fields: {sorted(known)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, BioGPTConfig] = {
    # The released models (parameter counts asserted in tests: 346,763,264 and 1,571,188,800).
    "biogpt": BioGPTConfig(),
    "biogpt-large": BioGPTConfig(
        vocab_size=57717, num_layers=48, hidden_size=1600, num_heads=25, ffn_size=6400, max_positions=2048
    ),
    # Small shapes for tests, the demo and CPU experiments; the full vocabulary keeps them usable with
    # the released tokenizer.
    "small": BioGPTConfig(num_layers=6, hidden_size=512, num_heads=8, ffn_size=2048),
    "mini": BioGPTConfig(num_layers=4, hidden_size=128, num_heads=4, ffn_size=512, max_positions=1024),
    "tiny": BioGPTConfig(num_layers=2, hidden_size=64, num_heads=4, ffn_size=256, max_positions=1024),
}
