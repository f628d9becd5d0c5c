"""Run artifacts: which vocabulary goes with which model source, prompts that do not touch the
tokenizer behind the caller's back, the package's public names, and the progress bar's title."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from hydra import compose, initialize_config_dir

from biogpt.artifacts.model_dir import load_generator
from biogpt.artifacts.vocabulary import released_vocabulary, vocabulary_source
from biogpt.experiment.config.paths import CONF_DIR
from biogpt.experiment.generate import continue_text
from biogpt.generation import GenerationSettings, generate
from biogpt.model import PRESETS, BioGPT, BioGPTConfig
from biogpt.model.weights import LIGHTNING_CONFIG_KEY
from biogpt.prompts import PromptSettings, prompt_tokens
from biogpt.tokenizer import BioGPTTokenizer
from biogpt.training.progress import UpdateProgressBar

TEXT = "Aspirin inhibits"
LARGE_VOCABULARY = PRESETS["biogpt-large"].vocab_size


def _tiny(vocab_size: int, seed: int = 5) -> BioGPT:
    torch.manual_seed(seed)
    return BioGPT(BioGPTConfig.from_preset("tiny", vocab_size=vocab_size)).eval()


def _greedy(model: BioGPT, tokenizer: BioGPTTokenizer, new_tokens: int) -> str:
    prefix = [tokenizer.eos_id, *tokenizer.encode(TEXT)]
    config = GenerationSettings(max_new_tokens=new_tokens, beam=1)
    [continuation] = generate(model, [prefix], config, eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id)
    return tokenizer.decode(prefix[1:] + continuation)


def _generate_cfg(ckpt: str | Path, data_dir: Path, new_tokens: int):
    overrides = [f"ckpt={ckpt}", f"text={TEXT}", "beam=1", f"max_len={new_tokens}", f"data_dir={data_dir}"]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="generate", overrides=overrides)


def test_the_package_root_exports_the_model_and_tokenizer_classes() -> None:
    from biogpt import BioGPT as RootModel
    from biogpt import BioGPTConfig as RootConfig
    from biogpt import BioGPTTokenizer as RootTokenizer

    assert (RootModel, RootConfig, RootTokenizer) == (BioGPT, BioGPTConfig, BioGPTTokenizer)


def test_generation_uses_the_vocabulary_of_a_biogpt_large_shaped_model(
    tmp_path: Path, shared_data: Path
) -> None:
    large = BioGPTTokenizer.from_pretrained(shared_data / "vocab" / "biogpt-large")
    assert large.vocab_size == LARGE_VOCABULARY
    model = _tiny(LARGE_VOCABULARY)
    expected = _greedy(model, large, 6)
    # A model directory with its own vocabulary.
    directory = tmp_path / "large"
    model.save_pretrained(directory)
    large.save_pretrained(directory)
    assert continue_text(_generate_cfg(directory, shared_data, 6)) == expected
    # A bare checkpoint file holds no vocabulary: the released one of the model's shape goes with it.
    checkpoint = tmp_path / "large.ckpt"
    state = {f"model.{name}": value for name, value in model.state_dict().items()}
    torch.save({"state_dict": state, LIGHTNING_CONFIG_KEY: model.config.to_dict()}, checkpoint)
    assert vocabulary_source(
        str(checkpoint), model.config.vocab_size, tokenizer=None, vocab_root=shared_data / "vocab"
    ) == (shared_data / "vocab" / "biogpt-large")
    assert continue_text(_generate_cfg(checkpoint, shared_data, 6)) == expected
    # A BioGPT-shaped one (with prompt rows past the dictionary) goes with BioGPT's.
    assert released_vocabulary(Path("v"), 42_384 + 9) == Path("v/biogpt")


def test_a_hub_id_uses_its_own_tokenizer_files(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.chdir(tmp_path)
    # A hub model whose tokenizer adds two tokens to the released vocabulary.
    tokenizer = BioGPTTokenizer.from_pretrained(shared_data / "vocab" / "biogpt")
    tokenizer.add_tokens(["<hub-one>", "<hub-two>"])
    model = _tiny(tokenizer.vocab_size)
    repo = tmp_path / "hub" / "models--someone--tiny-biogpt"
    revision = "0123456789abcdef0123456789abcdef01234567"
    model.save_pretrained(repo / "snapshots" / revision)
    tokenizer.save_pretrained(repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    hub_id = "someone/tiny-biogpt"
    assert (
        vocabulary_source(hub_id, model.config.vocab_size, tokenizer=None, vocab_root=shared_data / "vocab")
        == hub_id
    )
    loaded = load_generator(hub_id, vocab_root=shared_data / "vocab", prompt=PromptSettings(kind="none"))
    assert loaded.tokenizer.added_tokens == ("<hub-one>", "<hub-two>")
    assert loaded.tokenizer.vocab_size == model.config.vocab_size
    assert continue_text(_generate_cfg(hub_id, shared_data, 5)) == _greedy(model, tokenizer, 5)


def test_the_prompt_step_returns_what_it_adds_and_leaves_the_tokenizer_unchanged(biogpt_vocab: Path) -> None:
    tokenizer = BioGPTTokenizer.from_pretrained(biogpt_vocab)
    soft = PromptSettings(kind="soft", length=3)
    tokens = prompt_tokens(soft, tokenizer)
    assert tokenizer.vocab_size == 42_384 and tokenizer.added_tokens == ()
    assert tokens.ids == (42_384, 42_385, 42_386)
    assert tokens.new_tokens == ("learned1", "learned2", "learned3")
    tokenizer.add_tokens(tokens.new_tokens)
    assert [tokenizer.token_to_id(token) for token in tokens.new_tokens] == list(tokens.ids)
    again = prompt_tokens(soft, tokenizer)
    assert again.ids == tokens.ids and again.new_tokens == ()
    hard = prompt_tokens(PromptSettings(kind="hard", text="we can conclude that"), tokenizer)
    assert hard.ids == tuple(tokenizer.encode("we can conclude that")) and hard.new_tokens == ()


@pytest.mark.parametrize(
    ("max_epochs", "max_steps", "title"),
    [(-1, 200, "Epoch 3 · update 120/200"), (10, 200, "Epoch 3/9 · update 120/200"), (10, -1, "Epoch 3/9")],
)
def test_the_progress_bar_counts_updates_when_they_bound_the_run(
    max_epochs: int, max_steps: int, title: str
) -> None:
    bar = UpdateProgressBar()
    trainer = L.Trainer(max_epochs=max_epochs, max_steps=max_steps, logger=False, callbacks=[bar])
    trainer.fit_loop.epoch_loop._batches_that_stepped = 120  # what trainer.global_step reports
    trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress.total.completed = 120
    trainer.fit_loop.epoch_loop.automatic_optimization.optim_progress.optimizer.step.total.completed = 120
    bar._trainer = trainer
    assert trainer.global_step == 120
    assert bar._get_train_description(3).strip() == title
