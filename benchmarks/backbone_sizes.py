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

Estimated peak at the study's sequence lengths: the training state above plus the activations one
micro-batch stores for the backward pass (the study's recipe: one sequence per micro-batch, fp32, no
activation checkpointing), counted tensor by tensor after Korthikanti et al. 2022 ("Reducing activation
recomputation in large transformer models", section 4.1, which gives 34·s·h bytes per 16-bit GPT layer
with a 4h feed-forward), with each family's own widths:

- per token and layer, values: attention 5h (the projections' input, Q, K, V, the output projection's
  input), feed-forward h + 2f (h + 4f gated: T5 v1.1), 2 norm inputs 2h; plus 1-byte dropout masks 2h;
- attention without a fused kernel (GPT-Neo, T5 with its learned position bias) also keeps the softmax's
  output, a·s values per token and layer, and where attention dropout is on (T5; not the released
  GPT-Neo) the dropped scores and an a·s-byte mask as well;
- GPT-2's and GPT-Neo's tanh-approximated GELU (``gelu_new``) is composed of elementwise ops that keep
  3f values more;
- an encoder-decoder's decoder layer adds cross-attention: 4h values and an h-byte mask per decoder
  token, and K and V (2h values) per encoder token;
- the logits and their log-softmax in fp32, 2·s·V values of 4 bytes.

Values are 4 bytes (fp32) for full fine-tuning and LoRA (the frozen base still passes gradients back to
the adapters below it, so it stores the same activations) and 2 bytes for QLoRA (bf16 compute). The
sequence lengths are the study's longest: 1,024 positions for a decoder-only model (source up to 640
tokens, then the target), 640 encoder and 512 decoder tokens for an encoder-decoder (its generation
bound). The peak is an upper estimate: the state plus every activation, although backward frees
activations as gradients appear; allocator fragmentation and workspace are not counted.

Checked against the tensors autograd saves on small random networks (tests/test_backbone_sizes.py):
within 4% for our BioGPT, GPT-2, GPT-Neo and 8% for BART. T5 keeps more than counted (about 1.4x on a
CPU: its RMSNorm keeps the normalised input as well, its feed-forward dropout keeps a mask and a copy
f wide, and a CPU runs its attention with a learned bias unfused), so its peaks are low estimates.

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
# Families whose attention runs without a fused kernel and stores its scores: GPT-Neo (eager only in
# transformers) and T5 (its learned position bias is an additive mask that needs the scores' gradient).
EAGER_ATTENTION = ("gpt_neo", "t5")


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
class Lengths:
    """Training sequence lengths: a decoder-only model's tokens; an encoder-decoder's source and target."""

    decoder: int
    encoder: int
    target: int


# The study's longest training sequences (experiment=study/*, task.max_source_positions=640): 1,024
# decoder-only positions (source <= 640, then the target); 640 source and 512 target tokens (the study's
# generation bound) for an encoder-decoder.
STUDY = Lengths(decoder=1024, encoder=640, target=512)


@dataclass(frozen=True)
class Shape:
    """The widths the activations depend on: layers of each stack, hidden size, feed-forward size (and
    whether it is gated), attention heads, vocabulary."""

    encoder_layers: int
    decoder_layers: int
    hidden: int
    ffn: int
    gated: bool
    heads: int
    vocab: int
    tanh_gelu: bool = False  # GPT-2's and GPT-Neo's gelu_new, composed of ops that save 3 more f-wide tensors
    attention_dropout: bool = True  # an unfused attention then keeps the dropped scores and the mask too


def activation_bytes(shape: Shape, family: str, value_bytes: int, lengths: Lengths = STUDY) -> int:
    """What one training sequence of ``lengths`` stores for backward (see the module's docstring for the
    count), with activation values of ``value_bytes``."""
    h, a = shape.hidden, shape.heads
    feed_forward = h + (4 if shape.gated else 2) * shape.ffn + (3 * shape.ffn if shape.tanh_gelu else 0)
    values_per_token = 5 * h + feed_forward + 2 * h
    masks_per_token = 2 * h
    eager = family in EAGER_ATTENTION

    dropped = shape.attention_dropout

    def stack(tokens: int, layers: int, context: int) -> int:
        scores = (2 if dropped else 1) * a * context if eager else 0
        score_masks = a * context if eager and dropped else 0
        return layers * tokens * ((values_per_token + scores) * value_bytes + masks_per_token + score_masks)

    if shape.encoder_layers == 0:
        total = stack(lengths.decoder, shape.decoder_layers, lengths.decoder)
        predicted = lengths.decoder
    else:
        total = stack(lengths.encoder, shape.encoder_layers, lengths.encoder)
        total += stack(lengths.target, shape.decoder_layers, lengths.target)
        cross_scores = (
            ((2 * value_bytes + 1) if dropped else value_bytes) * a * lengths.encoder if eager else 0
        )
        cross = (
            lengths.target * (4 * h * value_bytes + h + cross_scores) + lengths.encoder * 2 * h * value_bytes
        )
        total += shape.decoder_layers * cross
        predicted = lengths.target
    return total + 2 * predicted * shape.vocab * WEIGHT_BYTES


def network_shape(model: nn.Module) -> Shape:
    """The :class:`Shape` of a built network (ours or a ``transformers`` model)."""
    if isinstance(model, BioGPT):
        c = model.config
        return Shape(0, c.num_layers, c.hidden_size, c.ffn_size, False, c.num_heads, c.vocab_size)
    c = model.config
    if c.model_type == "t5":
        gated = c.feed_forward_proj.startswith("gated")
        return Shape(c.num_layers, c.num_decoder_layers, c.d_model, c.d_ff, gated, c.num_heads, c.vocab_size)
    if c.model_type == "bart":
        return Shape(
            c.encoder_layers, c.decoder_layers, c.d_model, c.encoder_ffn_dim, False,
            c.encoder_attention_heads, c.vocab_size,
        )  # fmt: skip
    ffn = getattr(c, "n_inner", None) or getattr(c, "intermediate_size", None) or 4 * c.hidden_size
    tanh_gelu = getattr(c, "activation_function", None) == "gelu_new"
    dropped = bool(getattr(c, "attn_pdrop", None) or getattr(c, "attention_dropout", None))
    heads = c.num_attention_heads
    return Shape(0, c.num_hidden_layers, c.hidden_size, ffn, False, heads, c.vocab_size, tanh_gelu, dropped)


@dataclass(frozen=True)
class Size:
    """A preset's parameters: all of them, its linear layers' weights (what QLoRA quantises), and the
    LoRA adapter's at the counted rank; and the widths its activations depend on."""

    backbone: Backbone
    parameters: int
    linear_weights: int
    adapter: int
    shape: Shape

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

    def _activations_gb(self, value_bytes: int) -> float:
        return activation_bytes(self.shape, self.backbone.family.split()[0], value_bytes) / 1e9

    @property
    def full_peak_gb(self) -> float:
        """fp32 Adam state plus fp32 activations of one study sequence."""
        return self.adam_state_gb + self._activations_gb(WEIGHT_BYTES)

    @property
    def lora_peak_gb(self) -> float:
        return self.lora_gb + self._activations_gb(WEIGHT_BYTES)

    @property
    def qlora_peak_gb(self) -> float:
        """The 4-bit state plus bf16 activations (QLoRA computes in bf16)."""
        return self.qlora_gb + self._activations_gb(BF16_BYTES)


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
        model = network.network if isinstance(network, HFBackbone) else network
        linear = _linear_weights(model)
        shape = network_shape(model)
        settings = PeftSettings(method="lora", r=rank, alpha=2.0 * rank)
        add_adapters(network, lora_config(network, settings))
        adapter = sum(p.numel() for p in network.parameters() if p.requires_grad)
    return Size(backbone, parameters, linear, adapter, shape)


def markdown(sizes: list[Size], rank: int = 8) -> str:
    lines = [
        f"| preset | kind | family | parameters | fp32 weights | fp32 Adam state | LoRA r={rank} trainable "
        "| LoRA state | QLoRA state | peak full | peak LoRA | peak QLoRA |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        b = size.backbone
        lines.append(
            f"| `model={b.hub_id}` | {b.kind} | {b.family} | {size.parameters:,} "
            f"| {size.weights_gb:.1f} GB | {size.adam_state_gb:.1f} GB | {size.adapter:,} "
            f"| {size.lora_gb:.1f} GB | {size.qlora_gb:.1f} GB | {size.full_peak_gb:.1f} GB "
            f"| {size.lora_peak_gb:.1f} GB | {size.qlora_peak_gb:.1f} GB |"
        )
    notes = [f"- {size.backbone.hub_id}: {size.backbone.note}" for size in sizes if size.backbone.note]
    footer = [
        "",
        f"GB = 10^9 bytes; weights: {WEIGHT_BYTES} bytes/parameter; Adam state: {ADAM_STATE_BYTES} "
        "bytes/parameter (weights, gradients, two moments); LoRA: fp32 base + adapters' Adam state; "
        f"QLoRA: NF4 linear weights ({NF4_BYTES * 8:.3f} bits), the rest in bf16, + adapters' Adam state. "
        f"Peaks: that state plus one sequence's activations ({STUDY.decoder} decoder-only tokens; "
        f"{STUDY.encoder} encoder + {STUDY.target} decoder tokens), fp32 (QLoRA: bf16), no checkpointing.",
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
