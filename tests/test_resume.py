"""A fine-tuning run killed mid-epoch and started again ends with the weights of an uninterrupted run."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch
from hydra_config import compose_train
from project_commands import run_command

from biogpt import BioGPT
from biogpt.experiment.finetune import train
from biogpt.model.weights import CheckpointError
from biogpt.training.checkpoint_io import latest_checkpoint

TESTS = Path(__file__).resolve().parent
# 16 training examples, 2 per micro-batch, 2 micro-batches per update: 4 updates an epoch, 4 epochs;
# dropout on (its masks must resume too), validation each epoch, the last 2 epochs averaged.
SETTINGS = [
    "task=ddi",
    "model=tiny",
    "model.dropout=0.1",
    "model.attention_dropout=0.1",
    "data.train_shots=16",
    "data.max_tokens=null",
    "data.batch_size=2",
    "data.update_freq=2",
    "task.max_source_positions=96",
    "optim.lr=3e-3",
    "optim.warmup_updates=2",
    "trainer.max_epochs=4",
    "trainer.limit_val_batches=2",
    "keep_last_epochs=2",
    "checkpoint.every_n_updates=1",
    "eval.split=null",
    "logger={}",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]
UPDATES_PER_EPOCH = 4


def test_a_killed_fine_tuning_run_resumes_to_the_averaged_weights_of_an_uninterrupted_one(
    tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    reference = train(compose_train(tmp_path / "reference", shared_data, SETTINGS, cache_dir=token_cache))
    run_dir = tmp_path / "killed"
    command = ["train.py", *SETTINGS, f"data_dir={shared_data}"]
    command += [f"data.cache_dir={token_cache}", f"hydra.run.dir={run_dir}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    # Killed in the first update of epoch 1 (resumes from the end of epoch 0), then mid-epoch 2.
    for kill_after in (UPDATES_PER_EPOCH, 2 * UPDATES_PER_EPOCH + 2):
        kill = ["+callbacks.kill._target_=killing.KillAt", f"+callbacks.kill.updates={kill_after}"]
        done = run_command(command + kill, env=env)
        assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
        assert latest_checkpoint(run_dir / "checkpoints").name == f"step{kill_after:07d}.ckpt"
    done = run_command(command, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming from" in done.stderr + done.stdout
    epochs = sorted(path.name for path in (run_dir / "checkpoints").glob("epoch*.ckpt"))
    assert epochs == ["epoch002.ckpt", "epoch003.ckpt"]  # the kept ones, rewritten in place
    resumed = BioGPT.from_pretrained(run_dir / "final").state_dict()
    expected = BioGPT.from_pretrained(Path(reference["final_model"])).state_dict()
    for name, value in expected.items():
        torch.testing.assert_close(resumed[name], value, rtol=0, atol=1e-6, msg=name)
    # A checkpoint of another configuration (here: a prompt of 3 rows, not 9) is named as such before
    # Lightning's load_state_dict fails in a RuntimeError.
    other = compose_train(
        tmp_path / "other",
        shared_data,
        [*SETTINGS, "prompt.length=3", f"checkpoint.resume={run_dir / 'checkpoints' / 'epoch003.ckpt'}"],
        cache_dir=token_cache,
    )
    with pytest.raises(CheckpointError, match=r"does not fit .* model.embed_tokens.weight is \[42393, 64\]"):
        train(other)
