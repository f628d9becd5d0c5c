"""GPU readiness check (issue 17): one run on one CUDA GPU that exercises what only a GPU runs, with a
JSON report and a printed table. Ready before the GPU is: ``--smoke`` runs the same code with tiny
shapes on CPU, and the test suite runs it (``tests/test_device_check.py``).

    python benchmarks/device_check.py --out report.json            # full mode: one CUDA GPU, <= 9 min
    python benchmarks/device_check.py --smoke --out report.json    # tiny shapes on CPU, about a minute
    python benchmarks/device_check.py --sections generation --out r.json   # some sections only

Sections (each with its own time budget; one that fails or runs out of time is reported with its
error and the others still run; the exit status is 1 when any section did not pass, 2 without a GPU
or data, 3 when a section hung past the whole run's budget and the watchdog ended the process; the
report is rewritten after every section):

``finetune_16mixed``, ``finetune_bf16mixed``
    Prompt fine-tuning (``train.py``, KD-DTI valid as the training split, the ``biogpt`` shape) under
    ``16-mixed`` and ``bf16-mixed``: an uninterrupted run in this process, then the same command run
    as ``train.py`` killed (SIGKILL, ``tests/killing.py``) in the middle of the update after N updates,
    then run again in the same run directory, which resumes from the step-N checkpoint. Checks that the
    fp16 loss scaler exists, records its scale at every update (a callback, beside the
    ``train/loss_scale`` the module logs, see ``loss_scale_logged_by_module``), that the checkpoint
    holds the scaler state, that the resumed run continues with the scaler state of the uninterrupted
    one, and that both end with the same weights. Deterministic algorithms are on
    (``trainer.deterministic=warn``) so that equal work gives equal bits; ops without a deterministic
    version are listed. In smoke mode on CPU,
    16-mixed runs through Lightning's ``MixedPrecision`` plugin with a CPU ``GradScaler`` (Lightning
    refuses ``precision=16-mixed`` on CPU), so the scaler code path is the same.
``pretrain_throughput``
    Pre-training (``pretrain.py``'s job, ``CausalLMPretrainer``) at the ``biogpt`` shape on packed
    1,024-token blocks of real abstracts (BC5CDR test, KD-DTI valid), bf16-mixed, dropout off: the job
    itself, then the same initial weights, batches, loss, optimiser and autocast in a plain loop, for
    our network and for ``transformers.BioGptForCausalLM`` (sdpa). Reports tokens/s and model FLOPs
    utilisation: ``flops/token = 6 * N + 12 * layers * hidden * seq`` (N: unique parameters, the tied
    embedding once, as the output projection it is; the attention term of PaLM's appendix B, not
    halved for causality; ``mfu_6n`` leaves it out), over the GPU's peak dense bf16 FLOPs (table
    ``PEAK_BF16_TFLOPS``; an unknown GPU or a CPU: null).
``fsdp``
    ``trainer=fsdp`` (one GPU) fine-tuning a reduced-depth ``biogpt-large`` shape for a few updates
    through the fine-tuning job, then: the FSDP strategy built from the config wraps and checkpoints
    each decoder layer, the gathered full state dict equals both what the step checkpoint and
    ``final/`` reload to, and the FSDP model's logits equal those of the reloaded model. On one GPU
    FSDP runs its NO_SHARD path (world size 1); sharding itself needs two GPUs. On CPU, FSDP cannot run
    (Lightning's FSDPStrategy needs a CUDA accelerator, torch's FSDP a non-CPU device): smoke mode builds
    and inspects the strategy, runs the same job, probe and reload checks with ``trainer=cpu``, and says
    that the FSDP run was skipped.
``generation``
    Greedy decoding at the ``biogpt`` shape (random weights), batch 1, 8 and 32 (64-token BC5CDR
    prompts, 128 new tokens), fp32, ours against ``transformers`` ``generate`` (sdpa) on the same
    weights: identical tokens checked, then interleaved timed runs, medians and tokens/s (as
    ``bench_generation.py``). Where a row differs, its first difference is reported with our logit
    margin between the two choices; the check accepts only near ties (``NEAR_TIE``), which kernels that
    round differently may order either way on random weights.
``peft``
    Training updates at the ``biogpt-large`` shape (random weights, dropout off, one 1,024-token
    sequence per update, bf16 autocast, AdamW as the jobs build it), full fine-tuning against LoRA r=8
    (``peft=lora``'s adapters put into our network by ``peft``) and QLoRA r=8 (the same adapters over
    the projections in 4-bit NF4, :func:`biogpt.model.quantized.quantize_projections`): tokens/s and
    peak GPU memory of each side, that full and LoRA start from the same loss (LoRA's B starts at zero),
    and that QLoRA's loss follows LoRA's over 50 updates (the 8 sequences cycled, so that the loss
    falls): the mean over the last cycle (each sequence once) within ``QLORA_LOSS_TOLERANCE`` of LoRA's,
    relative (NF4 rounds every base weight to one of 16 levels of its block: the same training, not the
    same numbers), and LoRA's last cycle below its first.
``extraction``
    ``biogpt-extract``'s engine against a straightforward ``transformers`` ``generate`` loop
    (``bench_extract.py``): 256 real abstracts, the ``biogpt`` shape (random weights), bf16 on both
    sides, batches of 16 and 64: documents/s at each side's best batch size (goal: 3x) and our
    generated tokens/s as a fraction of the GPU's memory-bandwidth roof (``PEAK_BANDWIDTH_TBPS``).
    Identical texts are required in fp32 (smoke mode) and reported in bf16.

The full mode reads only the code and these files of the data root (``$BIOGPT_DATA`` or ``--data-dir``):
``vocab/biogpt``, ``vocab/biogpt-large``, ``KD-DTI/raw/valid.json`` and ``BC5CDR/raw/test.json``. It
writes its runs under ``--work-dir`` (default: a temporary directory, removed at the end); each
section's runs are removed when it ends unless ``--keep-work`` (the fine-tuning sections hold ~15 GB of
checkpoints at their peak in full mode). ``--smoke --device cuda`` is a one-minute rehearsal of the GPU
code paths with tiny shapes.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch

PROJECT = Path(__file__).resolve().parents[1]
BENCHMARKS = PROJECT / "benchmarks"
TESTS = PROJECT / "tests"
for _path in (BENCHMARKS, TESTS):  # hydra_config and killing (tests/), bench_generation (benchmarks/)
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

DATA = Path(os.environ.get("BIOGPT_DATA", PROJECT.parent / "shared" / "data"))
SECTIONS = (
    "finetune_16mixed",
    "finetune_bf16mixed",
    "pretrain_throughput",
    "fsdp",
    "generation",
    "peft",
    "extraction",
)
# What each section writes under the work directory (removed after it unless --keep-work); the token
# cache and the packed corpus stay for the sections after.
SECTION_DIRS = {
    "finetune_16mixed": "finetune-16-mixed",
    "finetune_bf16mixed": "finetune-bf16-mixed",
    "pretrain_throughput": "pretrain-runs",
    "fsdp": "fsdp",
    "generation": "generation",
    "peft": "peft",
    "extraction": "extraction",
}
FINETUNE_PRECISION = {"finetune_16mixed": "16-mixed", "finetune_bf16mixed": "bf16-mixed"}
# Peak dense bf16 tensor-core FLOPs (no sparsity), from the vendors' data sheets; first match wins.
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    (r"GH200", 989.4),
    (r"H200", 989.4),  # H200 SXM
    (r"H100.*PCIe", 756.0),
    (r"H100.*NVL", 835.0),
    (r"H100", 989.4),  # H100 SXM (HBM3)
    (r"B200", 2250.0),
    (r"A100", 312.0),
    (r"L40S", 362.1),
)
# Peak memory bandwidth (TB/s), from the vendors' data sheets; first match wins: the roof of decoding,
# which reads every weight once per step.
PEAK_BANDWIDTH_TBPS: tuple[tuple[str, float], ...] = (
    (r"GH200", 4.0),
    (r"H200", 4.8),
    (r"H100.*PCIe", 2.0),
    (r"H100.*NVL", 3.9),
    (r"H100", 3.35),  # H100 SXM (HBM3)
    (r"B200", 8.0),
    (r"A100.*80", 2.039),
    (r"A100", 1.555),
    (r"L40S", 0.864),
)
WEIGHT_TOLERANCE = 1e-6  # the CPU resume tests' bound (max |difference| of any weight)
LOSS_TOLERANCE = 0.02  # first-update losses of the three pre-training sides (bf16 autocast, ~10.6 at init)
# QLoRA's mean loss over its last cycle of updates against LoRA's, relative: NF4 moves every base weight by up
# to half a quantisation step, which shifts the losses a little but must not change how training goes.
QLORA_LOSS_TOLERANCE = 0.05
NEAR_TIE = 1e-3  # fp32 logits this close may be ordered either way by kernels that round differently
WATCHDOG_GRACE_S = 20  # past the run's budget: a section's own alarm had its chance; end the process
NONDETERMINISTIC = re.compile(r"(\S+) does not have a deterministic implementation")


@dataclass(frozen=True)
class Shapes:
    """What a mode runs: model shapes, run lengths and each section's time budget (seconds)."""

    finetune_preset: str
    finetune_max_tokens: int
    finetune_source_positions: int | None  # None: the task's own (KD-DTI: 640)
    finetune_max_positions: int | None  # None: the task's own (KD-DTI: 1024); cuts long targets
    kill_after: int  # updates before the kill; the runs are 2 * kill_after updates long
    pretrain_preset: str
    tokens_per_sample: int
    pretrain_configs: tuple[tuple[int, int], ...]  # (blocks per micro-batch, micro-batches per update)
    pretrain_warmup: int
    pretrain_timed: int
    pretrain_corpora: tuple[str, ...]
    fsdp_shape: tuple[str, dict[str, int]]  # preset and overrides
    fsdp_updates: int
    generation_preset: str
    batch_sizes: tuple[int, ...]
    prompt_tokens: int
    new_tokens: int
    repeats: int
    peft_shape: tuple[str, dict[str, int]]  # preset and overrides of the peft section's network
    peft_tokens: int  # one sequence of this many tokens per update
    peft_updates: int
    peft_warmup: int  # of them untimed
    peft_loss_updates: int  # LoRA and QLoRA run this many updates (>= 2 cycles of the peft_updates sequences)
    extract_layers: int  # decoder layers of the biogpt-width network the extraction section runs
    extract_documents: int
    extract_new_tokens: int
    extract_max_source: int
    extract_batch_sizes: tuple[int, ...]
    extract_dtype: str  # eval.dtype of both sides
    budgets: dict[str, float]
    total_budget: float


FULL = Shapes(
    finetune_preset="biogpt",
    finetune_max_tokens=1024,
    finetune_source_positions=None,
    finetune_max_positions=None,
    kill_after=3,
    pretrain_preset="biogpt",
    tokens_per_sample=1024,
    pretrain_configs=((1, 8), (8, 1)),  # the paper's 1,024-token micro-batch; 8 blocks in one
    pretrain_warmup=3,
    pretrain_timed=10,
    pretrain_corpora=("BC5CDR/raw/test.json", "KD-DTI/raw/valid.json"),
    fsdp_shape=("biogpt-large", {"num_layers": 4}),
    fsdp_updates=3,
    generation_preset="biogpt",
    batch_sizes=(1, 8, 32),
    prompt_tokens=64,
    new_tokens=128,
    repeats=3,
    peft_shape=("biogpt-large", {}),
    peft_tokens=1024,
    peft_updates=8,
    peft_warmup=2,
    peft_loss_updates=50,
    extract_layers=24,
    extract_documents=256,
    extract_new_tokens=32,
    extract_max_source=512,
    extract_batch_sizes=(16, 64),
    extract_dtype="bf16",
    # Expected on an H200: ~60, 55, 55, 35 and 45 s (peft: not yet run on a GPU). With the watchdog's
    # grace and the start-up (~10 s), a run that hangs still ends within 9 minutes.
    budgets={
        "finetune_16mixed": 100,
        "finetune_bf16mixed": 90,
        "pretrain_throughput": 95,
        "fsdp": 75,
        "generation": 75,
        "peft": 70,
        "extraction": 80,
    },
    total_budget=585,
)
# On a CPU without native fp16 and bf16 (the AVX2-only EPYC, or the AVX2 limits), the mixed-precision
# sections emulate every product, and torch's emulated kernel is slowest where the tiny model spends
# them: the vocabulary projection's input gradient, a reduction over 42,384 rows (2.5 s per 256-token
# micro-batch, 130x the float32 product). So the smoke run keeps its micro-batches short and its updates
# few: the checks are the same with more of either. Under the AVX2 limits the whole run took 223 s with
# two updates before the kill, 156 s with one, 109 s with the token budgets below halved.
SMOKE = Shapes(
    finetune_preset="tiny",
    finetune_max_tokens=128,  # the longest example's (finetune_max_positions)
    finetune_source_positions=64,
    finetune_max_positions=128,
    kill_after=1,  # one update, then the kill in the second
    pretrain_preset="tiny",
    tokens_per_sample=64,
    pretrain_configs=((1, 2),),  # one block per micro-batch, two micro-batches per update
    pretrain_warmup=1,
    pretrain_timed=2,
    pretrain_corpora=("BC5CDR/raw/test.json",),
    fsdp_shape=("tiny", {"vocab_size": 57717}),  # the biogpt-large vocabulary, tiny layers
    fsdp_updates=2,
    generation_preset="tiny",
    batch_sizes=(1, 8, 32),
    prompt_tokens=16,
    new_tokens=12,
    repeats=2,
    peft_shape=("tiny", {}),
    peft_tokens=64,
    peft_updates=3,
    peft_warmup=1,
    peft_loss_updates=9,
    extract_layers=1,
    extract_documents=12,
    extract_new_tokens=4,
    extract_max_source=48,
    extract_batch_sizes=(1, 4),
    extract_dtype="fp32",
    budgets=dict.fromkeys(SECTIONS, 240),
    total_budget=900,
)


class SectionTimeout(Exception):
    """A section ran past its time budget."""


class CheckFailed(Exception):
    """A section finished but a check did not hold."""


@dataclass
class Context:
    args: argparse.Namespace
    shapes: Shapes
    device: torch.device
    data: Path
    work: Path
    deadline: float = math.inf  # the running section's
    child: subprocess.Popen | None = None  # the running train.py, ended by the watchdog if need be
    running: SectionReport | None = None  # the running section's report, partial results included

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 1.0)

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)


# --- callbacks the runs load by Hydra (``device_check.X``: benchmarks/ on the path) --------------------


class ScaleRecorder(L.Callback):
    """Appends the loss scaler's state at every update to a JSON-lines file (one line per update, with
    the process id, so a killed run and its resumption can share the file)."""

    def __init__(self, out: str) -> None:
        self.out = Path(out)

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer) -> None:
        scaler = getattr(trainer.precision_plugin, "scaler", None)
        record: dict[str, Any] = {
            "pid": os.getpid(),
            "step": trainer.global_step,
            "precision": str(trainer.precision),
            "plugin": type(trainer.precision_plugin).__name__,
            "scaler": None if scaler is None else type(scaler).__name__,
        }
        if scaler is not None:
            record["scale"] = float(scaler.get_scale())
            record["growth_tracker"] = int(scaler.state_dict().get("_growth_tracker", -1))
        self.out.parent.mkdir(parents=True, exist_ok=True)
        with self.out.open("a") as handle:
            handle.write(json.dumps(record) + "\n")


class UpdateTimer(L.Callback):
    """Wall-clock time at the end of every update (after a device sync), the update's tokens and the
    first micro-batch's loss, written as JSON when training ends."""

    def __init__(self, out: str) -> None:
        self.out = Path(out)
        self.marks: list[float] = []
        self.update_tokens = 0
        self.first_loss: float | None = None
        self._seen = 0

    def _sync(self, pl_module: L.LightningModule) -> None:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize(pl_module.device)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._seen = trainer.global_step
        if pl_module.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(pl_module.device)
        self._sync(pl_module)
        self.marks = [time.perf_counter()]

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.first_loss is None:
            self.first_loss = float(trainer.callback_metrics["train/loss"])
        self.update_tokens = int(batch["update_tokens"])
        if trainer.global_step != self._seen:  # this micro-batch closed an update
            self._seen = trainer.global_step
            self._sync(pl_module)
            self.marks.append(time.perf_counter())

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        peak = torch.cuda.max_memory_allocated(pl_module.device) if pl_module.device.type == "cuda" else None
        result = {
            "marks": self.marks,
            "update_tokens": self.update_tokens,
            "first_loss": self.first_loss,
            "peak_memory_bytes": peak,
        }
        self.out.write_text(json.dumps(result))


class FSDPProbe(L.Callback):
    """At the end of training, while the strategy still holds the model: what wraps it, its full state
    dict (gathered by the strategy) and its logits on a fixed batch through the strategy's own forward
    and precision; saved to ``out`` for the checks after the run."""

    def __init__(self, out: str, batch_size: int = 2, length: int = 32, seed: int = 0) -> None:
        self.out = Path(out)
        self.batch_size = batch_size
        self.length = length
        self.seed = seed

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import CheckpointWrapper
        from torch.distributed.fsdp import FullyShardedDataParallel

        from biogpt.training.loss import next_token_targets

        strategy = trainer.strategy
        root = strategy.model
        fsdp_units = [m for m in root.modules() if isinstance(m, FullyShardedDataParallel)]
        info: dict[str, Any] = {
            "strategy": type(strategy).__name__,
            "precision": str(trainer.precision),
            "fsdp_units": len(fsdp_units),
            # each unit's module, under its activation-checkpointing wrapper if it has one
            "fsdp_wrapped": sorted(
                {type(getattr(m.module, "_checkpoint_wrapped_module", m.module)).__name__ for m in fsdp_units}
            ),
            "checkpoint_wrappers": sum(isinstance(m, CheckpointWrapper) for m in root.modules()),
            "sharding_strategy": str(fsdp_units[0].sharding_strategy) if fsdp_units else None,
            "world_size": trainer.world_size,
        }
        mixed = getattr(strategy, "mixed_precision_config", None)
        info["param_dtype"] = str(mixed.param_dtype) if mixed is not None and mixed.param_dtype else None
        state = {
            k.removeprefix("model."): v.detach().cpu().clone()
            for k, v in strategy.lightning_module_state_dict().items()
        }
        vocab = int(pl_module.model.config.vocab_size)
        generator = torch.Generator().manual_seed(self.seed)
        ids = torch.randint(4, min(vocab, 40000), (self.batch_size, self.length), generator=generator)
        batch = {
            "input_ids": ids.to(pl_module.device),
            "attention_mask": None,
            "targets": next_token_targets(ids).to(pl_module.device),
        }
        captured: list[torch.Tensor] = []
        hook = pl_module.model.register_forward_hook(lambda module, args, output: captured.append(output))
        root.eval()
        try:
            with torch.no_grad(), trainer.precision_plugin.forward_context():
                total, count = root(batch)  # the strategy's forward: FSDP's root unit, its mixed precision
        finally:
            hook.remove()
            root.train()
        torch.save(
            {
                "info": info,
                "state": state,
                "input_ids": ids,
                "logits": captured[0].detach().cpu(),
                "loss_sum": float(total),
                "count": int(count),
            },
            self.out,
        )


# --- shared helpers --------------------------------------------------------------------------------


def peak_bandwidth(device: torch.device) -> float | None:
    """The device's peak memory bandwidth in bytes/s (table ``PEAK_BANDWIDTH_TBPS``); None on a CPU or
    an unknown GPU."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((tbps * 1e12 for pattern, tbps in PEAK_BANDWIDTH_TBPS if re.search(pattern, name)), None)


def peak_bf16_tflops(device: torch.device) -> tuple[float | None, str]:
    """The device's peak dense bf16 TFLOPS and where the figure comes from (None: unknown)."""
    if device.type != "cuda":
        return None, f"no peak figure for a {device.type} device: MFU not computed"
    return peak_for_name(torch.cuda.get_device_name(device))


def peak_for_name(name: str) -> tuple[float | None, str]:
    for pattern, tflops in PEAK_BF16_TFLOPS:
        if re.search(pattern, name):
            return tflops, f"{name}: matched {pattern!r} in PEAK_BF16_TFLOPS"
    return None, f"{name} is not in PEAK_BF16_TFLOPS: MFU not computed (add its dense bf16 peak)"


def environment(device: torch.device) -> dict[str, Any]:
    import transformers

    peak, source = peak_bf16_tflops(device)
    info: dict[str, Any] = {
        "device": str(device),
        "name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "lightning": L.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "cpu_threads": torch.get_num_threads(),
        "peak_bf16_tflops": peak,
        "peak_source": source,
    }
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        info["memory_gib"] = round(properties.total_memory / 2**30, 1)
        info["capability"] = f"{properties.major}.{properties.minor}"
    return info


def compose(config_name: str, run_dir: Path, data: Path, overrides: list[str]):
    from hydra_config import compose_root

    return compose_root(config_name, run_dir, data, overrides)


def quiet_trainer() -> list[str]:
    return ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


def precision_overrides(device: torch.device, precision: str) -> list[str]:
    """The trainer group and precision for ``device``. On CPU, 16-mixed goes through the MixedPrecision
    plugin with a CPU GradScaler: Lightning turns ``precision=16-mixed`` on CPU into bf16-mixed."""
    if device.type == "cuda":
        return ["trainer=gpu", f"trainer.precision={precision}"]
    if precision == "16-mixed":
        # growth_interval=1: the scale changes at every update (doubling, halving on overflow), so its
        # resumption is visible in the scale itself and not only in the growth tracker.
        scaler = "{_target_:torch.amp.GradScaler,device:cpu,growth_interval:1}"
        plugin = "_target_:lightning.pytorch.plugins.precision.MixedPrecision,precision:'16-mixed',device:cpu"
        plugin = f"{{{plugin},scaler:{scaler}}}"
        return ["trainer=cpu", "trainer.precision=null", f"+trainer.plugins=[{plugin}]"]
    return ["trainer=cpu", f"trainer.precision={precision}"]


def state_difference(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> float:
    """Max |difference| over every tensor of two state dicts with the same keys and shapes."""
    if first.keys() != second.keys():
        raise CheckFailed(f"state dicts differ in keys: {sorted(set(first) ^ set(second))[:8]}")
    worst = 0.0
    for name, value in first.items():
        other = second[name]
        if value.shape != other.shape:
            raise CheckFailed(f"{name}: shape {list(value.shape)} against {list(other.shape)}")
        worst = max(worst, (value.double() - other.double()).abs().max().item() if value.numel() else 0.0)
    return worst


def run_logged(command: list[str], log: Path, ctx: Context, env: dict[str, str]) -> tuple[int, str]:
    """Run ``command`` in the project root with its output in ``log``; returns its status and output."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with (
        log.open("w") as handle,
        subprocess.Popen(command, cwd=PROJECT, env=env, stdout=handle, stderr=subprocess.STDOUT) as child,
    ):
        ctx.child = child
        try:
            status = child.wait(timeout=ctx.remaining())
        finally:  # a timeout, or the section's alarm
            if child.poll() is None:
                child.kill()
                child.wait()
            ctx.child = None
    return status, log.read_text(errors="replace")


def subprocess_env() -> dict[str, str]:
    paths = [str(TESTS), str(BENCHMARKS), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def require(checks: dict[str, bool]) -> None:
    failed = [name for name, passed in checks.items() if not passed]
    if failed:
        raise CheckFailed(f"checks failed: {', '.join(failed)}")


# --- 1. fine-tuning under 16-mixed / bf16-mixed, killed and resumed ------------------------------------


def task_positions(shapes: Shapes) -> list[str]:
    """Sequence bounds of the fine-tuning runs (smoke mode: short sequences, quick fp16 on CPU)."""
    bounds = {
        "max_source_positions": shapes.finetune_source_positions,
        "max_positions": shapes.finetune_max_positions,
    }
    return [f"task.{key}={value}" for key, value in bounds.items() if value is not None]


def finetune_overrides(ctx: Context, precision: str) -> list[str]:
    shapes = ctx.shapes
    updates = 2 * shapes.kill_after
    overrides = [
        "task=kd_dti",
        "data.splits.train=valid",  # KD-DTI's train split is not in the offline sample
        "data.splits.valid=test",
        f"model={shapes.finetune_preset}",
        "model.dropout=0.1",  # dropout on: its masks (CPU and CUDA generators) must resume too
        "model.attention_dropout=0.1",
        f"data.max_tokens={shapes.finetune_max_tokens}",
        "data.update_freq=2",  # KillAt kills inside an update: it needs 2+ micro-batches per update
        f"data.cache_dir={ctx.work / 'token-cache'}",
        "optim.lr=1e-4",
        "optim.warmup_updates=2",
        f"trainer.max_steps={updates}",
        "trainer.limit_val_batches=0",
        "trainer.log_every_n_steps=1",
        "+trainer.deterministic=warn",  # equal work gives equal bits (CUBLAS_WORKSPACE_CONFIG too)
        f"checkpoint.every_n_updates={shapes.kill_after}",
        "eval.split=null",
        "callbacks=console",  # no epoch checkpoints: final/ holds the last weights
        "+callbacks.scale._target_=device_check.ScaleRecorder",
        "+callbacks.scale.out='${run_dir}/scaler.jsonl'",
        "seed=1",
        *quiet_trainer(),
        *precision_overrides(ctx.device, precision),
    ]
    overrides += task_positions(shapes)
    return overrides


def checkpoint_scaler_state(path: Path) -> dict[str, Any] | None:
    """The loss scaler state a Lightning checkpoint holds (under its precision plugin's name), if any."""
    checkpoint = torch.load(path, map_location="cpu", mmap=True, weights_only=False)
    for key, value in checkpoint.items():
        if isinstance(value, dict) and "scale" in value and "_growth_tracker" in value:
            return {
                "key": key,
                "scale": float(value["scale"]),
                "growth_tracker": int(value["_growth_tracker"]),
            }
    return None


def check_finetune(ctx: Context, results: dict[str, Any], precision: str) -> None:
    from biogpt import BioGPT
    from biogpt.experiment.build import load_initial
    from biogpt.experiment.config.settings import run_settings
    from biogpt.experiment.finetune import train
    from biogpt.training.checkpoint_io import latest_checkpoint

    shapes = ctx.shapes
    root = ctx.work / f"finetune-{precision}"
    shutil.rmtree(root, ignore_errors=True)  # a run directory with checkpoints would resume
    overrides = finetune_overrides(ctx, precision)
    results.update(
        precision=precision,
        preset=shapes.finetune_preset,
        updates=2 * shapes.kill_after,
        killed_after=shapes.kill_after,
        runs_s={},
    )
    # The uninterrupted run, in this process (writes no step checkpoints: they change nothing).
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reference_cfg = compose(
            "train", root / "reference", ctx.data, [*overrides, "checkpoint.every_n_updates=null"]
        )
        reference = train(reference_cfg)
    results["runs_s"]["reference"] = round(time.perf_counter() - started, 1)
    nondeterministic = {m.group(1) for w in caught if (m := NONDETERMINISTIC.search(str(w.message)))}

    # The same command as train.py, killed mid-update after kill_after updates, then run again.
    run_dir = root / "killed"
    command = [sys.executable, str(PROJECT / "train.py"), *overrides]
    command += [f"data_dir={ctx.data}", f"hydra.run.dir={run_dir}"]
    kill = ["+callbacks.kill._target_=killing.KillAt", f"+callbacks.kill.updates={shapes.kill_after}"]
    started = time.perf_counter()
    status, output = run_logged(command + kill, root / "killed.log", ctx, subprocess_env())
    results["runs_s"]["killed"] = round(time.perf_counter() - started, 1)
    nondeterministic |= set(NONDETERMINISTIC.findall(output))
    results["killed_exit"] = status
    if status != -signal.SIGKILL:
        raise CheckFailed(f"the killed run exited with {status}, not SIGKILL:\n{output[-3000:]}")
    saved = latest_checkpoint(run_dir / "checkpoints")
    results["checkpoint_at_kill"] = None if saved is None else saved.name
    in_checkpoint = None if saved is None else checkpoint_scaler_state(saved)
    started = time.perf_counter()
    status, output = run_logged(command, root / "resumed.log", ctx, subprocess_env())
    results["runs_s"]["resumed"] = round(time.perf_counter() - started, 1)
    nondeterministic |= set(NONDETERMINISTIC.findall(output))
    if status != 0:
        raise CheckFailed(f"the resumed run exited with {status}:\n{output[-3000:]}")
    results["nondeterministic_ops"] = sorted(nondeterministic)

    expected = BioGPT.from_pretrained(Path(reference["final_model"])).state_dict()
    resumed = BioGPT.from_pretrained(run_dir / "final").state_dict()
    difference = state_difference(expected, resumed)
    results["weights_max_abs_diff"] = difference
    # Updates that changed the weights (fp16 skips the updates whose gradients overflow).
    initial, _ = load_initial(run_settings(reference_cfg))
    results["changed_by_training"] = any(
        not torch.equal(value, expected[name])
        for name, value in initial.state_dict().items()
        if name in expected and value.shape == expected[name].shape
    )
    del initial
    results["weights_tolerance"] = WEIGHT_TOLERANCE

    # The loss scaler: the reference's at every update, the killed and the resumed run's.
    reference_records = read_jsonl(root / "reference" / "scaler.jsonl")
    by_process: dict[int, list[dict[str, Any]]] = {}
    for record in read_jsonl(run_dir / "scaler.jsonl"):
        by_process.setdefault(record["pid"], []).append(record)
    runs = list(by_process.values())
    resumed_records = runs[-1] if len(runs) == 2 else []
    scaler_kind = reference_records[0]["scaler"] if reference_records else None
    at_kill = next((r for r in reference_records if r["step"] == shapes.kill_after), None)
    results["scaler"] = {
        "type": scaler_kind,
        "plugin": reference_records[0]["plugin"] if reference_records else None,
        "reference": [{k: r.get(k) for k in ("step", "scale", "growth_tracker")} for r in reference_records],
        "resumed": [{k: r.get(k) for k in ("step", "scale", "growth_tracker")} for r in resumed_records],
        "in_checkpoint": in_checkpoint,
    }
    header = (root / "reference" / "logs" / "metrics.csv").read_text().splitlines()[0].split(",")
    results["loss_scale_logged_by_module"] = any("loss_scale" in column for column in header)

    def same_state(record: dict[str, Any] | None, other: dict[str, Any] | None) -> bool:
        keys = ("scale", "growth_tracker")
        return record is not None and other is not None and all(record.get(k) == other.get(k) for k in keys)

    # From its first update on, the resumed run's scaler is the uninterrupted run's, update by update.
    continued = reference_records[shapes.kill_after :]
    restored = len(resumed_records) == len(continued) > 0 and all(
        r["step"] == e["step"] and same_state(r, e) for r, e in zip(resumed_records, continued, strict=True)
    )

    checks = {
        "killed_mid_update": results["killed_exit"] == -signal.SIGKILL,
        "checkpoint_at_kill": results["checkpoint_at_kill"] == f"step{shapes.kill_after:07d}.ckpt",
        "resumed_from_checkpoint": "resuming from" in output,
        "resumed_all_updates": len(resumed_records) == shapes.kill_after,
        "weights_equal": difference <= WEIGHT_TOLERANCE,
        "changed_by_training": results["changed_by_training"],
    }
    if precision == "16-mixed":
        scales = [r.get("scale") for r in reference_records]
        checks |= {
            "scaler_present": scaler_kind == "GradScaler",
            "scale_recorded": bool(scales) and all(s is not None and math.isfinite(s) for s in scales),
            "scaler_in_checkpoint": same_state(in_checkpoint, at_kill),
            "scaler_restored": restored,
        }
    else:
        checks["no_scaler"] = scaler_kind is None and in_checkpoint is None
    results["checks"] = checks
    require(checks)


# --- 2. pre-training throughput ----------------------------------------------------------------------


def packed_corpus(ctx: Context, tokenizer, name: str) -> Path:
    """Real abstracts (``pretrain_corpora``) packed into blocks of ``tokens_per_sample`` tokens."""
    from biogpt.data.pubmed.corpus import write_dataset
    from biogpt.data.pubmed.packing import pack_corpus
    from biogpt.data.pubmed.records import Citation

    out = ctx.work / name
    if (out / "packed" / "index.json").is_file():
        return out / "packed"
    documents: dict[str, Citation] = {}
    for corpus in ctx.shapes.pretrain_corpora:
        for key, record in json.loads((ctx.data / corpus).read_text()).items():
            documents.setdefault(key, Citation(key, record.get("title", ""), record["abstract"], None))
    write_dataset(documents.values(), out / "corpus")
    pack_corpus(
        out / "corpus",
        out / "packed",
        tokenizer,
        tokens_per_sample=ctx.shapes.tokens_per_sample,
        valid_fraction=0.0,
        num_proc=1,
    )
    return out / "packed"


def plain_loop(
    ctx: Context,
    model: torch.nn.Module,
    logits_of: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor],
    batches: list[dict[str, Any]],
    update_freq: int,
    optim,
) -> dict[str, Any]:
    """The job's update without Lightning: bf16 autocast over forward and loss, fairseq's normalisation,
    the same optimiser and schedule; times every update (device-synchronised)."""
    from biogpt.training.loss import summed_lm_loss
    from biogpt.training.optim import build_optimizer

    optimizer, scheduler = build_optimizer(
        optim, [{"params": [p for p in model.parameters() if p.requires_grad]}]
    )
    model.train()
    if ctx.cuda:
        torch.cuda.reset_peak_memory_stats(ctx.device)
    first_loss = None
    losses = []  # each micro-batch's mean token loss, read once the loop is over (no extra syncs)
    ctx.sync()
    marks = [time.perf_counter()]
    for update in range(len(batches) // update_freq):
        for batch in batches[update * update_freq : (update + 1) * update_freq]:
            ids = batch["input_ids"].to(ctx.device, non_blocking=True)
            targets = batch["targets"].to(ctx.device, non_blocking=True)
            with torch.autocast(ctx.device.type, dtype=torch.bfloat16):
                total, count = summed_lm_loss(logits_of(model, ids), targets)
                loss = total / batch["update_tokens"].to(ctx.device)
            loss.backward()
            losses.append((total / count).detach())
            if first_loss is None:
                first_loss = losses[0].item()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        ctx.sync()
        marks.append(time.perf_counter())
    peak = torch.cuda.max_memory_allocated(ctx.device) if ctx.cuda else None
    return {
        "marks": marks,
        "first_loss": first_loss,
        "losses": [loss.item() for loss in losses],
        "peak_memory_bytes": peak,
    }


def throughput_row(
    side: str, timing: dict[str, Any], tokens_per_update: int, warmup: int, flops: dict[str, float]
) -> dict[str, Any]:
    marks = timing["marks"]
    timed = len(marks) - 1 - warmup
    if timed < 1:
        raise CheckFailed(f"{side}: {len(marks) - 1} updates timed, {warmup} of them warm-up")
    seconds = marks[-1] - marks[warmup]
    tokens_per_s = timed * tokens_per_update / seconds
    update_times = [b - a for a, b in zip(marks[warmup:-1], marks[warmup + 1 :], strict=True)]
    peak = flops["peak"]
    row = {
        "side": side,
        "tokens_per_update": tokens_per_update,
        "timed_updates": timed,
        "update_s_median": statistics.median(update_times),
        "tokens_per_s": tokens_per_s,
        "mfu": None if peak is None else tokens_per_s * flops["per_token"] / peak,
        "mfu_6n": None if peak is None else tokens_per_s * flops["per_token_6n"] / peak,
        "first_loss": timing["first_loss"],
        "peak_memory_gib": None
        if timing.get("peak_memory_bytes") is None
        else round(timing["peak_memory_bytes"] / 2**30, 2),
    }
    return row


def pretrain_overrides(ctx: Context, blocks: int, update_freq: int, corpus: Path) -> list[str]:
    shapes = ctx.shapes
    return [
        f"model={shapes.pretrain_preset}",
        "model.dropout=0",  # the three sides compute the same function (checked on the first loss)
        "model.attention_dropout=0",
        "trainer=gpu" if ctx.cuda else "trainer=cpu",
        "trainer.precision=bf16-mixed",
        f"trainer.max_steps={shapes.pretrain_warmup + shapes.pretrain_timed}",
        "trainer.limit_val_batches=0",
        f"data.update_freq={update_freq}",
        f"pretrain.corpus_dir={corpus}",
        f"pretrain.tokens_per_sample={shapes.tokens_per_sample}",
        f"pretrain.blocks_per_batch={blocks}",
        "pretrain.save_every_n_updates=100000",
        "pretrain.valid_every_n_updates=100000",
        "pretrain.validate_final=false",
        "logger={}",
        "+callbacks.timer._target_=device_check.UpdateTimer",
        "+callbacks.timer.out='${run_dir}/timer.json'",
        *quiet_trainer(),
    ]


def check_pretrain(ctx: Context, results: dict[str, Any]) -> None:
    from transformers import BioGptForCausalLM

    from biogpt.data.pubmed.packed import BlockDataset, TrainBlockSampler
    from biogpt.data.pubmed.packing import PackedSplit
    from biogpt.experiment.build import load_initial
    from biogpt.experiment.config.settings import optim_settings, pretrain_run_settings
    from biogpt.experiment.pretrain import pretrain
    from biogpt.model import count_parameters
    from biogpt.tokenizer import BioGPTTokenizer

    shapes = ctx.shapes
    tokenizer = BioGPTTokenizer.from_pretrained(ctx.data / "vocab" / "biogpt")
    started = time.perf_counter()
    corpus = packed_corpus(ctx, tokenizer, "pretrain-corpus")
    split = PackedSplit(corpus, "train")
    results["corpus"] = {
        "files": list(shapes.pretrain_corpora),
        "blocks": len(split),
        "tokens_per_sample": shapes.tokens_per_sample,
        "pack_s": round(time.perf_counter() - started, 1),
    }
    peak_tflops, _ = peak_bf16_tflops(ctx.device)
    results["peak_bf16_tflops"] = peak_tflops
    results["rows"] = []
    updates = shapes.pretrain_warmup + shapes.pretrain_timed
    for blocks, update_freq in shapes.pretrain_configs:
        label = f"{blocks}x{shapes.tokens_per_sample} x{update_freq}"
        run_dir = ctx.work / "pretrain-runs" / f"{blocks}x{update_freq}"
        shutil.rmtree(run_dir, ignore_errors=True)
        overrides = pretrain_overrides(ctx, blocks, update_freq, corpus)
        cfg = compose("pretrain", run_dir, ctx.data, overrides)
        model, _ = load_initial(pretrain_run_settings(cfg))  # the job's initial weights, before it trains
        parameters = count_parameters(model)
        config = model.config
        per_token_6n = 6 * parameters
        flops = {
            "peak": None if peak_tflops is None else peak_tflops * 1e12,
            "per_token_6n": per_token_6n,
            "per_token": per_token_6n
            + 12 * config.num_layers * config.hidden_size * shapes.tokens_per_sample,
        }
        hf_dir = model.save_pretrained(run_dir / "initial")
        sampler = TrainBlockSampler(
            len(split), blocks, shapes.tokens_per_sample, update_freq=update_freq, seed=cfg.seed
        )
        dataset = BlockDataset(split)
        batches = [
            dataset.__getitems__(b) for _, b in zip(range(updates * update_freq), sampler, strict=False)
        ]

        pretrain(cfg)
        job = json.loads((run_dir / "timer.json").read_text())
        tokens_per_update = blocks * update_freq * shapes.tokens_per_sample
        rows = [
            throughput_row(
                f"ours: pretrain job {label}", job, tokens_per_update, shapes.pretrain_warmup, flops
            )
        ]
        free_memory()
        optim = optim_settings(cfg)
        ours = plain_loop(ctx, model.to(ctx.device), lambda m, ids: m(ids), batches, update_freq, optim)
        rows.append(
            throughput_row(
                f"ours: plain loop {label}", ours, tokens_per_update, shapes.pretrain_warmup, flops
            )
        )
        del model
        free_memory()
        reference = BioGptForCausalLM.from_pretrained(hf_dir, attn_implementation="sdpa").to(ctx.device)
        hf = plain_loop(ctx, reference, lambda m, ids: m(input_ids=ids).logits, batches, update_freq, optim)
        rows.append(
            throughput_row(
                f"transformers sdpa: plain loop {label}", hf, tokens_per_update, shapes.pretrain_warmup, flops
            )
        )
        del reference
        free_memory()
        for row in rows:
            row.update(
                parameters=parameters, flops_per_token=flops["per_token"], flops_per_token_6n=per_token_6n
            )
        results["rows"].extend(rows)
        shutil.rmtree(run_dir, ignore_errors=True)
    losses = [row["first_loss"] for row in results["rows"]]
    groups = [losses[i : i + 3] for i in range(0, len(losses), 3)]
    checks = {
        "tokens_per_s_positive": all(row["tokens_per_s"] > 0 for row in results["rows"]),
        "same_first_loss": all(
            all(loss is not None for loss in group) and max(group) - min(group) <= LOSS_TOLERANCE
            for group in groups
        ),
        "mfu_when_peak_known": all((row["mfu"] is None) == (peak_tflops is None) for row in results["rows"]),
    }
    results["loss_tolerance"] = LOSS_TOLERANCE
    results["flops_formula"] = (
        "6*N + 12*layers*hidden*seq per token (N: unique parameters, tied embedding once; attention term "
        "not halved for causality, PaLM appendix B); mfu_6n: 6*N only"
    )
    results["checks"] = checks
    require(checks)


# --- 3. FSDP on a reduced-depth biogpt-large shape ------------------------------------------------------


def describe_strategy(strategy: Any) -> dict[str, Any]:
    def classes(policy: Any) -> list[str]:
        names = getattr(policy, "_module_classes", policy) or ()
        return sorted(c.__name__ for c in names)

    return {
        "type": type(strategy).__name__,
        "sharding_strategy": str(getattr(strategy, "sharding_strategy", None)),
        "state_dict_type": getattr(strategy, "_state_dict_type", None),
        "use_orig_params": strategy.kwargs.get("use_orig_params"),
        "auto_wrap_policy": classes(strategy.kwargs.get("auto_wrap_policy")),
        "activation_checkpointing_policy": classes(
            strategy._activation_checkpointing_kwargs.get("auto_wrap_policy")
        ),
    }


def fsdp_overrides(ctx: Context, init_dir: Path) -> list[str]:
    shapes = ctx.shapes
    overrides = [
        "task=kd_dti",
        "data.splits.train=valid",
        "data.splits.valid=test",
        "model=biogpt-large",
        f"model.init={init_dir}",
        "model.dropout=0",
        "model.attention_dropout=0",
        f"data.max_tokens={shapes.finetune_max_tokens}",
        "data.update_freq=2",
        f"data.cache_dir={ctx.work / 'token-cache'}",
        "optim.lr=1e-4",
        "optim.warmup_updates=2",
        f"trainer.max_steps={shapes.fsdp_updates}",
        "trainer.limit_val_batches=0",
        f"checkpoint.every_n_updates={shapes.fsdp_updates}",
        "eval.split=null",
        "callbacks=console",
        "logger={}",
        "+callbacks.probe._target_=device_check.FSDPProbe",
        "+callbacks.probe.out='${run_dir}/probe.pt'",
        "seed=1",
        *quiet_trainer(),
        *task_positions(shapes),
    ]
    if ctx.cuda:
        return [*overrides, "trainer=fsdp", "trainer.devices=1"]
    return [*overrides, "trainer=cpu", "trainer.precision=bf16-mixed"]


def check_fsdp(ctx: Context, results: dict[str, Any]) -> None:
    from biogpt import BioGPT, BioGPTConfig
    from biogpt.artifacts.model_dir import save_model_dir
    from biogpt.experiment.build import fsdp_strategy
    from biogpt.experiment.finetune import train
    from biogpt.tokenizer import BioGPTTokenizer
    from biogpt.training.checkpoint_io import latest_checkpoint

    shapes = ctx.shapes
    root = ctx.work / "fsdp"
    shutil.rmtree(root, ignore_errors=True)
    preset, shape_overrides = shapes.fsdp_shape
    config = BioGPTConfig.from_preset(preset, **shape_overrides, dropout=0.0, attention_dropout=0.0)
    torch.manual_seed(0)
    model = BioGPT(config)
    results["shape"] = {"preset": preset, **shape_overrides}
    # The strategy trainer=fsdp builds, whatever the device (constructing it needs no GPU).
    fsdp_cfg = compose("train", root / "strategy", ctx.data, ["trainer=fsdp", "model=biogpt-large"])
    strategy = describe_strategy(fsdp_strategy(fsdp_cfg.trainer.strategy, model))
    results["strategy"] = strategy
    layer_classes = sorted(c.__name__ for c in model.block_classes)
    tokenizer = BioGPTTokenizer.from_pretrained(ctx.data / "vocab" / "biogpt-large")
    init_dir = save_model_dir(root / "initial", model, tokenizer)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    del model

    overrides = fsdp_overrides(ctx, init_dir)
    if ctx.cuda:
        results["fsdp_run"] = "ran on 1 GPU (world size 1: FSDP's NO_SHARD path; sharding needs 2+ GPUs)"
    else:
        results["fsdp_run"] = (
            "skipped on CPU: Lightning's FSDPStrategy requires a CUDA accelerator and torch's FSDP a "
            "non-CPU device; the job, probe and reload checks ran with trainer=cpu (bf16-mixed)"
        )
    run_dir = root / "run"
    summary = train(compose("train", run_dir, ctx.data, overrides))
    probe = torch.load(run_dir / "probe.pt", map_location="cpu", weights_only=False)
    results["probe"] = probe["info"]
    checkpoint = latest_checkpoint(run_dir / "checkpoints")
    results["checkpoint"] = None if checkpoint is None else checkpoint.name
    final = BioGPT.from_pretrained(Path(summary["final_model"]))
    from_checkpoint = BioGPT.from_pretrained(checkpoint) if checkpoint is not None else None
    in_memory = probe["state"]
    trained = {k: v for k, v in in_memory.items() if k in initial and v.shape == initial[k].shape}
    results["final_vs_in_memory_max_abs_diff"] = state_difference(in_memory, final.state_dict())
    if from_checkpoint is not None:
        results["checkpoint_vs_final_max_abs_diff"] = state_difference(
            from_checkpoint.state_dict(), final.state_dict()
        )
    results["changed_by_training"] = any(not torch.equal(v, initial[k]) for k, v in trained.items())

    # The reloaded model's logits, computed as the strategy computed them: parameters in FSDP's
    # param_dtype (if any), under the run's autocast.
    param_dtype = probe["info"].get("param_dtype")
    reloaded = final.to(ctx.device).eval()
    if param_dtype == "torch.bfloat16":
        reloaded = reloaded.to(torch.bfloat16)
    with torch.no_grad(), torch.autocast(ctx.device.type, dtype=torch.bfloat16):
        logits = reloaded(probe["input_ids"].to(ctx.device)).cpu()
    expected = probe["logits"]
    results["logits"] = {
        "dtype": str(expected.dtype),
        "max_abs_diff": (logits.double() - expected.double()).abs().max().item(),
        "max_abs": expected.double().abs().max().item(),
        "bitwise_equal": torch.equal(logits, expected),
    }
    try:
        torch.testing.assert_close(logits, expected)  # torch's default tolerance for the logits' dtype
        logits_equal = True
    except AssertionError as error:
        logits_equal = False
        results["logits"]["error"] = str(error)[:500]
    info = probe["info"]
    checks = {
        "strategy_fsdp": strategy["type"] == "FSDPStrategy",
        "wraps_each_layer": strategy["auto_wrap_policy"] == layer_classes == ["DecoderLayer"],
        "checkpoints_each_layer": strategy["activation_checkpointing_policy"] == layer_classes,
        "full_state_dict": strategy["state_dict_type"] == "full",
        "trained": summary["updates"] == shapes.fsdp_updates and results["changed_by_training"],
        "checkpoint_saved": checkpoint is not None,
        "final_equals_in_memory": results["final_vs_in_memory_max_abs_diff"] == 0.0,
        "checkpoint_equals_final": results.get("checkpoint_vs_final_max_abs_diff") == 0.0,
        "logits_equal": logits_equal,
    }
    if ctx.cuda:
        checks |= {
            "ran_under_fsdp": info["strategy"] == "FSDPStrategy",
            "layers_wrapped": info["fsdp_units"] == config.num_layers + 1
            and "DecoderLayer" in info["fsdp_wrapped"],
            "layers_checkpointed": info["checkpoint_wrappers"] == config.num_layers,
        }
    results["checks"] = checks
    del final, from_checkpoint, reloaded
    free_memory()
    require(checks)


# --- 4. greedy generation against transformers -----------------------------------------------------------


def divergences(
    model: torch.nn.Module,
    prompts: torch.Tensor,
    ours: list[list[int]],
    reference: list[list[int]],
    device: torch.device,
) -> list[dict[str, Any]]:
    """Where each differing row first differs, and our logit margin between the two choices there: a
    near tie (two logits within ``NEAR_TIE``, which kernels that round differently may order either
    way) is told apart from a real difference. Rows differ on from their first difference."""
    found = []
    for row, (mine, theirs) in enumerate(zip(ours, reference, strict=True)):
        if mine == theirs:
            continue
        position = next((i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), None)
        if position is None:  # one stopped early: min_new_tokens forbids it
            found.append({"row": row, "lengths": [len(mine), len(theirs)], "near_tie": False})
            continue
        prefix = torch.tensor([[*prompts[row].tolist(), *mine[:position]]], device=device)
        with torch.no_grad():
            logits = model(prefix)[0, -1].float()
        margin = (logits[mine[position]] - logits[theirs[position]]).item()
        found.append(
            {
                "row": row,
                "position": position,
                "ours": mine[position],
                "transformers": theirs[position],
                "logit_margin": margin,
                "near_tie": abs(margin) <= NEAR_TIE,
            }
        )
    return found


def check_generation(ctx: Context, results: dict[str, Any]) -> None:
    from bench_generation import prompts, transformers_greedy
    from transformers import BioGptForCausalLM

    from biogpt import BioGPT, BioGPTConfig
    from biogpt.generation import GenerationSettings, generate

    shapes = ctx.shapes
    torch.manual_seed(0)
    ours = BioGPT(BioGPTConfig.from_preset(shapes.generation_preset))
    directory = ours.save_pretrained(ctx.work / "generation" / "model")
    reference = BioGptForCausalLM.from_pretrained(directory, attn_implementation="sdpa").to(ctx.device).eval()
    ours = ours.to(ctx.device).eval()
    all_prompts = prompts(ctx.data, max(shapes.batch_sizes), shapes.prompt_tokens)
    settings = GenerationSettings(max_new_tokens=shapes.new_tokens, min_new_tokens=shapes.new_tokens)
    results.update(
        preset=shapes.generation_preset,
        dtype="float32",
        prompt_tokens=shapes.prompt_tokens,
        new_tokens=shapes.new_tokens,
        repeats=shapes.repeats,
        rows=[],
    )
    for batch_size in shapes.batch_sizes:
        batch = all_prompts[:batch_size]

        def run_ours(batch: torch.Tensor = batch) -> list[list[int]]:
            return generate(ours, batch.tolist(), settings, eos_id=2, pad_id=1)

        def run_reference(batch: torch.Tensor = batch) -> list[list[int]]:
            return transformers_greedy(reference, batch.to(ctx.device), shapes.new_tokens)

        ours_tokens, reference_tokens = run_ours(), run_reference()  # also the warm-up
        identical = ours_tokens == reference_tokens
        row: dict[str, Any] = {"batch_size": batch_size, "identical_tokens": identical}
        if not identical:
            row["divergences"] = divergences(ours, batch, ours_tokens, reference_tokens, ctx.device)
        times: dict[str, list[float]] = {"ours": [], "transformers": []}
        for _ in range(shapes.repeats):
            for name, run in (("ours", run_ours), ("transformers", run_reference)):
                ctx.sync()
                started = time.perf_counter()
                run()
                ctx.sync()
                times[name].append(time.perf_counter() - started)
        tokens = batch_size * shapes.new_tokens
        medians = {name: statistics.median(values) for name, values in times.items()}
        row |= {
            "ours_s": medians["ours"],
            "transformers_s": medians["transformers"],
            "ours_tokens_per_s": tokens / medians["ours"],
            "transformers_tokens_per_s": tokens / medians["transformers"],
            "speedup": medians["transformers"] / medians["ours"],
        }
        results["rows"].append(row)
    ours = reference = None  # freed before the checks
    free_memory()
    checks = {
        "identical_tokens_or_near_ties": all(
            row["identical_tokens"] or all(d["near_tie"] for d in row["divergences"])
            for row in results["rows"]
        ),
        "tokens_per_s_positive": all(
            row["ours_tokens_per_s"] > 0 and row["transformers_tokens_per_s"] > 0 for row in results["rows"]
        ),
    }
    results["checks"] = checks
    require(checks)


def check_peft(ctx: Context, results: dict[str, Any]) -> None:
    from biogpt import BioGPT, BioGPTConfig
    from biogpt.model.adapters import PeftSettings, add_adapters, lora_config
    from biogpt.model.quantized import quantize_projections
    from biogpt.training.loss import next_token_targets
    from biogpt.training.optim import OptimSettings

    shapes = ctx.shapes
    preset, overrides = shapes.peft_shape
    config = BioGPTConfig.from_preset(preset, dropout=0.0, attention_dropout=0.0, **overrides)
    generator = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(shapes.peft_updates):
        ids = torch.randint(4, config.vocab_size, (1, shapes.peft_tokens), generator=generator)
        targets = next_token_targets(ids)
        batches.append({"input_ids": ids, "targets": targets, "update_tokens": (targets >= 0).sum()})
    cycled = [batches[i % len(batches)] for i in range(shapes.peft_loss_updates)]
    optim = OptimSettings(lr=1e-3, warmup_updates=1)  # LoRA's usual rate, at which 50 updates lower the loss
    no_flops = {"peak": None, "per_token": 0.0, "per_token_6n": 0.0}
    results.update(preset=preset, tokens_per_update=shapes.peft_tokens, rows=[])
    losses: dict[str, list[float]] = {}
    for side, rank, four_bit in (("full", None, False), ("lora r=8", 8, False), ("qlora r=8", 8, True)):
        torch.manual_seed(0)
        with torch.device(ctx.device):
            model = BioGPT(config)
        if four_bit:
            quantize_projections(model)  # on the model's device
        if rank is not None:
            settings = PeftSettings(method="lora", r=rank, alpha=2.0 * rank, dropout=0.0)
            add_adapters(model, lora_config(model, settings))
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        timing = plain_loop(ctx, model, lambda m, ids: m(ids), batches if rank is None else cycled, 1, optim)
        row = throughput_row(side, timing, shapes.peft_tokens, shapes.peft_warmup, no_flops)
        results["rows"].append(row | {"trainable": trainable})
        losses[side] = timing["losses"]
        model = None
        free_memory()
    full, lora, qlora = results["rows"]
    cycle = len(batches)  # the last `cycle` updates saw each sequence once, as the first did
    lora_start = statistics.fmean(losses["lora r=8"][:cycle])
    lora_end = statistics.fmean(losses["lora r=8"][-cycle:])
    qlora_end = statistics.fmean(losses["qlora r=8"][-cycle:])
    results["loss_over_updates"] = {
        "updates": shapes.peft_loss_updates,
        "lora": losses["lora r=8"],
        "qlora": losses["qlora r=8"],
        "lora_first_cycle_mean": lora_start,
        "lora_last_cycle_mean": lora_end,
        "qlora_last_cycle_mean": qlora_end,
        "relative_difference": abs(qlora_end - lora_end) / lora_end,
        "tolerance": QLORA_LOSS_TOLERANCE,
    }
    checks = {
        "same_first_loss": abs(full["first_loss"] - lora["first_loss"]) <= LOSS_TOLERANCE,
        "fewer_trainable": lora["trainable"] < full["trainable"],
        "qlora_trains_as_many_as_lora": qlora["trainable"] == lora["trainable"],
        "lora_loss_falls": lora_end < lora_start,
        "qlora_loss_follows_lora": abs(qlora_end - lora_end) <= QLORA_LOSS_TOLERANCE * lora_end,
        "tokens_per_s_positive": all(row["tokens_per_s"] > 0 for row in results["rows"]),
    }
    if ctx.cuda:
        checks["lora_uses_less_memory"] = lora["peak_memory_gib"] < full["peak_memory_gib"]
        checks["qlora_uses_less_memory"] = qlora["peak_memory_gib"] < lora["peak_memory_gib"]
    results["checks"] = checks
    require(checks)


# --- the run -----------------------------------------------------------------------------------------


# --- 6. corpus extraction against a transformers loop ------------------------------------------------------


def check_extraction(ctx: Context, results: dict[str, Any]) -> None:
    """``biogpt-extract``'s engine against a ``transformers`` ``generate`` loop (``bench_extract.py``): the
    same real abstracts and random weights, documents/s at each side's best batch size (goal on a GPU:
    3x), and our generated tokens/s as a fraction of the memory-bandwidth roof (each decode step reads
    every weight once: ``batch x bandwidth / weight bytes`` tokens/s, prefill left out, so the fraction
    is a lower bound of the decode steps' own)."""
    from bench_extract import abstracts, compare, load_sides, model_directory

    shapes = ctx.shapes
    texts, origin = abstracts(ctx.data, shapes.extract_documents)
    directory = ctx.work / "extraction" / "model"
    directory.mkdir(parents=True, exist_ok=True)
    model_directory(directory, ctx.data, shapes.extract_layers, shapes.extract_max_source)
    sides = load_sides(
        directory, ctx.data, texts, shapes.extract_new_tokens, str(ctx.device), shapes.extract_dtype
    )
    comparison = compare(sides, list(shapes.extract_batch_sizes), shapes.repeats, ctx.sync)
    model = sides.extractor.generator.model
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    bandwidth = peak_bandwidth(ctx.device)
    best = comparison["best_ours"]
    roof = None if bandwidth is None else best["batch_size"] * bandwidth / weight_bytes
    sides = None
    free_memory()
    results.update(
        layers=shapes.extract_layers,
        documents=len(texts),
        texts_from=origin,
        new_tokens=shapes.extract_new_tokens,
        max_source=shapes.extract_max_source,
        dtype=shapes.extract_dtype,
        rows=comparison["rows"],
        speedup=comparison["speedup"],
        meets_goal=comparison["speedup"] >= (3.0 if ctx.cuda else 2.0),
        weight_bytes=weight_bytes,
        peak_bandwidth_bytes_per_s=bandwidth,
        roof_tokens_per_s=roof,
        roof_fraction=None if roof is None else best["ours_tokens_per_s"] / roof,
    )
    checks = {
        "docs_per_s_positive": all(
            row["ours_docs_per_s"] > 0 and row["transformers_docs_per_s"] > 0 for row in comparison["rows"]
        ),
        # bf16 kernels of the two sides round differently, so only fp32 runs must agree text for text.
        "identical_texts": comparison["all_identical"] or shapes.extract_dtype != "fp32",
    }
    results["checks"] = checks
    require(checks)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise SectionTimeout in this (main) thread after ``seconds``."""

    def expire(signum, frame) -> None:
        raise SectionTimeout(f"ran past its budget of {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def restored_torch_flags() -> Iterator[None]:
    """Sections may turn on deterministic algorithms (Lightning's ``deterministic``); later ones must not
    run under them."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    benchmark = torch.backends.cudnn.benchmark
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.backends.cudnn.benchmark = benchmark


@dataclass
class SectionReport:
    status: str = "not run"
    wall_s: float = 0.0
    budget_s: float = 0.0
    error: str | None = None
    traceback: str | None = None
    results: dict[str, Any] = field(default_factory=dict)


def run_section(ctx: Context, name: str, budget: float) -> SectionReport:
    report = SectionReport(budget_s=round(budget, 1))
    ctx.running = report  # what the watchdog reports if the section never returns
    if name in FINETUNE_PRECISION:
        runner = functools.partial(check_finetune, precision=FINETUNE_PRECISION[name])
    else:  # looked up when called: tests replace a check to see a failure reported
        runner = {
            "pretrain_throughput": check_pretrain,
            "fsdp": check_fsdp,
            "generation": check_generation,
            "peft": check_peft,
            "extraction": check_extraction,
        }[name]
    started = time.monotonic()
    ctx.deadline = started + budget
    print(f"\n=== device check: {name} (budget {budget:.0f} s) ===", flush=True)
    try:
        with time_limit(budget), restored_torch_flags():
            runner(ctx, report.results)
        report.status = "ok"
    except Exception as error:  # SectionTimeout included: every failure is reported, the rest runs
        report.status = "failed"
        report.error = f"{type(error).__name__}: {error}"[:4000]
        report.traceback = traceback.format_exc()[-6000:]
        print(f"section {name} failed: {report.error[:2000]}", file=sys.stderr, flush=True)
    finally:
        report.wall_s = round(time.monotonic() - started, 1)
        ctx.deadline = math.inf
        ctx.running = None
        if not ctx.args.keep_work:
            shutil.rmtree(ctx.work / SECTION_DIRS[name], ignore_errors=True)
        free_memory()
    return report


def summary_line(name: str, section: SectionReport) -> str:
    results = section.results
    if section.status != "ok" and section.error:
        return section.error.splitlines()[0][:100]
    if name in FINETUNE_PRECISION:
        scaler = results.get("scaler", {})
        scales = [r["scale"] for r in scaler.get("reference", []) if r.get("scale") is not None]
        scale = f"scale {scales[0]:g}->{scales[-1]:g}" if scales else "no scaler"
        return (
            f"{scale}; killed at {results.get('checkpoint_at_kill')}, resumed; "
            f"weights max|diff| {results.get('weights_max_abs_diff', float('nan')):.1e}"
        )
    if name == "pretrain_throughput":
        parts = []
        for row in results.get("rows", []):
            mfu = "" if row["mfu"] is None else f" MFU {100 * row['mfu']:.1f}%"
            parts.append(f"{row['side'].split(':')[0]} {row['tokens_per_s']:,.0f} tok/s{mfu}")
        return "; ".join(parts[:3])
    if name == "fsdp":
        difference = results.get("logits", {}).get("max_abs_diff")
        return f"{results.get('fsdp_run', '')[:60]}; logits max|diff| {difference}"
    if name == "generation":
        return "; ".join(f"b{row['batch_size']} x{row['speedup']:.2f}" for row in results.get("rows", []))
    if name == "peft":
        return "; ".join(
            f"{row['side']} {row['tokens_per_s']:,.0f} tok/s"
            + ("" if row["peak_memory_gib"] is None else f" {row['peak_memory_gib']:.1f} GiB")
            for row in results.get("rows", [])
        )
    if name == "extraction" and "speedup" in results:
        roof = results["roof_fraction"]
        return f"x{results['speedup']:.2f} docs/s" + ("" if roof is None else f"; {roof:.0%} of the roof")
    return ""


TABLE_HEADER = f"{'section':22s} {'status':8s} {'wall_s':>7s} {'budget':>7s}  summary"


def print_table(report: dict[str, Any]) -> None:
    env = report["environment"]
    peak = "unknown" if env["peak_bf16_tflops"] is None else f"{env['peak_bf16_tflops']:g} TFLOPS"
    print(
        f"\ndevice check ({report['mode']}) on {env['name']} [{env['device']}]; peak bf16: {peak}; ", end=""
    )
    print(f"{report['wall_s']:.0f} s of a {report['budget_s']:.0f} s budget")
    print(TABLE_HEADER)
    for name, section in report["sections"].items():
        line = summary_line(name, SectionReport(**section))
        print(
            f"{name:22s} {section['status']:8s} {section['wall_s']:7.1f} {section['budget_s']:7.0f}  {line}"
        )
    rows = report["sections"].get("pretrain_throughput", {}).get("results", {}).get("rows", [])
    if rows:
        columns = f"{'tokens/s':>12s} {'MFU':>7s} {'MFU 6N':>7s} {'loss':>8s} {'GiB':>6s}"
        print(f"\n{'pre-training (bf16)':44s} {columns}")
        for row in rows:
            mfu = "-" if row["mfu"] is None else f"{100 * row['mfu']:.1f}%"
            mfu6 = "-" if row["mfu_6n"] is None else f"{100 * row['mfu_6n']:.1f}%"
            memory = "-" if row["peak_memory_gib"] is None else f"{row['peak_memory_gib']:.1f}"
            figures = (
                f"{row['tokens_per_s']:12,.0f} {mfu:>7s} {mfu6:>7s} {row['first_loss']:8.4f} {memory:>6s}"
            )
            print(f"{row['side']:44s} {figures}")
    rows = report["sections"].get("generation", {}).get("results", {}).get("rows", [])
    if rows:
        columns = f"{'ours tok/s':>12s} {'hf tok/s':>12s} {'speedup':>8s}  identical"
        print(f"\n{'greedy decoding (fp32)':24s} {columns}")
        for row in rows:
            print(
                f"{'batch ' + str(row['batch_size']):24s} {row['ours_tokens_per_s']:12,.1f} "
                f"{row['transformers_tokens_per_s']:12,.1f} {row['speedup']:8.2f}  {row['identical_tokens']}"
            )
    extraction = report["sections"].get("extraction", {}).get("results", {})
    if extraction.get("rows"):
        title = f"extraction ({extraction['dtype']})"
        print(f"\n{title:24s} {'ours docs/s':>12s} {'hf docs/s':>12s}  identical to the first run (ours, hf)")
        for row in extraction["rows"]:
            print(
                f"{'batch ' + str(row['batch_size']):24s} {row['ours_docs_per_s']:12,.2f} "
                f"{row['transformers_docs_per_s']:12,.2f}  {row['ours_identical_texts']}/{row['documents']}, "
                f"{row['transformers_identical_texts']}/{row['documents']}"
            )
    print(f"\nresult: {'ALL OK' if report['ok'] else 'FAILED: ' + ', '.join(report['failed'])}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="tiny shapes, a few steps (CPU test suite)")
    parser.add_argument("--out", type=Path, required=True, help="the JSON report")
    parser.add_argument("--device", help="cuda or cpu (default: cpu with --smoke, else cuda)")
    parser.add_argument("--data-dir", type=Path, default=DATA, help="shared data root ($BIOGPT_DATA)")
    parser.add_argument("--work-dir", type=Path, help="where the runs write (default: a temporary directory)")
    parser.add_argument("--keep-work", action="store_true", help="keep the work directory")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--budget", type=float, help="seconds for the whole run (default: the mode's)")
    parser.add_argument(
        "--threads", type=int, help="CPU threads of every process (default: torch's; 1 with --smoke)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shapes = SMOKE if args.smoke else FULL
    device = torch.device(args.device or ("cpu" if args.smoke else "cuda"))
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA GPU here: the full mode needs one (use --smoke for the CPU check)", file=sys.stderr)
        return 2
    if not args.data_dir.is_dir():
        print(f"data root not found: {args.data_dir} (set BIOGPT_DATA or --data-dir)", file=sys.stderr)
        return 2
    threads = args.threads or (1 if args.smoke else None)
    if threads:  # tiny shapes on a shared CPU: more threads mostly wait for each other
        torch.set_num_threads(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)  # the train.py runs
    # Deterministic cuBLAS for the fine-tuning sections' in-process runs: the workspace setting must be
    # in place before the first cuBLAS call of this process.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="biogpt-device-check-"))
    work.mkdir(parents=True, exist_ok=True)
    ctx = Context(args, shapes, device, args.data_dir.resolve(), work.resolve())
    budget = args.budget or shapes.total_budget
    started = time.monotonic()
    report: dict[str, Any] = {
        "mode": "smoke" if args.smoke else "full",
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "budget_s": budget,
        "environment": environment(device),
        "shapes": asdict(shapes),
        "data_dir": str(ctx.data),
        "work_dir": str(ctx.work),
        "sections": {},
    }

    def write(final: bool) -> None:
        sections = report["sections"]
        report["wall_s"] = round(time.monotonic() - started, 1)
        report["failed"] = [name for name, section in sections.items() if section["status"] != "ok"]
        report["ok"] = final and not report["failed"] and len(sections) == len(args.sections)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        temporary = args.out.with_name(args.out.name + ".tmp")
        temporary.write_text(json.dumps(report, indent=2, default=str) + "\n")
        os.replace(temporary, args.out)

    def hard_stop() -> None:
        """The whole run is past its budget and a section did not give control back (a device call that
        never returns): report what there is and end the process."""
        name = next((n for n in args.sections if n not in report["sections"]), "?")
        section = ctx.running or SectionReport()
        section.status = "failed"
        section.error = f"SectionTimeout: the run passed its {budget:.0f} s budget; the watchdog ended it"
        report["sections"][name] = asdict(section)
        if ctx.child is not None:
            ctx.child.kill()
        write(final=True)
        print(f"device check: stopped past the run's budget in section {name}", file=sys.stderr, flush=True)
        os._exit(3)

    watchdog = threading.Timer(budget + WATCHDOG_GRACE_S, hard_stop)
    watchdog.daemon = True
    watchdog.start()
    try:
        for name in args.sections:
            left = budget - (time.monotonic() - started)
            section_budget = min(shapes.budgets[name], left)
            if section_budget < 10:
                section = SectionReport(
                    status="skipped", error=f"SectionTimeout: {left:.0f} s of the run's budget left"
                )
            else:
                section = run_section(ctx, name, section_budget)
            report["sections"][name] = asdict(section)
            write(final=False)
    finally:
        watchdog.cancel()
        write(final=True)
        if not args.keep_work and args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    print_table(report)
    print(f"report: {args.out}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
