"""The Hydra config groups: every option composes, the trainers build, and mistakes are named."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import pytest
from hydra.core.config_store import ConfigStore
from hydra_config import CONF_DIR, compose_root, compose_train
from lightning.pytorch.callbacks import RichModelSummary, RichProgressBar
from lightning.pytorch.strategies import FSDPStrategy
from omegaconf import OmegaConf
from project_commands import run_command
from rich.console import Console
from torch.distributed.fsdp.wrap import ModuleWrapPolicy

from biogpt.artifacts.summary import print_run_summary
from biogpt.experiment.build import build_trainer, fsdp_strategy
from biogpt.experiment.config.overrides import unknown_key_messages
from biogpt.experiment.config.routing import is_pretraining
from biogpt.model import BioGPT, BioGPTConfig, DecoderLayer
from biogpt.model.hf import HFBackbone

GROUPS = (
    "task",
    "target_format",
    "prompt",
    "model",
    "peft",
    "trainer",
    "logger",
    "callbacks",
    "debug",
    "experiment",
    "hparams_search",
)


def _options(group: str) -> list[str]:
    return sorted(
        str(path.relative_to(CONF_DIR / group).with_suffix("")) for path in (CONF_DIR / group).rglob("*.yaml")
    )


@pytest.mark.parametrize(
    "override", [f"{group}={option}" for group in GROUPS for option in _options(group)], ids=str
)
def test_every_config_option_composes(override: str, tmp_path: Path, shared_data: Path) -> None:
    if is_pretraining([override]):  # train.py runs a pre-training experiment with the pre-training config
        cfg = compose_root("pretrain", tmp_path, shared_data, [override])
        # The experiment sets the recipe's updates; the corpus is the command line's.
        assert cfg.trainer.max_steps > 0 and OmegaConf.is_missing(cfg.pretrain, "corpus_dir")
        return
    cfg = compose_train(tmp_path, shared_data, [override])
    group, option = override.split("=")
    if group == "experiment" and option.startswith("paper/") and option != "paper/pretrain":
        # The paper presets: BioGPT from its released weights, the task's own settings, fp32 as released.
        assert cfg.model.preset == "biogpt" and cfg.model.init == "microsoft/biogpt"
        assert cfg.task.name == option.removeprefix("paper/").replace("_", "-")
        assert cfg.trainer.precision == "32-true" and cfg.data.update_freq == 32
    # Every run ends by evaluating on the test split; the overfit check scores what it trained on.
    assert cfg.eval.split == ("train" if override == "debug=overfit" else "test")


def test_hydra_shares_the_config_store_that_holds_the_schemas_instead_of_copying_it() -> None:
    """Hydra deep-copies its config repository, which holds the store of the schemas, for every
    composition and every group ``--help`` lists; the store's copy is the store (as Hydra's main branch
    reads the live one, facebookresearch/hydra#2928), so the schemas are not duplicated each time."""
    store = ConfigStore.instance()
    assert store.load("schema/train.yaml") is not None
    assert copy.deepcopy(store) is store
    assert copy.deepcopy({"store": store})["store"] is store


def test_paper_presets_leave_the_swept_choices_to_the_command_line(tmp_path: Path, shared_data: Path) -> None:
    cfg = compose_train(
        tmp_path, shared_data, ["experiment=paper/kd_dti", "target_format=svo", "prompt=hard"]
    )
    assert cfg.target_format.name == "svo" and cfg.prompt.kind == "hard"
    assert compose_train(tmp_path, shared_data, ["experiment=paper/hoc"]).task.average_checkpoints is False
    # A debug setting shrinks an experiment, whatever their order on the command line.
    shrunk = compose_train(tmp_path, shared_data, ["debug=fast", "experiment=paper/kd_dti"]).model
    assert shrunk.preset == "tiny" and shrunk.init is None


@pytest.mark.parametrize(
    ("preset", "init", "dropout"),
    [
        ("openai-community/gpt2-medium", "openai-community/gpt2-medium", None),
        ("google/flan-t5-large", "google/flan-t5-large", None),
        ("microsoft/BioGPT-Large", "microsoft/BioGPT-Large", 0.1),
    ],
)
def test_a_backbone_preset_replaces_the_paper_presets_model(
    preset: str, init: str, dropout: float | None, tmp_path: Path, shared_data: Path
) -> None:
    """``experiment=paper/<task> model=<hub id>``: the backbone is a choice like the task; nothing of the
    experiment's own BioGPT (its weights, its dropout) leaks into another backbone's run."""
    for order in (
        ["experiment=paper/kd_dti", f"model={preset}"],
        [f"model={preset}", "experiment=paper/kd_dti"],
    ):
        model = compose_train(tmp_path, shared_data, order).model
        assert model.init == init and model.dropout == dropout


def test_fsdp_trainer_shards_each_layer_of_the_backbone(tmp_path: Path, shared_data: Path) -> None:
    """Lightning runs FSDP on GPUs only; what can be checked here is the strategy the job builds: one
    FSDP and activation-checkpointing unit per layer class of the backbone, whatever its family."""
    from transformers import BartConfig, BartForConditionalGeneration, GPT2Config, GPT2LMHeadModel
    from transformers.models.bart.modeling_bart import BartDecoderLayer, BartEncoderLayer
    from transformers.models.gpt2.modeling_gpt2 import GPT2Block

    cfg = compose_train(tmp_path, shared_data, ["trainer=fsdp", "model=biogpt-large"])
    gpt2 = HFBackbone(GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=64)))
    bart = HFBackbone(
        BartForConditionalGeneration(
            BartConfig(
                vocab_size=64,
                d_model=16,
                encoder_layers=1,
                decoder_layers=1,
                encoder_ffn_dim=32,
                decoder_ffn_dim=32,
                encoder_attention_heads=2,
                decoder_attention_heads=2,
            )
        )
    )
    biogpt = BioGPT(BioGPTConfig.from_preset("tiny", vocab_size=64))
    for model, layers in (
        (biogpt, {DecoderLayer}),
        (gpt2, {GPT2Block}),
        (bart, {BartEncoderLayer, BartDecoderLayer}),
    ):
        strategy = fsdp_strategy(cfg.trainer.strategy, model)
        assert isinstance(strategy, FSDPStrategy)
        policy = strategy.kwargs["auto_wrap_policy"]
        assert isinstance(policy, ModuleWrapPolicy) and policy._module_classes == layers
        checkpointed = strategy._activation_checkpointing_kwargs["auto_wrap_policy"]
        assert isinstance(checkpointed, ModuleWrapPolicy) and checkpointed._module_classes == layers
        assert strategy.sharding_strategy.name == "FULL_SHARD" and strategy._state_dict_type == "full"
    assert cfg.trainer.precision == "bf16-mixed" and cfg.trainer.use_distributed_sampler is False


def test_progress_bar_and_summary_callbacks_follow_the_trainer_flags(
    tmp_path: Path, shared_data: Path
) -> None:
    kinds = (RichProgressBar, RichModelSummary)
    shown = build_trainer(compose_train(tmp_path, shared_data, ["logger={}"]))
    assert all(any(isinstance(c, kind) for c in shown.callbacks) for kind in kinds)
    quiet = build_trainer(
        compose_train(
            tmp_path,
            shared_data,
            ["logger={}", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"],
        )
    )
    assert not any(isinstance(c, kinds) for c in quiet.callbacks)


def test_unknown_keys_are_named_with_the_valid_keys_and_close_matches() -> None:
    [message] = unknown_key_messages("train", ["task=ddi", "data.max_tokenz=5"])
    assert "unknown config key 'data.max_tokenz'" in message and "Did you mean 'data.max_tokens'?" in message
    assert "valid keys of 'data': batch_size, cache_dir, loss_on, max_tokens" in message
    # In a sweep, inside an experiment's own keys, and at the top level.
    assert unknown_key_messages("train", ["-m", "target_format=svo,rel-is", "prompt.lenght=1,5"])[
        0
    ].startswith(
        "unknown config key 'prompt.lenght': 'prompt' has no key 'lenght'. Did you mean 'prompt.length'?"
    )
    [pretrain] = unknown_key_messages("pretrain", ["experiment=pretrain_tiny", "pretrain.corpus_dri=x"])
    assert "Did you mean 'pretrain.corpus_dir'?" in pretrain
    [top] = unknown_key_messages("evaluate", ["ckpts=x"])
    assert "the config has no key 'ckpts'" in top and "Did you mean 'ckpt'?" in top
    # Valid keys, additions (+key) and Hydra's own settings pass.
    valid = ["data.max_tokens=5", "+extra.key=1", "hydra.run.dir=x", "eval.generation.beam=5", "seed=1,2"]
    # run_dir is ${hydra:runtime.output_dir}, which only resolves inside a Hydra run.
    valid.append("run_dir=/tmp/x")
    assert unknown_key_messages("train", valid) == []
    # Below a null (model.study outside the study's experiments), where OmegaConf would assert.
    [null] = unknown_key_messages("train", ["task=ddi", "model.study.max_new_tokens=5"])
    assert null.startswith("unknown config key 'model.study.max_new_tokens': 'model.study' is null in this")
    # In a sweep over a group, the config of each of its choices.
    [swept] = unknown_key_messages("train", ["-m", "task=pubmedqa,ddi", "task.fold=1"])
    assert "'task' has no key 'fold'" in swept and swept.endswith("(in the sweep's job with task=ddi)")
    # A key whose value must be given (pretrain.corpus_dir: ???) exists.
    assert unknown_key_messages("pretrain", ["experiment=pretrain_tiny", "pretrain.corpus_dir=x"]) == []
    # Below a value (OmegaConf's message: a dict cannot be converted to a string): no "+key" remedy, and
    # the close matches of the key written with "_", never the value itself.
    [below] = unknown_key_messages("extract", ["ckpt=m", "input=docs", "out=kb", "input.format=text"])
    assert below.splitlines() == [
        "unknown config key 'input.format': 'input' holds a value, it has no keys. Did you mean "
        "'input_format' or 'format' or 'target_format'?",
        "  valid keys of the config: ckpt, data_dir, eval, format, id_field, input, input_format, out, "
        "progress, prompt, seed, shard_size, support, target_format, task, text_field, tokenizer, trainer, "
        "window",
    ]
    [seed] = unknown_key_messages("train", ["seed.x=1"])
    assert seed.startswith("unknown config key 'seed.x': 'seed' holds a value, it has no keys.\n")
    # A block left unset (task: ??? until a task is chosen) takes keys; an interpolation is Hydra's.
    assert unknown_key_messages("train", ["task.lr=1e-4", "optim.lr.x=1"]) == []


def test_train_py_exits_before_running_on_an_unknown_key() -> None:
    result = run_command(["train.py", "task=ddi", "optim.lrr=1e-3"], timeout=120)
    assert result.returncode == 2
    assert "unknown config key 'optim.lrr'" in result.stderr and "Did you mean 'optim.lr'?" in result.stderr


def test_end_of_run_summary_shows_scores_and_existing_outputs(tmp_path: Path) -> None:
    (tmp_path / "final").mkdir()
    (tmp_path / "metrics.json").write_text("{}")
    summary = {
        "run_dir": str(tmp_path),
        "updates": 12,
        "evaluation": {
            "split": "test",
            "examples": 3,
            "parse_failures": 1,
            "metrics": {"tp": 1.0, "fp": 1.0, "fn": 8.0, "precision": 0.5, "recall": 0.25, "f1": 1 / 3},
        },
    }
    console = Console(record=True, width=200)
    print_run_summary(summary, console)
    text = console.export_text()
    assert "test scores (3 examples)" in text and "33.33" in text and "25.00" in text
    # Counts print as counts: a BC5CDR subset's 8 missed pairs once read as "fn 800.00".
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip() for line in text.splitlines() if "│" in line
    }
    assert (rows["tp"], rows["fp"], rows["fn"]) == ("1", "1", "8")
    assert str(tmp_path / "final") in text and str(tmp_path / "metrics.json") in text
    assert "predictions.jsonl" not in text  # only outputs that exist are listed


def test_fast_dev_run_trains_one_batch_then_evaluates(
    tmp_path: Path, shared_data: Path, token_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Lightning's fast_dev_run keeps no checkpoint, so DDI's averaging has nothing to average: the last
    weights are the final model, and a warning says so."""
    from biogpt.experiment.finetune import train

    cfg = compose_train(
        tmp_path, shared_data, ["task=ddi", "debug=fast_dev_run", "logger={}"], cache_dir=token_cache
    )
    with caplog.at_level(logging.WARNING, logger="biogpt.experiment.finetune"):
        summary = train(cfg)
    assert summary["updates"] == 1 and not (tmp_path / "checkpoints").exists()
    assert "select.final=average: the run kept no epoch checkpoint" in caplog.text
    assert summary["evaluation"]["examples"] == 2 and (tmp_path / "final" / "model.safetensors").is_file()
