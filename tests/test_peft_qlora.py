"""QLoRA's 4-bit base (:mod:`biogpt.model.quantized`) at library level, on ``bitsandbytes``' CPU kernels:
both loading paths (our BioGPT's projections replaced by ``Linear4bit``; a ``transformers`` family through
``BitsAndBytesConfig``) give NF4 projection weights whose forward matches the float32 base computed with
the same (dequantised) weights to bf16 rounding and the original base to NF4's quantisation error; LoRA
adapters on the 4-bit base are the only weights that train, lower the loss, and save as an adapter that
loads onto the float32 base. ``train.py`` refuses ``peft=qlora`` on a CPU (tests/test_peft.py); with
that policy lifted, a GPT-2 run through ``train()`` merges its adapters into the float32 ``Conv1D`` base
as ``peft`` does (our BioGPT's QLoRA run, resume and averaging: tests/test_peft_resume.py).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
from family_models import family_model_dir
from hydra_config import compose_train
from peft_models import LORA, adapted, decoder_batch, family_batch, perturb_adapters, tiny_biogpt

from biogpt.experiment.finetune import train
from biogpt.model import BioGPT
from biogpt.model.adapters import (
    ADAPTER_CONFIG_FILE,
    ADAPTER_DIR,
    is_adapter_weight,
    load_adapter,
    save_adapter,
)
from biogpt.model.backbone import Backbone
from biogpt.model.loading import load_network
from biogpt.model.quantized import QUANT_TYPE, load_quantized, quantized_modules
from biogpt.training.loss import summed_lm_loss

pytest.importorskip("peft")
bnb = pytest.importorskip("bitsandbytes")

# bf16 compute keeps about 3 significant digits: the 4-bit network against the float32 network holding
# the same dequantised weights, relative to the largest logit.
BF16_TOLERANCE = 0.03
# NF4 (16 levels per block of 64 weights) against the original float32 weights: at most half the widest
# gap between NF4's levels (0.28 of the block's absmax) per weight; on a 2-layer network's logits the
# error stays within this fraction of the largest logit.
NF4_TOLERANCE = 0.25


def _base_dir(family: str, directory: Path, shared_data: Path) -> Path:
    if family == "biogpt":
        return tiny_biogpt().save_pretrained(directory)
    return family_model_dir(family, directory, shared_data, width=64)


def _dequantised(network: Backbone) -> Backbone:
    """A float32 copy of the 4-bit ``network`` holding each projection's dequantised weight."""
    copied = copy.deepcopy(network)
    for name in quantized_modules(network):
        layer = network.get_submodule(name)
        weight = bnb.functional.dequantize_4bit(layer.weight.data, layer.weight.quant_state).float()
        parent_name, _, child = name.rpartition(".")
        plain = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
        with torch.no_grad():
            plain.weight.copy_(weight)
            if layer.bias is not None:
                plain.bias.copy_(layer.bias.float())
        setattr(copied.get_submodule(parent_name), child, plain)
    return copied


def _logits(network: Backbone, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return network.eval().batch_logits(batch).float()


@pytest.mark.parametrize("family", ["biogpt", "gpt2", "t5"])
def test_the_4bit_base_holds_nf4_projections_that_compute_like_the_float32_base(
    family: str, tmp_path: Path, shared_data: Path
) -> None:
    source = _base_dir(family, tmp_path / "base", shared_data)
    base = load_network(source)
    quantized = load_quantized(source)
    layers = quantized_modules(quantized)
    # every adaptable projection but those transformers keeps in float32 for the family (T5's wo)
    kept = set(getattr(getattr(base, "network", base), "_keep_in_fp32_modules", None) or ())
    targets = set(base.adapter_targets) - kept
    projections = [n for n, _ in base.named_modules() if n.rpartition(".")[2] in targets]
    assert len(projections) >= 8 and set(projections) <= set(layers)
    for name in layers:
        weight = quantized.get_submodule(name).weight
        assert weight.dtype == torch.uint8 and weight.quant_state.quant_type == QUANT_TYPE, name
        assert weight.numel() * 2 == weight.quant_state.shape.numel(), name  # two 4-bit codes a byte
    dequantised = _dequantised(quantized)  # before a forward: the CPU kernels may repack weights in it
    batch = family_batch(base)
    expected = _logits(base, batch)
    scale = float(expected.abs().max())
    got = _logits(quantized, batch)
    assert float((got - _logits(dequantised, batch)).abs().max()) <= BF16_TOLERANCE * scale
    difference = float((got - expected).abs().max())
    assert 0 < difference <= NF4_TOLERANCE * scale, (difference, scale)


@pytest.mark.parametrize("family", ["biogpt", "gpt2"])
def test_lora_on_the_4bit_base_trains_only_adapters_and_saves_one_the_float32_base_loads(
    family: str, tmp_path: Path, shared_data: Path
) -> None:
    source = _base_dir(family, tmp_path / "base", shared_data)
    model = adapted(load_quantized(source), LORA, base=str(source))
    frozen = {name: t.clone() for name, t in model.state_dict().items() if not is_adapter_weight(name)}
    trainable = [name for name, param in model.named_parameters() if param.requires_grad]
    assert trainable and all(is_adapter_weight(name) for name in trainable)
    quantized = {name.removesuffix(".base_layer") for name in quantized_modules(model)}
    assert {name.split(".lora_")[0] for name in trainable} == quantized

    batch = decoder_batch(min(model.vocab_size, 300))
    targets = batch["input_ids"].roll(-1, 1).masked_fill(batch["attention_mask"] == 0, -100)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    model.train()
    for _ in range(5):
        optimizer.zero_grad()
        total, count = summed_lm_loss(model.batch_logits(batch), targets)
        (total / count).backward()
        optimizer.step()
        losses.append(float(total / count))
    assert losses[-1] < losses[0], losses
    for name, tensor in model.state_dict().items():
        if not is_adapter_weight(name):
            assert torch.equal(tensor, frozen[name]), name  # the 4-bit base and its scales bitwise

    perturb_adapters(model)  # an adapter that moved the output far from the base's
    save_adapter(tmp_path / "adapter", model, model.state_dict())
    loaded = load_adapter(load_network(source), tmp_path / "adapter")
    stored = {n: p for n, p in model.named_parameters() if is_adapter_weight(n)}
    for name, param in loaded.named_parameters():
        if is_adapter_weight(name):
            assert torch.equal(param, stored[name]), name
    expected = _logits(loaded, batch)
    got = _logits(model, batch)
    assert float((got - expected).abs().max()) <= NF4_TOLERANCE * float(expected.abs().max())


def test_our_biogpt_keeps_its_tied_output_layer_and_norms_in_float32(tmp_path: Path) -> None:
    source = tiny_biogpt().save_pretrained(tmp_path / "base")
    quantized = load_quantized(source)
    assert isinstance(quantized, BioGPT)
    for name, param in quantized.named_parameters():
        if "norm" in name or "embed" in name:
            assert param.dtype == torch.float32, name


def test_train_merges_gpt2_qlora_adapters_into_its_float32_conv1d_base(
    tmp_path: Path, shared_data: Path, token_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bitsandbytes replaces GPT-2's ``Conv1D`` projections by ``Linear4bit`` (peft then adapts them with
    ``fan_in_fan_out`` off) and turns their biases into bf16; the adapter recorded and the merge follow
    the float32 base's layout and take its biases."""
    from peft import PeftModel
    from transformers import GPT2LMHeadModel

    monkeypatch.setattr("biogpt.experiment.build.check_device", lambda settings: None)  # bnb's CPU kernels
    source = family_model_dir("gpt2", tmp_path / "base", shared_data, width=64)
    network = GPT2LMHeadModel.from_pretrained(source)
    with torch.no_grad():  # non-zero biases, which bitsandbytes rounds to bf16 in its layers
        for name, param in network.named_parameters():
            if name.endswith("bias"):
                param.copy_(torch.randn(param.shape, generator=torch.Generator().manual_seed(0)) * 0.1)
    network.save_pretrained(source)
    settings = [
        "task=ddi", f"model.init={source}", "prompt=hard", "peft=qlora", "peft.r=4", "data.splits.train=test",
        "data.train_shots=4", "task.max_source_positions=32", "trainer.max_epochs=2", "optim.lr=1e-2",
        "optim.warmup_updates=1", "eval.split=null", "trainer.limit_val_batches=0", "keep_last_epochs=0",
        "select.final=last", "checkpoint.every_n_updates=null", "logger={}",
        "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
    ]  # fmt: skip
    summary = train(compose_train(tmp_path / "run", shared_data, settings, cache_dir=token_cache))
    final = Path(summary["final_model"])

    config = json.loads((final / ADAPTER_DIR / ADAPTER_CONFIG_FILE).read_text())
    assert config["fan_in_fan_out"] is True and config["base_model_name_or_path"] == str(source)
    adapted = PeftModel.from_pretrained(GPT2LMHeadModel.from_pretrained(source), final / ADAPTER_DIR)
    expected = adapted.merge_and_unload().state_dict()
    got = GPT2LMHeadModel.from_pretrained(final).state_dict()
    base = GPT2LMHeadModel.from_pretrained(source).state_dict()
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        torch.testing.assert_close(got[name], value, rtol=0, atol=1e-6, msg=name)
    assert max(float((got[n] - base[n]).abs().max()) for n in base) > 1e-4  # the adapters trained
