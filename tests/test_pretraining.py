"""Pre-training: rank shards, DDP against one process, kill-and-resume, and a run whose perplexity falls."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from hydra_config import compose_root, compose_train
from project_commands import run_command, run_project
from test_packing import text_corpus

from biogpt import BioGPT
from biogpt.data.pubmed.corpus import write_dataset
from biogpt.data.pubmed.packed import EvalBlockSampler, TrainBlockSampler
from biogpt.data.pubmed.packing import PackedIndex, pack_corpus
from biogpt.errors import ConfigError, DataFileError
from biogpt.experiment.build import load_initial
from biogpt.experiment.config.settings import run_settings
from biogpt.experiment.pretrain import pretrain
from biogpt.tokenizer import BioGPTTokenizer
from biogpt.training.checkpoint_io import AtomicCheckpointIO, latest_checkpoint

TESTS = Path(__file__).resolve().parent
QUIET = [
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.log_every_n_steps=1",
    "model.dropout=0",
    "model.attention_dropout=0",
]


def _blocks(sampler: TrainBlockSampler | EvalBlockSampler) -> list[list[int]]:
    return [batch.blocks.tolist() for batch in sampler]


def test_ranks_read_disjoint_shards_that_make_up_the_one_process_batches() -> None:
    one = TrainBlockSampler(103, 4, 8, update_freq=3, seed=5)
    ranks = [TrainBlockSampler(103, 2, 8, update_freq=3, seed=5, rank=r, world_size=2) for r in range(2)]
    assert len(one) == len(ranks[0]) == len(ranks[1]) == 24  # 103 // (4 * 3) = 8 whole updates of 3
    assert one.update_tokens == ranks[0].update_tokens == 4 * 3 * 8
    shards = [_blocks(sampler) for sampler in ranks]
    assert not set(sum(shards[0], [])) & set(sum(shards[1], []))
    assert [a + b for a, b in zip(*shards, strict=True)] == _blocks(one)
    one.set_epoch(1)
    assert sorted(sum(_blocks(one), [])) != sorted(sum(shards[0] + shards[1], []))  # another 96 of 103


def test_sampler_resumes_mid_epoch_and_after_a_finished_epoch() -> None:
    sampler = TrainBlockSampler(40, 2, 8, update_freq=2, seed=1)
    sampler.set_epoch(3)
    epoch3 = _blocks(sampler)
    sampler.resume(3, 6)
    assert _blocks(sampler) == epoch3[6:]
    assert _blocks(sampler) == epoch3  # the skip applies once
    sampler.resume(3, len(sampler))
    assert sampler.epoch == 4 and _blocks(sampler) != epoch3 and len(_blocks(sampler)) == len(sampler)
    with pytest.raises(ValueError, match="fewer than one update"):
        TrainBlockSampler(7, 2, 8, update_freq=2, seed=1, world_size=2)


def test_validation_covers_every_block_once_with_weightless_fillers() -> None:
    ranks = [EvalBlockSampler(5, 2, rank=r, world_size=2) for r in range(2)]
    batches = [list(sampler) for sampler in ranks]
    assert len(batches[0]) == len(batches[1]) == 2
    real = sorted(b for rank in batches for batch in rank if batch.loss_weight for b in batch.blocks.tolist())
    assert real == [0, 1, 2, 3, 4]
    assert [batch.loss_weight for batch in batches[1]] == [1.0, 0.0]


def test_checkpoints_are_written_whole_and_the_newest_step_is_resumed(tmp_path: Path) -> None:
    io = AtomicCheckpointIO()
    for step in (3, 12):
        io.save_checkpoint({"step": step}, tmp_path / f"step{step:07d}.ckpt")
    (tmp_path / ".step0000015.ckpt.abc.partial").write_bytes(b"torn")  # a write killed midway
    (tmp_path / "last.ckpt").symlink_to("step0000003.ckpt")
    assert latest_checkpoint(tmp_path) == tmp_path / "step0000012.ckpt"
    assert not list(tmp_path.glob(".*")) and io.load_checkpoint(tmp_path / "step0000012.ckpt") == {"step": 12}


@pytest.fixture(scope="module")
def tokenizer(biogpt_vocab: Path) -> BioGPTTokenizer:
    return BioGPTTokenizer.from_pretrained(biogpt_vocab)


@pytest.fixture(scope="module")
def packed(shared_data: Path, tokenizer: BioGPTTokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The task corpora's abstracts (BC5CDR and KD-DTI valid, ~400k tokens), in blocks of 64."""
    root = tmp_path_factory.mktemp("packed")
    text_corpus(shared_data, root / "corpus", ("BC5CDR/raw/valid.json", "KD-DTI/raw/valid.json"))
    pack_corpus(root / "corpus", root / "packed", tokenizer, tokens_per_sample=64, valid_fraction=0.02)
    return root / "packed"


@pytest.fixture(scope="module")
def small_packed(
    shared_data: Path, tokenizer: BioGPTTokenizer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Twelve abstracts in blocks of 32 (~9 updates an epoch), so runs cross epochs quickly."""
    root = tmp_path_factory.mktemp("small")
    documents = text_corpus(shared_data, root / "full", ("BC5CDR/raw/test.json",))
    write_dataset(documents[:12], root / "corpus")
    index = pack_corpus(
        root / "corpus", root / "packed", tokenizer, tokens_per_sample=32, valid_fraction=0.25
    )
    assert index.splits["valid"].blocks > 0
    return root / "packed"


class RecordRank(L.Callback):
    """Writes the blocks each rank trained on and its final weights (ddp_spawn ranks are other processes)."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.blocks: list[int] = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.blocks.extend(batch["blocks"].tolist())

    def on_train_end(self, trainer, module) -> None:
        state = {k: v.detach().clone() for k, v in module.model.state_dict().items()}
        torch.save({"blocks": self.blocks, "state": state}, Path(self.out) / f"rank{trainer.global_rank}.pt")


def _pretrain_cfg(run_dir: Path, data: Path, corpus: Path, overrides: list[str]):
    return compose_root(
        "pretrain",
        run_dir,
        data,
        ["experiment=pretrain_tiny", f"pretrain.corpus_dir={corpus}", *QUIET, *overrides],
    )


def test_two_process_ddp_matches_one_process_with_twice_the_batch(
    packed: Path, shared_data: Path, tmp_path: Path
) -> None:
    common = ["data.update_freq=2", "trainer.max_steps=3", "trainer.limit_val_batches=0", "logger={}"]
    record = ["+callbacks.record._target_=test_pretraining.RecordRank", f"+callbacks.record.out={tmp_path}"]
    ddp = _pretrain_cfg(
        tmp_path / "ddp",
        shared_data,
        packed,
        [*common, *record, "trainer=ddp_cpu", "pretrain.blocks_per_batch=1"],
    )
    pretrain(ddp)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    assert len(ranks[0]["blocks"]) == len(ranks[1]["blocks"]) == 3 * 2
    assert not set(ranks[0]["blocks"]) & set(ranks[1]["blocks"])
    for name, value in ranks[0]["state"].items():
        assert torch.equal(value, ranks[1]["state"][name]), name
    single = _pretrain_cfg(tmp_path / "one", shared_data, packed, [*common, "pretrain.blocks_per_batch=2"])
    pretrain(single)
    one = BioGPT.from_pretrained(tmp_path / "one" / "final").state_dict()
    two = BioGPT.from_pretrained(tmp_path / "ddp" / "final").state_dict()
    assert any(not torch.equal(value, ranks[0]["state"][name]) for name, value in one.items())  # it trained
    for name, value in one.items():
        torch.testing.assert_close(two[name], value, rtol=1e-4, atol=1e-5, msg=name)


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(
    small_packed: Path, shared_data: Path, tmp_path: Path
) -> None:
    settings = [
        "model.dropout=0.1",  # dropout on: masks must resume too
        "model.attention_dropout=0.1",
        "data.update_freq=2",
        "pretrain.blocks_per_batch=4",
        "pretrain.tokens_per_sample=32",
        "pretrain.save_every_n_updates=1",
        "pretrain.valid_every_n_updates=4",
        "logger={}",
    ]
    updates_per_epoch = PackedIndex.read(small_packed).splits["train"].blocks // 8
    total = f"trainer.max_steps={updates_per_epoch + 4}"
    reference = pretrain(_pretrain_cfg(tmp_path / "reference", shared_data, small_packed, [*settings, total]))
    run_dir = tmp_path / "killed"
    command = ["train.py", *QUIET[:3], *settings, total, "experiment=pretrain_tiny"]
    command += [f"pretrain.corpus_dir={small_packed}", f"data_dir={shared_data}", f"hydra.run.dir={run_dir}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    # Killed in the first update of epoch 1 (resumes from the end of epoch 0), then mid-epoch 1.
    for kill_after in (updates_per_epoch, updates_per_epoch + 2):
        kill = ["+callbacks.kill._target_=killing.KillAt", f"+callbacks.kill.updates={kill_after}"]
        done = run_command(command + kill, env=env)
        assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
        assert latest_checkpoint(run_dir / "checkpoints").name == f"step{kill_after:07d}.ckpt"
    run_project(command, env=env)
    resumed = BioGPT.from_pretrained(run_dir / "final").state_dict()
    expected = BioGPT.from_pretrained(Path(reference["final_model"])).state_dict()
    for name, value in expected.items():
        torch.testing.assert_close(resumed[name], value, rtol=0, atol=1e-6, msg=name)


class PerplexityHalves(L.Callback):
    """Stops pre-training at the first validation whose perplexity is below half the first one's."""

    def __init__(self) -> None:
        self.first: float | None = None

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        perplexity = float(trainer.callback_metrics["valid/ppl"])
        self.first = perplexity if self.first is None else self.first
        if perplexity < 0.5 * self.first:
            trainer.should_stop = True


def test_a_damaged_index_or_a_corpus_the_settings_do_not_fit_is_named_before_training(
    small_packed: Path, shared_data: Path, tmp_path: Path
) -> None:
    """Each ended in a ValueError's traceback: an index that is not JSON, not ours or incomplete (a
    DataFileError naming the file), a corpus packed with another block size or vocabulary (a ConfigError
    naming the setting), all before a model trains."""
    damaged = tmp_path / "damaged"
    shutil.copytree(small_packed, damaged)
    index = damaged / "index.json"
    for text, message in (
        ("{", "not valid JSON"),
        ("{}", "format None, expected 'biogpt-packed-v1'"),
        (
            '{"format": "biogpt-packed-v1", "dtype": "uint16"}',
            "an incomplete index, without tokens_per_sample,",
        ),
    ):
        index.write_text(text)
        with pytest.raises(DataFileError, match=re.escape(f"{index}: {message}")):
            PackedIndex.read(damaged)
    for overrides, message in (
        ([], "pretrain.tokens_per_sample=64 but the corpus was packed with --tokens-per-sample 32"),
        (
            ["pretrain.tokens_per_sample=32", f"tokenizer={shared_data / 'vocab' / 'biogpt-large'}"],
            "the corpus was packed with another vocabulary",
        ),
    ):
        with pytest.raises(ConfigError, match=re.escape(message)):
            pretrain(_pretrain_cfg(tmp_path / "run", shared_data, small_packed, overrides))
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_validation_perplexity_falls_and_the_final_model_initialises_fine_tuning(
    packed: Path, shared_data: Path, tmp_path: Path
) -> None:
    overrides = [
        "data.update_freq=1",
        "pretrain.blocks_per_batch=4",
        "pretrain.valid_every_n_updates=8",
        "trainer.limit_val_batches=8",  # the same 32 valid blocks each time
        "optim.lr=5e-3",
        "optim.warmup_updates=4",
        "trainer.max_steps=96",  # a cap: the run stops once the validation perplexity has halved
        f"+callbacks.goal._target_={__name__}.PerplexityHalves",
    ]
    summary = pretrain(_pretrain_cfg(tmp_path, shared_data, packed, overrides))
    rows = [line.split(",") for line in (tmp_path / "logs" / "metrics.csv").read_text().splitlines()]
    column = rows[0].index("valid/ppl")
    perplexities = [float(row[column]) for row in rows[1:] if row[column]]
    assert len(perplexities) >= 2 and summary["updates"] == 8 * len(perplexities) < 96
    assert perplexities[-1] < 0.5 * perplexities[0]
    # The closing evaluation covers the whole valid split, written to metrics.json and the log.
    closing = json.loads((tmp_path / "metrics.json").read_text())
    valid_blocks = PackedIndex.read(packed).splits["valid"].blocks
    assert (
        closing["task"] == "pretrain" and closing["split"] == "valid" and closing["examples"] == valid_blocks
    )
    assert closing["metrics"]["perplexity"] == pytest.approx(math.exp(closing["metrics"]["loss"]))
    column = rows[0].index("valid/perplexity")
    logged = [float(row[column]) for row in rows[1:] if row[column]]
    assert logged == [pytest.approx(closing["metrics"]["perplexity"])]
    assert closing["metrics"]["perplexity"] < 0.5 * perplexities[0]
    final = Path(summary["final_model"])
    finetune = compose_train(tmp_path / "ft", shared_data, ["task=ddi", "model=tiny", f"model.init={final}"])
    backbone, tokenizer = load_initial(run_settings(finetune))
    assert tokenizer.vocab_size == 42384
    trained = BioGPT.from_pretrained(final).state_dict()
    assert all(torch.equal(value, trained[name]) for name, value in backbone.state_dict().items())
    assert np.isfinite(summary["metrics"]["valid/loss"])
