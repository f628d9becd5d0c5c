"""What a ``peft`` run leaves in ``final/``: ``final/adapter/``, a ``peft`` adapter directory that ``peft``
and ``transformers`` load as it is (``PeftModel.from_pretrained`` on ``BioGptForCausalLM`` for our
BioGPT, on ``GPT2LMHeadModel`` for GPT-2) and that computes our merged ``final/``'s logits; and, with
``merge=false``, a ``final/`` of adapter, base reference and soft-prompt rows that loads unmerged and
decodes what the merged one decodes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from family_models import family_network, family_tokenizer
from peft_models import LORA, adapted, decoder_batch, perturb_adapters

from biogpt.artifacts.model_dir import save_model_dir
from biogpt.generation import GenerationSettings, generate
from biogpt.model import BioGPT, BioGPTConfig
from biogpt.model.adapters import ADAPTER_CONFIG_FILE, ADAPTER_DIR, ADAPTER_WEIGHTS_FILE, PROMPT_ROWS_FILE
from biogpt.model.hf import HFBackbone
from biogpt.model.loading import load_network
from biogpt.prompts import PromptSettings
from biogpt.tokenizer import BioGPTTokenizer

peft = pytest.importorskip("peft")
transformers = pytest.importorskip("transformers")
FP32_TOLERANCE = 1e-4


def _biogpt_base(directory: Path, vocab: Path) -> tuple[Path, BioGPTTokenizer]:
    """A tiny random BioGPT over the released vocabulary, saved in the Hugging Face layout."""
    tokenizer = BioGPTTokenizer.from_pretrained(vocab)
    torch.manual_seed(0)
    config = BioGPTConfig.from_preset(
        "tiny", vocab_size=tokenizer.vocab_size, dropout=0.0, attention_dropout=0.0
    )
    BioGPT(config).save_pretrained(directory)
    return directory, tokenizer


def _gpt2_base(directory: Path, shared_data: Path) -> tuple[Path, object]:
    tokenizer = family_tokenizer("gpt2", shared_data)
    family_network("gpt2", tokenizer).save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory, tokenizer


def _logits(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        if hasattr(model, "batch_logits"):
            return model.eval().batch_logits(batch)
        positions = (batch["attention_mask"].cumsum(1) - 1).clamp(min=0)
        return model.eval()(**batch, position_ids=positions).logits


@pytest.mark.parametrize("family", ["biogpt", "gpt2"])
def test_the_adapter_loads_in_peft_on_the_transformers_class_and_gives_the_merged_logits(
    family: str, tmp_path: Path, shared_data: Path, biogpt_vocab: Path
) -> None:
    if family == "biogpt":
        base, tokenizer = _biogpt_base(tmp_path / "base", biogpt_vocab)
        transformers_class = transformers.BioGptForCausalLM
    else:
        base, tokenizer = _gpt2_base(tmp_path / "base", shared_data)
        transformers_class = transformers.GPT2LMHeadModel
    model = adapted(load_network(base), LORA, base=str(base))
    perturb_adapters(model)
    final = save_model_dir(tmp_path / "final", model, tokenizer)

    adapter_dir = final / ADAPTER_DIR
    assert sorted(p.name for p in adapter_dir.iterdir()) == [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE]
    assert json.loads((adapter_dir / ADAPTER_CONFIG_FILE).read_text())["base_model_name_or_path"] == str(base)
    theirs = peft.PeftModel.from_pretrained(transformers_class.from_pretrained(str(base)), str(adapter_dir))
    merged = load_network(final)  # final/ is a plain model directory: the merged full model
    assert type(merged) is (BioGPT if family == "biogpt" else HFBackbone)
    assert not any("lora" in name for name, _ in merged.named_parameters())
    batch = decoder_batch(300)
    ours, reference = _logits(merged, batch), _logits(theirs, batch)
    real = batch["attention_mask"].bool()
    assert (ours[real] - reference[real]).abs().max() < FP32_TOLERANCE
    unadapted = _logits(transformers_class.from_pretrained(str(base)), batch)
    assert (ours[real] - unadapted[real]).abs().max() > 100 * FP32_TOLERANCE  # the adapter counts


def test_an_unmerged_final_loads_base_adapter_and_prompt_rows_and_decodes_as_the_merged_one(
    tmp_path: Path, biogpt_vocab: Path
) -> None:
    base, tokenizer = _biogpt_base(tmp_path / "base", biogpt_vocab)
    model = load_network(base)
    base_rows = model.vocab_size
    prompt = PromptSettings(kind="soft", length=3)
    model.grow_embeddings(torch.randn(3, model.config.hidden_size) * 0.1)  # trained prompt rows
    tokenizer.add_tokens(prompt.soft_tokens)
    adapted(model, LORA, base=str(base))
    perturb_adapters(model)
    state = model.state_dict()
    merged_dir = save_model_dir(tmp_path / "merged", model, tokenizer, prompt, weights=state)
    unmerged_dir = save_model_dir(
        tmp_path / "unmerged", model, tokenizer, prompt, weights=state, merge=False, base_rows=base_rows
    )
    assert not (unmerged_dir / "config.json").exists() and (unmerged_dir / PROMPT_ROWS_FILE).is_file()
    assert (unmerged_dir / ADAPTER_DIR / ADAPTER_WEIGHTS_FILE).is_file()

    merged, unmerged = load_network(merged_dir), load_network(unmerged_dir)
    assert unmerged.vocab_size == merged.vocab_size == base_rows + 3
    assert any("lora_B" in name for name, _ in unmerged.named_parameters())
    batch = decoder_batch(base_rows + 3)
    torch.testing.assert_close(_logits(unmerged, batch), _logits(merged, batch), atol=1e-5, rtol=1e-5)
    prefixes = [[2, 17, 400, 9, base_rows, base_rows + 1, base_rows + 2], [2, 33, base_rows, base_rows + 1]]
    config = GenerationSettings(max_new_tokens=12)
    kwargs = {"eos_id": tokenizer.eos_id, "pad_id": tokenizer.pad_id}
    assert generate(unmerged, prefixes, config, **kwargs) == generate(merged, prefixes, config, **kwargs)


def test_an_unmerged_gpt2_final_with_prompt_rows_computes_the_merged_logits(
    tmp_path: Path, shared_data: Path
) -> None:
    base, tokenizer = _gpt2_base(tmp_path / "base", shared_data)
    model = load_network(base)
    base_rows = model.vocab_size
    model.grow_embeddings(torch.randn(2, model.input_embeddings().weight.shape[1]) * 0.1)
    adapted(model, LORA, base=str(base))
    perturb_adapters(model)
    state = model.state_dict()
    merged = load_network(save_model_dir(tmp_path / "merged", model, tokenizer, weights=state))
    unmerged_dir = save_model_dir(
        tmp_path / "unmerged", model, tokenizer, weights=state, merge=False, base_rows=base_rows
    )
    unmerged = load_network(unmerged_dir)
    assert unmerged.vocab_size == merged.vocab_size == base_rows + 2
    batch = decoder_batch(base_rows + 2)
    batch["input_ids"][:, 1:3] = torch.tensor([base_rows, base_rows + 1])  # the prompt rows are read
    torch.testing.assert_close(_logits(unmerged, batch), _logits(merged, batch), atol=1e-5, rtol=1e-5)
