"""The domain-specificity study's experiments (``experiment=study/<dataset>``): every one composes with the
study's backbones, decoder-only and encoder-decoder, in both settings, and resolves to the study's recipe,
with the few-shot epochs of each backbone's row of the study's table; the paper's experiments keep theirs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra_config import compose_train
from omegaconf.errors import InterpolationResolutionError

from biogpt.experiment.config.settings import optim_settings, select_settings
from biogpt.training.optim import OptimSettings
from biogpt.training.selection import SelectSettings

EXPERIMENTS = {"cdr": "cdr", "chemprot": "chemprot", "dce": "dce", "ddi": "ddi2013"}
# The study README's few-shot epochs (16-shot, 64-shot) of some of its backbones.
FEW_SHOT_EPOCHS = {
    "google-t5/t5-small": (160, 60),
    "google/flan-t5-small": (160, 60),
    "google/flan-t5-base": (100, 40),
    "razent/SciFive-base-Pubmed": (100, 40),
    "google/flan-t5-large": (50, 30),
    "facebook/bart-base": (130, 50),
    "GanjinZero/biobart-v2-base": (130, 50),
    "cogint/in-boxbart": (130, 50),
    "facebook/bart-large": (75, 35),
    "GanjinZero/biobart-v2-large": (75, 35),
}
DECODERS = (
    "openai-community/gpt2-medium",
    "EleutherAI/gpt-neo-2.7B",
    "microsoft/biogpt",
    "stanford-crfm/BioMedLM",
)
STUDY_OPTIM = OptimSettings(
    lr=5e-5,
    warmup_updates=0,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    schedule="linear",
    warmup_fraction=0.1,
)


@pytest.mark.parametrize("experiment", sorted(EXPERIMENTS))
@pytest.mark.parametrize(
    "model", ["google/flan-t5-base", "facebook/bart-large", "openai-community/gpt2-medium"]
)
def test_full_data_runs_train_30_epochs_and_test_the_best_validated_epoch(
    experiment: str, model: str, tmp_path: Path, shared_data: Path
) -> None:
    cfg = compose_train(tmp_path, shared_data, [f"experiment=study/{experiment}", f"model={model}"])
    assert cfg.task.name == EXPERIMENTS[experiment] and cfg.model.init == model
    assert cfg.target_format.name == "study" and cfg.prompt.kind == "none"
    assert optim_settings(cfg) == STUDY_OPTIM
    assert cfg.data.batch_size == 1 and cfg.data.max_tokens is None and cfg.data.update_freq == 32
    assert cfg.data.loss_on == "target" and cfg.data.train_shots is None
    assert cfg.trainer.max_epochs == 30 and cfg.trainer.precision == "32-true"
    assert cfg.trainer.gradient_clip_val == 1.0
    assert select_settings(cfg) == SelectSettings(final="best", metric="f1", from_epoch=10, every_n_epochs=1)
    assert cfg.eval.split == "test" and cfg.eval.generation.beam == 1
    # transformers' max_length: 512 decoder tokens with the start token; 1,024 positions in all.
    assert cfg.eval.generation.max_new_tokens == (1024 if model in DECODERS else 511)


@pytest.mark.parametrize("experiment", sorted(EXPERIMENTS))
@pytest.mark.parametrize(("model", "epochs"), sorted(FEW_SHOT_EPOCHS.items()))
def test_few_shot_runs_take_the_backbones_epochs_and_test_the_last_weights(
    experiment: str, model: str, epochs: tuple[int, int], tmp_path: Path, shared_data: Path
) -> None:
    for shots, expected in zip((16, 64), epochs, strict=True):
        # The backbone before or after the experiment on the command line, as a multirun gives it.
        for order in (
            [f"experiment=study/{experiment}", f"model={model}"],
            [f"model={model}", f"experiment=study/{experiment}"],
        ):
            cfg = compose_train(tmp_path, shared_data, [*order, f"data.train_shots={shots}", "seed=3"])
            assert cfg.model.init == model and cfg.data.train_shots == shots
            assert cfg.trainer.max_epochs == expected and cfg.task.max_epochs == expected
            assert select_settings(cfg).final == "last" and cfg.eval.split == "test"
            assert optim_settings(cfg) == STUDY_OPTIM


def test_the_default_backbone_is_flan_t5_large(tmp_path: Path, shared_data: Path) -> None:
    cfg = compose_train(tmp_path, shared_data, ["experiment=study/cdr", "data.train_shots=16"])
    assert cfg.model.init == "google/flan-t5-large" and cfg.trainer.max_epochs == 50


@pytest.mark.parametrize("model", DECODERS)
def test_few_shot_with_a_decoder_only_backbone_asks_for_the_epochs(
    model: str, tmp_path: Path, shared_data: Path
) -> None:
    """The study ran no decoder-only few-shot training: no epochs to guess, the error says what to set."""
    cfg = compose_train(
        tmp_path, shared_data, ["experiment=study/ddi", f"model={model}", "data.train_shots=16"]
    )
    with pytest.raises(InterpolationResolutionError, match=r"set task.max_epochs=<value>"):
        _ = cfg.trainer.max_epochs
    chosen = compose_train(
        tmp_path,
        shared_data,
        ["experiment=study/ddi", f"model={model}", "data.train_shots=16", "task.max_epochs=40"],
    )
    assert chosen.trainer.max_epochs == 40 and select_settings(chosen).final == "last"


def test_a_few_shot_count_outside_the_table_is_named_with_the_known_ones(
    tmp_path: Path, shared_data: Path
) -> None:
    cfg = compose_train(
        tmp_path, shared_data, ["experiment=study/cdr", "model=facebook/bart-base", "data.train_shots=32"]
    )
    with pytest.raises(InterpolationResolutionError, match="known counts: 16, 64"):
        _ = cfg.task.max_epochs


@pytest.mark.parametrize("task", ["kd_dti", "ddi", "bc5cdr", "pubmedqa", "hoc"])
def test_the_paper_experiments_keep_their_schedule_and_final_model(
    task: str, tmp_path: Path, shared_data: Path
) -> None:
    cfg = compose_train(tmp_path, shared_data, [f"experiment=paper/{task}"])
    optim = optim_settings(cfg)
    assert optim.schedule == "inverse_sqrt" and optim.betas == (0.9, 0.98) and optim.weight_decay == 0.01
    assert select_settings(cfg).final == ("average" if cfg.task.average_checkpoints else "last")
    assert cfg.trainer.max_epochs == cfg.task.max_epochs and cfg.keep_last_epochs == 5
    assert cfg.data.loss_on == "all" and cfg.trainer.limit_val_batches == 1.0
