"""The README memory table's activation estimate (``benchmarks/backbone_sizes.py``) against what autograd
really keeps: the bytes of every tensor a training step's forward saves for backward (hooked with
``torch.autograd.graph.saved_tensors_hooks``, weights left out, each storage once), on small random
networks of our BioGPT, GPT-2, GPT-Neo and BART with dropout on, as the study trains them.

Attention dropout is off here for the families with a fused attention: on a CPU, ``torch``'s fused kernel
does not take dropout and the math fallback would keep the s x s scores, which CUDA's fused kernels (what
the estimate is for) do not. T5 is left out: the estimate undercounts it (see the script's docstring).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from biogpt import BioGPT, BioGPTConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
transformers = pytest.importorskip("transformers")
import backbone_sizes  # noqa: E402  (benchmarks/ is not a package)

LENGTHS = backbone_sizes.Lengths(decoder=256, encoder=192, target=128)
VOCAB = 1000
TOLERANCE = 0.1  # relative


def _saved_bytes(model: torch.nn.Module, step: Callable[[], torch.Tensor]) -> int:
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in weights:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        step()
    return sum(saved.values())


def _network(family: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if family == "biogpt":
        config = BioGPTConfig.from_preset(
            "tiny", vocab_size=VOCAB, hidden_size=128, ffn_size=512, num_heads=4, dropout=0.1,
            attention_dropout=0.0,
        )  # fmt: skip
        return BioGPT(config)
    if family == "gpt2":
        config = transformers.GPT2Config(
            vocab_size=VOCAB, n_embd=128, n_layer=2, n_head=4, n_positions=512, attn_pdrop=0.0,
            bos_token_id=0, eos_token_id=0,
        )  # fmt: skip
        return transformers.GPT2LMHeadModel(config)
    if family == "gpt_neo":
        config = transformers.GPTNeoConfig(
            vocab_size=VOCAB, hidden_size=128, num_layers=2, num_heads=4, max_position_embeddings=512,
            attention_types=[[["global", "local"], 1]], bos_token_id=0, eos_token_id=0,
        )  # fmt: skip
        return transformers.GPTNeoForCausalLM(config)
    config = transformers.BartConfig(
        vocab_size=VOCAB, d_model=128, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=512, decoder_ffn_dim=512, attention_dropout=0.0,
    )  # fmt: skip
    return transformers.BartForConditionalGeneration(config)


@pytest.mark.parametrize("family", ["biogpt", "gpt2", "gpt_neo", "bart"])
def test_the_activation_estimate_matches_what_autograd_saves(family: str) -> None:
    model = _network(family).train()
    generator = torch.Generator().manual_seed(0)

    def step() -> torch.Tensor:
        if family == "bart":
            source = torch.randint(4, VOCAB, (1, LENGTHS.encoder), generator=generator)
            target = torch.randint(4, VOCAB, (1, LENGTHS.target), generator=generator)
            logits = model(input_ids=source, decoder_input_ids=target).logits
        else:
            target = torch.randint(4, VOCAB, (1, LENGTHS.decoder), generator=generator)
            logits = model(target) if family == "biogpt" else model(target).logits
        return F.cross_entropy(logits.float().view(-1, VOCAB), target.view(-1))

    measured = _saved_bytes(model, step)
    shape = backbone_sizes.network_shape(model)
    estimated = backbone_sizes.activation_bytes(shape, family, 4, LENGTHS)
    assert abs(estimated - measured) <= TOLERANCE * measured, (estimated, measured)
