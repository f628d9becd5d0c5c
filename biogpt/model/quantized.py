"""QLoRA's frozen base: a backbone whose projections hold their weights in 4-bit NF4 through ``bitsandbytes``.

QLoRA (Dettmers et al., 2023) trains LoRA adapters over a base stored in 4-bit NormalFloat with double
quantisation (the blocks' scales quantised too) and computed in bf16: the base's weights take about a
quarter of their bf16 memory, which is what lets a 1.5-2.7B backbone fine-tune on one 16-24 GB GPU.

One mechanism per path, both ending in ``bitsandbytes``' ``Linear4bit`` (the layer ``peft``'s LoRA wraps
for 4-bit bases, so :func:`biogpt.model.adapters.add_adapters` needs nothing else):

- the ``transformers`` families load through ``transformers``' own ``BitsAndBytesConfig``
  (:func:`nf4_config`), which also covers GPT-2's ``Conv1D`` projections;
- our BioGPT network is loaded as usual and its projections (every ``nn.Linear``: attention and
  feed-forward; the output layer is the tied embedding, which stays unquantised, as do the norms) are
  replaced by ``Linear4bit`` layers holding the same weights (:func:`quantize_projections`).

``bitsandbytes`` >= 0.48 runs 4-bit layers on the CPU as well (slowly, in plain ``torch``), which is what
the library-level tests use; a ``peft=qlora`` run needs CUDA (:func:`biogpt.model.adapters.check_device`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from biogpt.model.adapters import AdapterSetupError
from biogpt.model.backbone import Backbone
from biogpt.model.hf import HFBackbone
from biogpt.model.loading import BIOGPT_FAMILY, load_network, local_source, source_family
from biogpt.optional import require_bitsandbytes, require_transformers

QUANT_TYPE = "nf4"  # 4-bit NormalFloat: QLoRA's data type, optimal for normally distributed weights
COMPUTE_DTYPE = torch.bfloat16  # what the 4-bit weights are dequantised to for each matmul
DOUBLE_QUANT = True  # the blocks' absmax scales quantised as well (about 0.37 bits per weight saved)


def nf4_config(compute_dtype: torch.dtype = COMPUTE_DTYPE) -> Any:
    """``transformers``' ``BitsAndBytesConfig`` of QLoRA's base: NF4, double quantisation, bf16 compute."""
    transformers = require_transformers("peft=qlora's 4-bit base")
    require_bitsandbytes("peft=qlora's 4-bit base")
    return transformers.BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=QUANT_TYPE,
        bnb_4bit_use_double_quant=DOUBLE_QUANT,
        bnb_4bit_compute_dtype=compute_dtype,
    )


def quantize_projections(network: nn.Module, compute_dtype: torch.dtype = COMPUTE_DTYPE) -> list[str]:
    """Replace every ``nn.Linear`` of ``network`` in place by a frozen ``Linear4bit`` holding its weight in
    NF4 (quantised on the weight's device) and its bias as it was; returns the replaced modules' names."""
    bnb = require_bitsandbytes("peft=qlora's 4-bit base")
    replaced = [name for name, module in network.named_modules() if isinstance(module, nn.Linear)]
    for name in replaced:
        parent_name, _, child = name.rpartition(".")
        parent = network.get_submodule(parent_name)
        linear = getattr(parent, child)
        quantized = bnb.nn.Linear4bit(
            linear.in_features,
            linear.out_features,
            bias=linear.bias is not None,
            compute_dtype=compute_dtype,
            compress_statistics=DOUBLE_QUANT,
            quant_type=QUANT_TYPE,
            device="meta",
        )
        quantized.weight = bnb.nn.Params4bit(
            linear.weight.data, requires_grad=False, compress_statistics=DOUBLE_QUANT, quant_type=QUANT_TYPE
        )
        if linear.bias is not None:
            quantized.bias = nn.Parameter(linear.bias.data, requires_grad=False)
        setattr(parent, child, quantized.to(linear.weight.device))  # moving a Params4bit quantises it
    return replaced


def quantized_modules(backbone: nn.Module) -> list[str]:
    """The names of ``backbone``'s 4-bit layers; none (and ``bitsandbytes`` not imported, which prints
    warnings on a CPU) where ``bitsandbytes`` was never imported, as nothing can hold its layers then."""
    bnb = sys.modules.get("bitsandbytes")
    if bnb is None:
        return []
    return [name for name, module in backbone.named_modules() if isinstance(module, bnb.nn.Linear4bit)]


def load_quantized(
    source: str | Path,
    *,
    compute_dtype: torch.dtype = COMPUTE_DTYPE,
    dropout: float | None = None,
    attention_dropout: float | None = None,
) -> Backbone:
    """The network stored at ``source`` with its projections in 4-bit NF4 (QLoRA's frozen base); the
    rest (embeddings, norms) stays float32."""
    path = local_source(source)
    if source_family(path) == BIOGPT_FAMILY:
        network = load_network(path, dropout=dropout, attention_dropout=attention_dropout)
        quantize_projections(network, compute_dtype)
        return network
    if not path.is_dir():
        raise AdapterSetupError(
            f"peft=qlora: {path} is a Lightning checkpoint of a transformers backbone; the 4-bit base loads "
            "from a transformers model directory, such as the run's final/"
        )
    return HFBackbone.from_pretrained(
        path, dropout=dropout, attention_dropout=attention_dropout, quantization=nf4_config(compute_dtype)
    )


def quantized_entries(backbone: nn.Module) -> frozenset[str]:
    """The state-dict keys of ``backbone``'s 4-bit layers: their NF4 weights with the quantisation state
    (``absmax``, ``quant_map``, ``nested_*``, ``quant_state.*``) and their biases, which ``bitsandbytes``
    turns into the compute dtype in place at the first forward. All of it is the frozen base, which
    QLoRA never trains and :func:`load_quantized` rebuilds bit for bit from the float weights (NF4
    rounding is deterministic), so checkpoints leave it out."""
    layers = set(quantized_modules(backbone))
    return frozenset(
        key
        for key in backbone.state_dict(keep_vars=True)
        if key.rpartition(".bias")[0] in layers or key.partition(".weight")[0] in layers
    )


def with_float_base(
    state: Mapping[str, torch.Tensor], backbone: nn.Module, float_base: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """``state`` (weights of the 4-bit ``backbone`` with adapters, its 4-bit layers' entries present or
    not) with each 4-bit layer's weight and bias taken from the float base (``float_base``: the base
    network's state, without adapters) and the quantisation state left out: what merging adds the
    adapters' updates to, so that the merged model is the float base plus the update rather than its
    NF4 (and bf16 bias) rounding plus the update."""
    entries = quantized_entries(backbone)
    merged = {key: value for key, value in state.items() if key not in entries}
    for name in quantized_modules(backbone):
        for kind in ("weight", "bias"):
            key = f"{name}.{kind}"
            if (float_key := key.replace(".base_layer", "")) in float_base:
                merged[key] = float_base[float_key]
    return merged
