"""Parameter counts and fp32 memory of the pretrained backbones of ``biogpt/conf/model/<org>/<name>.yaml``.

Why: the README's backbone table and each preset's trainer recommendation rest on these figures;
this script makes them reproducible instead of copied from model cards. Each network is built from
its published hyper-parameters on the meta device (no weights, no download, no network) and its
unique parameters counted (tied embeddings once). The BioGPT presets are this project's own
implementation; the others are ``transformers`` models built from configs written out below.

Memory: fp32 weights are 4 bytes per parameter; fp32 Adam training state is 16 bytes per parameter
(weights, gradients and Adam's two moments, 4 bytes each), before activations. GB = 10^9 bytes.

LoRA and QLoRA (``peft=lora``, ``peft=qlora``, rank ``--rank``, the family's default target modules):
the trainable parameters are counted on the network with ``peft``'s adapters put in (as a run puts
them), each adapter weight taking 16 bytes (fp32 weight, gradient and two moments). LoRA keeps the
frozen base in fp32 (4 bytes per parameter, no gradient or moments). QLoRA stores the base's linear
weights in 4-bit NF4 with double quantisation, 4.127 bits per weight (a 32-bit absmax per 64 weights,
itself quantised to 8 bits with a 32-bit constant per 256 blocks), and every other base parameter
(embeddings, norms, biases, an untied output projection) in bf16, 2 bytes, as bitsandbytes and
``transformers`` load them.

    python benchmarks/backbone_sizes.py [--rank 8]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    BartConfig,
    GPT2Config,
    GPTNeoConfig,
    PretrainedConfig,
    T5Config,
)

from biogpt import BioGPT, BioGPTConfig
from biogpt.model.adapters import PeftSettings, add_adapters, lora_config
from biogpt.model.backbone import Backbone as Network
from biogpt.model.hf import HFBackbone

DECODER = "decoder-only"
ENCODER_DECODER = "encoder-decoder"
WEIGHT_BYTES = 4  # fp32
ADAM_STATE_BYTES = 16  # fp32 weights + gradients + Adam's first and second moments
NF4_BYTES = (4 + 8 / 64 + 32 / (64 * 256)) / 8  # 4-bit NF4, double-quantised absmax: 4.127 bits
BF16_BYTES = 2


@dataclass(frozen=True)
class Backbone:
    """A preset: its hub id, architecture kind and family, how to build it, and what is assumed."""

    hub_id: str
    kind: str
    family: str
    build: Callable[[], nn.Module]
    note: str = ""


def _biogpt(preset: str) -> Callable[[], nn.Module]:
    return lambda: BioGPT(BioGPTConfig.from_preset(preset))


def _causal(config: PretrainedConfig) -> Callable[[], nn.Module]:
    return lambda: AutoModelForCausalLM.from_config(config)


def _seq2seq(config: PretrainedConfig) -> Callable[[], nn.Module]:
    return lambda: AutoModelForSeq2SeqLM.from_config(config)


def _seq2seq_untied(config: PretrainedConfig) -> Callable[[], nn.Module]:
    """T5 v1.1 checkpoints hold an lm_head apart from the embeddings. transformers 5 forces
    ``T5Config.tie_word_embeddings = True``, so ``from_config`` ties them; ``from_pretrained`` unties
    them again when the checkpoint's two tensors differ. Untie here to count what a load holds."""

    def build() -> nn.Module:
        model = AutoModelForSeq2SeqLM.from_config(config)
        model.lm_head.weight = nn.Parameter(torch.empty_like(model.lm_head.weight))
        return model

    return build


def _gpt2(layers: int, hidden: int, heads: int, vocab: int = 50257) -> GPT2Config:
    """GPT-2: FFN 4 x hidden, 1,024 positions, lm_head tied; ``<|endoftext|>`` is the last piece."""
    return GPT2Config(
        n_layer=layers,
        n_embd=hidden,
        n_head=heads,
        vocab_size=vocab,
        n_positions=1024,
        bos_token_id=vocab - 1,
        eos_token_id=vocab - 1,
    )


def _bart(layers: int, hidden: int, heads: int, vocab: int = 50265) -> BartConfig:
    """BART: ``layers`` encoder and ``layers`` decoder layers, FFN 4 x hidden, 1,024 positions."""
    return BartConfig(
        vocab_size=vocab,
        d_model=hidden,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=4 * hidden,
        decoder_ffn_dim=4 * hidden,
        max_position_embeddings=1024,
    )


def _t5(layers: int, d_model: int, d_ff: int, heads: int, *, v1_1: bool = False) -> T5Config:
    """Original T5 (and SciFive): ReLU FFN, lm_head tied to the embeddings; T5 v1.1 (``v1_1``, Flan-T5):
    gated-GELU FFN, separate lm_head (see :func:`_seq2seq_untied`). Vocabulary 32,128 in both."""
    return T5Config(
        vocab_size=32128,
        d_model=d_model,
        d_ff=d_ff,
        d_kv=64,
        num_layers=layers,
        num_decoder_layers=layers,
        num_heads=heads,
        feed_forward_proj="gated-gelu" if v1_1 else "relu",
        tie_word_embeddings=not v1_1,
    )


GPT_NEO_2_7B = GPTNeoConfig(
    num_layers=32,
    hidden_size=2560,
    num_heads=20,
    vocab_size=50257,
    max_position_embeddings=2048,
    attention_types=[[["global", "local"], 16]],
    window_size=256,
)
BIOBART_V2_VOCAB = 85401

BACKBONES: tuple[Backbone, ...] = (
    Backbone("openai-community/gpt2-medium", DECODER, "gpt2", _causal(_gpt2(24, 1024, 16))),
    Backbone("openai-community/gpt2-xl", DECODER, "gpt2", _causal(_gpt2(48, 1600, 25))),
    Backbone("EleutherAI/gpt-neo-2.7B", DECODER, "gpt_neo", _causal(GPT_NEO_2_7B)),
    Backbone(
        "stanford-crfm/BioMedLM",
        DECODER,
        "gpt2",
        _causal(_gpt2(32, 2560, 20, vocab=28896)),
        note="GPT-2 architecture with its own 28,896-piece PubMed vocabulary (marketed as 2.7B)",
    ),
    Backbone("microsoft/biogpt", DECODER, "biogpt (ours)", _biogpt("biogpt")),
    Backbone("microsoft/BioGPT-Large", DECODER, "biogpt (ours)", _biogpt("biogpt-large")),
    Backbone("facebook/bart-base", ENCODER_DECODER, "bart", _seq2seq(_bart(6, 768, 12))),
    Backbone("facebook/bart-large", ENCODER_DECODER, "bart", _seq2seq(_bart(12, 1024, 16))),
    Backbone(
        "GanjinZero/biobart-v2-base",
        ENCODER_DECODER,
        "bart",
        _seq2seq(_bart(6, 768, 12, vocab=BIOBART_V2_VOCAB)),
        note=f"BART-base with the v2 biomedical vocabulary, assumed {BIOBART_V2_VOCAB:,} pieces",
    ),
    Backbone(
        "GanjinZero/biobart-v2-large",
        ENCODER_DECODER,
        "bart",
        _seq2seq(_bart(12, 1024, 16, vocab=BIOBART_V2_VOCAB)),
        note=f"BART-large with the v2 biomedical vocabulary, assumed {BIOBART_V2_VOCAB:,} pieces",
    ),
    Backbone(
        "cogint/in-boxbart",
        ENCODER_DECODER,
        "bart",
        _seq2seq(_bart(6, 768, 12)),
        note="BART-base, assumed to keep BART's 50,265-piece vocabulary",
    ),
    Backbone("google-t5/t5-small", ENCODER_DECODER, "t5", _seq2seq(_t5(6, 512, 2048, 8))),
    Backbone("google-t5/t5-base", ENCODER_DECODER, "t5", _seq2seq(_t5(12, 768, 3072, 12))),
    Backbone("google-t5/t5-large", ENCODER_DECODER, "t5", _seq2seq(_t5(24, 1024, 4096, 16))),
    *(
        Backbone(
            f"google/flan-t5-{size}",
            ENCODER_DECODER,
            "t5",
            _seq2seq_untied(_t5(*shape, v1_1=True)),
            note="T5 v1.1 (gated GELU), lm_head separate from the embeddings",
        )
        for size, shape in (
            ("small", (8, 512, 1024, 6)),
            ("base", (12, 768, 2048, 12)),
            ("large", (24, 1024, 2816, 16)),
        )
    ),
    Backbone("razent/SciFive-base-Pubmed", ENCODER_DECODER, "t5", _seq2seq(_t5(12, 768, 3072, 12))),
    Backbone("razent/SciFive-large-Pubmed", ENCODER_DECODER, "t5", _seq2seq(_t5(24, 1024, 4096, 16))),
)


@dataclass(frozen=True)
class Size:
    """A preset's parameters: all of them, its linear layers' weights (what QLoRA quantises), and the
    LoRA adapter's at the counted rank."""

    backbone: Backbone
    parameters: int
    linear_weights: int
    adapter: int

    @property
    def weights_gb(self) -> float:
        return self.parameters * WEIGHT_BYTES / 1e9

    @property
    def adam_state_gb(self) -> float:
        return self.parameters * ADAM_STATE_BYTES / 1e9

    @property
    def lora_gb(self) -> float:
        """fp32 frozen base, plus the adapters' weights, gradients and moments."""
        return (self.parameters * WEIGHT_BYTES + self.adapter * ADAM_STATE_BYTES) / 1e9

    @property
    def qlora_gb(self) -> float:
        """NF4 linear weights, the rest of the base in bf16, plus the adapters' fp32 training state."""
        rest = self.parameters - self.linear_weights
        base = self.linear_weights * NF4_BYTES + rest * BF16_BYTES
        return (base + self.adapter * ADAM_STATE_BYTES) / 1e9


def _network(model: nn.Module) -> Network:
    return model if isinstance(model, BioGPT) else HFBackbone(model)


def _linear_weights(model: nn.Module) -> int:
    """Weights of the linear layers (nn.Linear, GPT-2's Conv1D), without an output projection: what
    bitsandbytes quantises when transformers loads a model in 4-bit."""
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return sum(
        module.weight.numel()
        for module in model.modules()
        if type(module).__name__ in ("Linear", "Projection", "Conv1D") and module is not output
    )


def count(backbone: Backbone, rank: int = 8) -> Size:
    """Build on the meta device (shapes only) and count unique parameters (tied weights once), then
    put in ``peft``'s LoRA adapters of ``rank`` and count theirs."""
    with torch.device("meta"):
        network = _network(backbone.build())
        parameters = sum(p.numel() for p in network.parameters())
        linear = _linear_weights(network.network if isinstance(network, HFBackbone) else network)
        settings = PeftSettings(method="lora", r=rank, alpha=2.0 * rank)
        add_adapters(network, lora_config(network, settings))
        adapter = sum(p.numel() for p in network.parameters() if p.requires_grad)
    return Size(backbone, parameters, linear, adapter)


def markdown(sizes: list[Size], rank: int = 8) -> str:
    lines = [
        f"| preset | kind | family | parameters | fp32 weights | fp32 Adam state | LoRA r={rank} trainable "
        "| LoRA state | QLoRA state |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        b = size.backbone
        lines.append(
            f"| `model={b.hub_id}` | {b.kind} | {b.family} | {size.parameters:,} "
            f"| {size.weights_gb:.1f} GB | {size.adam_state_gb:.1f} GB | {size.adapter:,} "
            f"| {size.lora_gb:.1f} GB | {size.qlora_gb:.1f} GB |"
        )
    notes = [f"- {size.backbone.hub_id}: {size.backbone.note}" for size in sizes if size.backbone.note]
    footer = [
        "",
        f"GB = 10^9 bytes; weights: {WEIGHT_BYTES} bytes/parameter; Adam state: {ADAM_STATE_BYTES} "
        "bytes/parameter (weights, gradients, two moments); LoRA: fp32 base + adapters' Adam state; "
        f"QLoRA: NF4 linear weights ({NF4_BYTES * 8:.3f} bits), the rest in bf16, + adapters' Adam state; "
        "activations not included.",
    ]
    return "\n".join(lines + footer + ([""] + notes if notes else []))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rank", type=int, default=8, help="LoRA rank of the adapter columns")
    args = parser.parse_args()
    print(markdown([count(backbone, args.rank) for backbone in BACKBONES], args.rank))


if __name__ == "__main__":
    main()
