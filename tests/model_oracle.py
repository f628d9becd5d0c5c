"""Helpers shared by the model tests: reference models from ``transformers`` and fairseq-format files.

The fairseq checkpoints are built the way fairseq 0.12 saves them (``{"model": decoder.* state,
"cfg": {"model": {...}}, ...}``) from a reference model's weights, so the loaders are tested on the
real layout without fairseq or the released files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import BioGptConfig, BioGptForCausalLM


def reference_model(seed: int, **config: Any) -> BioGptForCausalLM:
    """A randomly initialised ``transformers`` BioGPT in eval mode (the oracle)."""
    torch.manual_seed(seed)
    model = BioGptForCausalLM(BioGptConfig(**config))
    # Random LayerNorm affine parameters and biases, so the test also covers their mapping.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "layer_norm" in name or name.endswith(".bias"):
                param.add_(torch.randn_like(param) * 0.1)
    return model.eval()


def fairseq_state(reference: BioGptForCausalLM) -> dict[str, torch.Tensor]:
    """The reference weights under fairseq's decoder names, as fairseq stores them."""
    state = {}
    for key, tensor in reference.state_dict().items():
        if key == "output_projection.weight":
            state["decoder.output_projection.weight"] = tensor.clone()
        else:
            state["decoder." + key.removeprefix("biogpt.")] = tensor.clone()
    state["decoder.version"] = torch.tensor([3.0])
    return state


def fairseq_model_cfg(reference: BioGptForCausalLM) -> dict[str, Any]:
    config = reference.config
    return {
        "_name": "transformer_lm_prompt_biogpt",
        "activation_fn": "gelu",
        "dropout": 0.1,
        "attention_dropout": 0.1,
        "activation_dropout": 0.0,
        "decoder_embed_dim": config.hidden_size,
        "decoder_ffn_embed_dim": config.intermediate_size,
        "decoder_layers": config.num_hidden_layers,
        "decoder_attention_heads": config.num_attention_heads,
        "decoder_normalize_before": True,
        "decoder_learned_pos": True,
        "share_decoder_input_output_embed": True,
        "no_scale_embedding": False,
        "max_target_positions": config.max_position_embeddings,
    }


def write_fairseq_checkpoint(reference: BioGptForCausalLM, path: Path, **extra: Any) -> Path:
    checkpoint = {
        "args": None,
        "cfg": {"model": fairseq_model_cfg(reference), "task": {"_name": "language_modeling_prompt"}},
        "model": fairseq_state(reference),
        "optimizer_history": [{"optimizer_name": "FairseqAdam", "num_updates": 1000}],
        "extra_state": {"epoch": 5},
        **extra,
    }
    torch.save(checkpoint, path)
    return path


def padded_batch(vocab_size: int, lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (pad id 1) and mask for sequences of the given lengths."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.full((len(lengths), max(lengths)), 1, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.randint(4, vocab_size, (length,), generator=generator)
        mask[row, :length] = 1
    return ids, mask


def write_fine_tuned_checkpoint(reference: BioGptForCausalLM, path: Path, prompt_rows: int) -> torch.Tensor:
    """A release fine-tuned checkpoint: ``prompt_rows`` learned-token rows after the vocabulary (tied)."""
    state = fairseq_state(reference)
    rows = torch.randn(prompt_rows, reference.config.hidden_size)
    for key in ("decoder.embed_tokens.weight", "decoder.output_projection.weight"):
        state[key] = torch.cat([state[key], rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"cfg": {"model": fairseq_model_cfg(reference)}, "model": state}, path)
    return rows


def small_with_released_vocab(max_positions: int) -> dict[str, int]:
    """A 2-layer, 32-wide reference shape with the released 42,384-id vocabulary (tokenizer-compatible)."""
    return dict(
        vocab_size=42384,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=max_positions,
    )
