"""Tiny backbones of every family with LoRA adapters (``peft=lora``), shared by the adapter tests.

Adapters start with B = 0 (``peft``'s initialisation, so they change nothing); :func:`perturb_adapters`
draws B (and A) at random, as training would leave them, so that an adapter that is bypassed shows.
"""

from __future__ import annotations

from pathlib import Path

import torch
from family_models import family_network, family_tokenizer

from biogpt.model import BioGPT, BioGPTConfig
from biogpt.model.adapters import PeftSettings, add_adapters, is_adapter_weight, lora_config
from biogpt.model.backbone import Backbone
from biogpt.model.hf import HFBackbone
from biogpt.tokenizer import BioGPTTokenizer

ALL_FAMILIES = ("biogpt", "gpt2", "gpt_neo", "bart", "t5")
LORA = PeftSettings(method="lora", r=4, alpha=8.0, dropout=0.0)


def tiny_biogpt(seed: int = 0) -> BioGPT:
    torch.manual_seed(seed)
    config = BioGPTConfig.from_preset("tiny", vocab_size=300, dropout=0.0, attention_dropout=0.0)
    return BioGPT(config)


def biogpt_base_dir(directory: Path, vocab: Path) -> Path:
    """A tiny random BioGPT over the released vocabulary ``vocab``, saved in the Hugging Face layout (no
    tokenizer files: runs pair it with the released vocabulary): a base for adapters to train on."""
    tokenizer = BioGPTTokenizer.from_pretrained(vocab)
    torch.manual_seed(0)
    BioGPT(BioGPTConfig.from_preset("tiny", vocab_size=tokenizer.vocab_size)).save_pretrained(directory)
    return directory


def tiny_backbone(family: str, shared_data: Path, seed: int = 0) -> Backbone:
    """A 2-layer random network of ``family`` (ours for ``biogpt``), the same for the same seed."""
    if family == "biogpt":
        return tiny_biogpt(seed)
    return HFBackbone(family_network(family, family_tokenizer(family, shared_data), seed=seed))


def adapted(backbone: Backbone, settings: PeftSettings = LORA, base: str | None = None) -> Backbone:
    return add_adapters(backbone, lora_config(backbone, settings, base=base))


def perturb_adapters(backbone: Backbone, seed: int = 1) -> None:
    """Every adapter weight drawn at random (B non-zero), as training leaves them."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in backbone.named_parameters():
            if is_adapter_weight(name):
                param.copy_(torch.randn(param.shape, generator=generator) * 0.2)


def decoder_batch(vocab: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Two right-padded rows of random tokens."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (2, 7), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def family_batch(backbone: Backbone, seed: int = 0) -> dict[str, torch.Tensor]:
    """A batch of the backbone's kind (an encoder-decoder reads the same tokens on both sides)."""
    batch = decoder_batch(min(backbone.vocab_size, 300), seed)
    if backbone.kind == "decoder":
        return batch
    return {**batch, "encoder_ids": batch["input_ids"], "encoder_mask": batch["attention_mask"]}


# The final norm of each family's output side: what sets the scale of its logits.
FINAL_NORM = {
    "biogpt": "biogpt.layer_norm.weight",
    "gpt2": "transformer.ln_f.weight",
    "t5": "decoder.final_layer_norm.weight",
}
LOGIT_STD = 4.0


def confident_base(directory: Path, family: str) -> Path:
    """The hub-style model directory ``directory`` with the gain of its final norm set so that its logits
    have a standard deviation of :data:`LOGIT_STD` on a probe sequence, as a pre-trained model's are of
    that order. A random base's output distribution is nearly flat instead, and under LoRA its final
    norm is frozen: however well the adapters learn, no token's probability can approach the 0.6 that
    ``debug=overfit``'s memorisation check asks for (a 64-wide random BioGPT over the released
    vocabulary stays below 0.05). Nothing else changes; the adapters learn the task from scratch."""
    import transformers
    from safetensors.torch import load_file, save_file

    auto = transformers.AutoModelForSeq2SeqLM if family == "t5" else transformers.AutoModelForCausalLM
    network = auto.from_pretrained(str(directory)).eval()
    probe = torch.arange(3, 35)[None]
    with torch.no_grad():
        extra = {"decoder_input_ids": probe} if family == "t5" else {}
        std = float(network(input_ids=probe, **extra).logits.std())
    weights_file = directory / "model.safetensors"
    weights = load_file(weights_file)
    weights[FINAL_NORM[family]] = weights[FINAL_NORM[family]] * (LOGIT_STD / std)
    save_file(weights, weights_file, metadata={"format": "pt"})
    return directory
