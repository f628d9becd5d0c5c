"""A ``peft=lora`` run killed with SIGKILL mid-epoch and started again ends with the adapter of an
uninterrupted run; its ``final/adapter/`` is the average of the kept epoch checkpoints' adapters
(``select.final=average`` averages adapter weights), and the merged ``final/`` follows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra_config import compose_train
from peft_models import biogpt_base_dir
from safetensors.torch import load_file
from test_resume import SETTINGS, UPDATES_PER_EPOCH

from biogpt import BioGPT
from biogpt.experiment.finetune import train
from biogpt.model.adapters import ADAPTER_DIR, ADAPTER_WEIGHTS_FILE, adapter_key, is_adapter_weight
from biogpt.model.safe_pickle import safe_load
from biogpt.model.weights import lightning_weights

pytest.importorskip("peft")
PROJECT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, biogpt_vocab: Path) -> Path:
    return biogpt_base_dir(tmp_path_factory.mktemp("base"), biogpt_vocab)


def test_a_killed_lora_run_resumes_to_the_averaged_adapter_of_an_uninterrupted_one(
    base: Path, tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    settings = [s for s in SETTINGS if s != "model=tiny"]
    settings += [f"model.init={base}", "peft=lora", "peft.dropout=0.1", "optim.lr=1e-2"]
    reference = train(compose_train(tmp_path / "reference", shared_data, settings, cache_dir=token_cache))
    run_dir = tmp_path / "killed"
    command = [sys.executable, "train.py", *settings, f"data_dir={shared_data}"]
    command += [f"data.cache_dir={token_cache}", f"hydra.run.dir={run_dir}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    kill = ["+callbacks.kill._target_=killing.KillAt", f"+callbacks.kill.updates={2 * UPDATES_PER_EPOCH + 2}"]
    done = subprocess.run(command + kill, cwd=PROJECT, env=env, capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming from" in done.stderr + done.stdout

    resumed = load_file(run_dir / "final" / ADAPTER_DIR / ADAPTER_WEIGHTS_FILE)
    expected = load_file(Path(reference["final_model"]) / ADAPTER_DIR / ADAPTER_WEIGHTS_FILE)
    assert resumed.keys() == expected.keys() and resumed
    for name, value in expected.items():
        torch.testing.assert_close(resumed[name], value, rtol=0, atol=1e-6, msg=name)
    assert any(value.abs().max() > 0 for name, value in resumed.items() if "lora_B" in name)  # it trained

    # final/adapter/ is the average of the two kept epochs' adapters
    model = BioGPT.from_pretrained(base)
    epochs = sorted((run_dir / "checkpoints").glob("epoch*.ckpt"))
    states = [lightning_weights(safe_load(path), str(path)) for path in epochs]
    assert len(states) == 2
    for name in (name for name in states[0] if is_adapter_weight(name)):
        average = (states[0][name].double() + states[1][name].double()) / 2
        torch.testing.assert_close(resumed[adapter_key(model, name)], average.float(), rtol=0, atol=1e-7)
        assert not torch.equal(states[0][name], states[1][name])
    merged = BioGPT.from_pretrained(run_dir / "final").state_dict()
    merged_reference = BioGPT.from_pretrained(Path(reference["final_model"])).state_dict()
    for name, value in merged_reference.items():
        torch.testing.assert_close(merged[name], value, rtol=0, atol=1e-6, msg=name)
