"""LoRA adapters through ``peft`` on every backbone family (``peft=lora``): as many trainable weights as
``peft`` itself makes for the same config on the family's ``transformers`` class, gradients only into
the adapters (and a soft prompt's rows), a frozen base bitwise unchanged by training, and no path of our
BioGPT network (oneDNN, ``F.linear``, bf16, cached decoding) that skips an adapter.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from peft_models import (
    ALL_FAMILIES,
    adapted,
    decoder_batch,
    perturb_adapters,
    tiny_backbone,
    tiny_biogpt,
)
from project_commands import run_command

from biogpt.artifacts.backbone_source import BackboneSettings, adapter_base_reference
from biogpt.model import BioGPT, network
from biogpt.model.adapters import (
    AdapterSetupError,
    PeftSettings,
    adapted_config,
    check_device,
    is_adapter_weight,
    merged_weights,
)
from biogpt.training.finetune import PromptFineTuner
from biogpt.training.loss import summed_lm_loss
from biogpt.training.optim import OptimSettings, build_optimizer

peft = pytest.importorskip("peft")
transformers = pytest.importorskip("transformers")


def _transformers_model(family: str, shared_data: Path, tmp_path: Path) -> torch.nn.Module:
    """The family's own transformers class with the same random weights as ``tiny_backbone``."""
    backbone = tiny_backbone(family, shared_data)
    if family != "biogpt":
        return backbone.network
    backbone.save_pretrained(tmp_path / "base")
    return transformers.BioGptForCausalLM.from_pretrained(str(tmp_path / "base"))


@pytest.mark.parametrize("family", ALL_FAMILIES)
def test_trainable_weights_are_those_peft_makes_on_the_transformers_class(
    family: str, shared_data: Path, tmp_path: Path
) -> None:
    ours = adapted(tiny_backbone(family, shared_data))
    trainable = {name: p.numel() for name, p in ours.named_parameters() if p.requires_grad}
    assert trainable and all(is_adapter_weight(name) for name in trainable)

    config = adapted_config(ours)
    reference = peft.get_peft_model(_transformers_model(family, shared_data, tmp_path), copy.deepcopy(config))
    assert sum(trainable.values()) == reference.get_nb_trainable_parameters()[0]
    # the same modules are adapted, under the transformers class's names
    theirs = {
        name.removeprefix("base_model.model.").replace(".default", "")
        for name, p in reference.named_parameters()
        if p.requires_grad
    }
    assert {ours.transformers_name(name).replace(".default", "") for name in trainable} == theirs


def test_every_family_adapts_all_its_attention_and_feed_forward_projections(shared_data: Path) -> None:
    # 2 layers a side: BioGPT q,k,v,out,fc1,fc2; GPT-2 c_attn, attention and MLP c_proj, c_fc; GPT-Neo
    # q,k,v,out,c_fc,c_proj; BART and T5 encoder 4+2, decoder 4+4+2 (self and cross-attention, MLP)
    expected = {"biogpt": 12, "gpt2": 8, "gpt_neo": 12, "bart": 32, "t5": 32}
    for family, count in expected.items():
        backbone = adapted(tiny_backbone(family, shared_data))
        modules = {name.split(".lora_A")[0] for name, _ in backbone.named_parameters() if ".lora_A" in name}
        assert len(modules) == count, (family, sorted(modules))


def test_adapters_need_pretrained_weights_and_name_them_absolutely(tmp_path: Path) -> None:
    with pytest.raises(AdapterSetupError, match="model.init is null"):
        adapter_base_reference(BackboneSettings(preset="tiny", init=None))
    (tmp_path / "base").mkdir()
    local = BackboneSettings(init=str(tmp_path / "base" / ".." / "base"))
    assert adapter_base_reference(local) == str((tmp_path / "base").resolve())
    assert adapter_base_reference(BackboneSettings(init="microsoft/biogpt")) == "microsoft/biogpt"


def test_target_modules_that_match_nothing_name_the_family_defaults() -> None:
    with pytest.raises(AdapterSetupError, match=r"q_proj.*fc2"):
        adapted(tiny_biogpt(), PeftSettings(method="lora", target_modules=("c_attn",)))


@pytest.mark.parametrize("family", ["biogpt", "gpt2"])
def test_only_adapters_and_prompt_rows_train_and_the_base_stays_bitwise(
    family: str, shared_data: Path
) -> None:
    backbone = tiny_backbone(family, shared_data)
    base_rows = backbone.vocab_size
    prompt = torch.randn(3, backbone.input_embeddings().weight.shape[1]) * 0.1
    backbone.grow_embeddings(prompt)  # a soft prompt of 3 rows
    adapted(backbone)
    before = {name: p.detach().clone() for name, p in backbone.named_parameters()}
    module = PromptFineTuner(
        backbone, OptimSettings(lr=1e-2, warmup_updates=0), base_vocab_size=base_rows, adapters=True
    )
    optimizer, _ = build_optimizer(module.optim, module.optimizer_groups())
    batch = decoder_batch(base_rows)
    batch["input_ids"][:, 2:5] = torch.arange(base_rows, base_rows + 3)  # the prompt's rows are read
    targets = batch["input_ids"].roll(-1, 1).masked_fill(batch["attention_mask"] == 0, -100)
    for _ in range(3):
        optimizer.zero_grad()
        total, _ = summed_lm_loss(backbone.batch_logits(batch), targets)
        total.backward()
        optimizer.step()

    embedding = next(n for n, p in backbone.named_parameters() if p is backbone.input_embeddings().weight)
    for name, param in backbone.named_parameters():
        if is_adapter_weight(name):
            assert param.grad is not None and not torch.equal(param, before[name]), name
        elif name == embedding:
            assert torch.equal(param[:base_rows], before[name][:base_rows])
            assert not torch.equal(param[base_rows:], before[name][base_rows:])
            assert not param.grad[:base_rows].any()
        else:
            assert param.grad is None and torch.equal(param, before[name]), name


def _logits(model: BioGPT, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(ids, mask).float()


def _decoded(model: BioGPT, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Next-token logits of the prefix's last token by cached decoding (prefix, then one step)."""
    with torch.no_grad():
        _, cache = model.begin_decoding(ids[:, :-1], mask[:, :-1], ids.shape[1])
        return model.continue_decoding(ids[:, -1], mask, cache).float()


@pytest.mark.parametrize(
    ("path", "dtype", "tolerance"),
    [("onednn", torch.float32, 1e-4), ("f_linear", torch.float32, 1e-4), ("f_linear", torch.bfloat16, 0.1)],
)
def test_no_path_of_our_network_skips_an_adapter(
    path: str, dtype: torch.dtype, tolerance: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With random (non-zero) B, every path computes what the merged network computes, which differs
    from the base's output: each adapter is applied exactly once, in the forward and in decoding."""
    if path == "onednn" and not network.ONEDNN_AVAILABLE:
        pytest.skip("oneDNN linear not available")
    monkeypatch.setattr(network, "ONEDNN_LINEAR", path == "onednn")
    if path == "onednn":
        monkeypatch.setattr(network, "ONEDNN_MIN_ROWS", 1)
        monkeypatch.setattr(network, "ONEDNN_MIN_FEATURES", 1)
        monkeypatch.setattr(network, "ONEDNN_TRAINING", True)
        calls = []
        original = network._onednn_linear
        monkeypatch.setattr(network, "_onednn_linear", lambda *a: calls.append(1) or original(*a))
    base = tiny_biogpt()
    model = adapted(copy.deepcopy(base))
    perturb_adapters(model)
    merged = copy.deepcopy(base)
    merged.load_state_dict(merged_weights(model.state_dict(), adapted_config(model)))
    model, merged, base = (m.to(dtype).eval() for m in (model, merged, base))
    batch = decoder_batch(300)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    for run in (_logits, _decoded):
        ours, expected, unadapted = run(model, ids, mask), run(merged, ids, mask), run(base, ids, mask)
        assert (ours - expected).abs().max() < tolerance, run.__name__
        assert (ours - unadapted).abs().max() > 20 * tolerance, run.__name__
    if path == "onednn":
        assert calls  # the frozen base projections still run through oneDNN under the adapters


@pytest.mark.parametrize("family", ["biogpt", "gpt2", "t5"])
def test_merged_weights_are_what_peft_merges(family: str, shared_data: Path) -> None:
    model = adapted(tiny_backbone(family, shared_data))
    perturb_adapters(model)
    ours = merged_weights(model.state_dict(), adapted_config(model))
    reference = copy.deepcopy(model)
    layers = {n: m for n, m in reference.named_modules() if isinstance(m, peft.tuners.lora.LoraLayer)}
    for layer in layers.values():
        layer.merge()  # peft's own merge, into each base layer
    expected = {
        name.replace(".base_layer", ""): value
        for name, value in reference.state_dict().items()
        if not is_adapter_weight(name)
    }
    assert ours.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(ours[key], value, atol=1e-6, rtol=1e-6)
    changed = [name + ".weight" for name in layers]
    unadapted = tiny_backbone(family, shared_data).state_dict()
    assert all(not torch.allclose(ours[key], unadapted[key]) for key in changed)


def test_qlora_without_a_gpu_is_refused_before_loading_anything(tmp_path: Path, shared_data: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: qlora is refused there for another reason")
    with pytest.raises(AdapterSetupError, match="needs a CUDA GPU"):
        check_device(PeftSettings(method="qlora"))
    result = run_command(
        [
            "train.py",
            "peft=qlora",
            "model.init=no-such-org/no-such-model",  # loading anything would fail on this first
            f"hydra.run.dir={tmp_path / 'run'}",
            f"data_dir={shared_data}",
            "task=ddi",
        ],
        timeout=300,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: peft=qlora") and "Traceback" not in result.stderr
