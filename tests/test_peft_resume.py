"""A ``peft=lora`` (and ``peft=qlora``) run killed with SIGKILL mid-epoch and started again ends with the
adapter of an uninterrupted run; its ``final/adapter/`` is the average of the kept epoch checkpoints'
adapters (``select.final=average`` averages adapter weights), and the merged ``final/`` follows.

QLoRA runs here on ``bitsandbytes``' CPU kernels, with the CUDA-only policy lifted for the test
(:data:`QLORA_ON_CPU`): its checkpoints hold no 4-bit entries (the base is re-quantised from
``model.init`` on resume), and its merged ``final/`` is the float32 base plus the adapters' update, as
``peft``'s ``merge_and_unload`` on ``transformers``' class gives it, not the NF4 rounding plus it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch
from hydra_config import compose_train
from peft_models import biogpt_base_dir
from project_commands import run_command
from safetensors.torch import load_file
from test_resume import SETTINGS, UPDATES_PER_EPOCH

from biogpt import BioGPT
from biogpt.experiment.finetune import train
from biogpt.model.adapters import ADAPTER_DIR, ADAPTER_WEIGHTS_FILE, adapter_key, is_adapter_weight
from biogpt.model.safe_pickle import safe_load
from biogpt.model.weights import lightning_weights

pytest.importorskip("peft")
TESTS = Path(__file__).resolve().parent
# sitecustomize.py of a QLoRA run's process: train.py's refusal of peft=qlora without CUDA lifted, so that
# the whole run (4-bit base, training, checkpoints, resume, merge) goes through bitsandbytes' CPU kernels.
# On a CPU with AVX-512 BF16, bitsandbytes repacks a 4-bit layer's weights for another kernel at its first
# forward in eval mode and unpacks them whenever the state dict is read: the kernel of a training step
# would depend on when validation and checkpoints last ran, which a resumed run cannot repeat. That CPU
# inference path stays off, as it is on every other CPU and on CUDA.
QLORA_ON_CPU = """
import biogpt.experiment.build
import bitsandbytes.nn.modules
biogpt.experiment.build.check_device = lambda settings: None
bitsandbytes.nn.modules.has_avx512bf16 = lambda: False
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, biogpt_vocab: Path) -> Path:
    return biogpt_base_dir(tmp_path_factory.mktemp("base"), biogpt_vocab)


@pytest.mark.parametrize("method", ["lora", "qlora"])
def test_a_killed_lora_run_resumes_to_the_averaged_adapter_of_an_uninterrupted_one(
    method: str,
    base: Path,
    tmp_path: Path,
    shared_data: Path,
    token_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paths = [str(TESTS), os.environ.get("PYTHONPATH", "")]
    if method == "qlora":
        pytest.importorskip("bitsandbytes")
        monkeypatch.setattr("biogpt.experiment.build.check_device", lambda settings: None)
        monkeypatch.setattr("bitsandbytes.nn.modules.has_avx512bf16", lambda: False)
        (tmp_path / "site").mkdir()
        (tmp_path / "site" / "sitecustomize.py").write_text(QLORA_ON_CPU)
        paths.insert(0, str(tmp_path / "site"))
    settings = [s for s in SETTINGS if s != "model=tiny"]
    settings += [f"model.init={base}", f"peft={method}", "peft.dropout=0.1", "optim.lr=1e-2"]
    reference = train(compose_train(tmp_path / "reference", shared_data, settings, cache_dir=token_cache))
    run_dir = tmp_path / "killed"
    command = ["train.py", *settings, f"data_dir={shared_data}"]
    command += [f"data.cache_dir={token_cache}", f"hydra.run.dir={run_dir}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    kill = ["+callbacks.kill._target_=killing.KillAt", f"+callbacks.kill.updates={2 * UPDATES_PER_EPOCH + 2}"]
    done = run_command(command + kill, env=env)
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    done = run_command(command, env=env)
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
    if method == "qlora":
        _assert_no_4bit_entries(epochs + sorted((run_dir / "checkpoints").glob("step*.ckpt")))
        _assert_merged_into_the_float_base(base, run_dir / "final")


def _assert_no_4bit_entries(checkpoints: list[Path]) -> None:
    assert checkpoints
    for path in checkpoints:
        state = lightning_weights(safe_load(path), str(path))
        assert all(value.is_floating_point() for value in state.values()), path
        assert not any(".weight." in name for name in state), path  # absmax, quant_map, quant_state...
        assert any(is_adapter_weight(name) for name in state), path


def _assert_merged_into_the_float_base(base: Path, final: Path) -> None:
    """final/ against peft's merge of final/adapter/ into the float32 base on BioGptForCausalLM."""
    from peft import PeftModel
    from transformers import BioGptForCausalLM

    expected = PeftModel.from_pretrained(BioGptForCausalLM.from_pretrained(base), final / ADAPTER_DIR)
    expected_state = expected.merge_and_unload().state_dict()
    got = BioGptForCausalLM.from_pretrained(final).state_dict()
    assert got.keys() == expected_state.keys()
    for name, value in expected_state.items():  # final/'s embedding adds the soft prompt's rows
        torch.testing.assert_close(got[name][: len(value)], value, rtol=0, atol=1e-6, msg=name)
