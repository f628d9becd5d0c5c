"""The precisions inference can run in (``eval.dtype``, ``biogpt-generate dtype=``), by name, and where
inference runs.

The weights and so the KV cache decoding allocates are kept in the chosen dtype; decoding takes its
log-probabilities in float32 whatever the model's dtype. Named here, in the model layer, so that the
evaluation settings can check a name without importing the artifacts that load models.

bf16 pays only where the device computes it natively: CUDA GPUs with bf16 support, and CPUs with
AVX-512 BF16 or AMX (whose kernels torch and oneDNN select at run time). Elsewhere every bf16 product is
emulated through float32 conversions, and bf16 decoding measured 1.7-3.6x slower than float32 on an
AVX2-only AMD EPYC (``benchmarks/bench_bf16.py``). So ``auto`` picks bf16 only where it is native, and
an explicit ``bf16`` without native support runs as asked, with one warning that names the cost.
Training in bf16 (``trainer.precision=bf16-mixed``, ``bf16-true``, or ``16-mixed``, which Lightning runs
as bf16-mixed on a CPU) is warned of the same way, at a far higher cost: torch's emulated bf16 matrix
product is slowest where a step's backward spends it (an input gradient, a reduction over the output
features: 2.5 s against 19 ms in float32 for the tiny model's vocabulary projection on 256 tokens), and a
training step of the BioGPT shape measured 110-150x slower than float32 under the AVX2 limits on an
Intel Xeon (2 layers on 128 tokens: 56 s against 0.5 s, ``benchmarks/bench_train_precision.py``; 6
layers on 2 x 256: 369 s against 2.5 s). Natively there, bf16-mixed took 0.74x float32's time.
"""

from __future__ import annotations

import logging
import os

import torch

logger = logging.getLogger(__name__)

INFERENCE_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# bf16 where the device computes it natively, float32 elsewhere.
AUTO = "auto"
PRECISION_NAMES = (*INFERENCE_DTYPES, AUTO)
# oneDNN ISA limits (ONEDNN_MAX_CPU_ISA) that leave its AMX kernels, and those whose kernels include bf16
# arithmetic (the AMX ones among them).
_ONEDNN_AMX_ISAS = (
    "ALL",
    "AVX512_CORE_AMX",
    "AVX10_1_512_AMX",
    "AVX512_CORE_AMX_FP16",
    "AVX10_1_512_AMX_FP16",
    "AVX10_2_512_AMX_2",
)
_ONEDNN_BF16_ISAS = (*_ONEDNN_AMX_ISAS, "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX10_1_512", "AVX10_2_512")
_warned_emulated_bf16: set[str] = set()


def check_precision_name(name: str, key: str = "dtype") -> None:
    """Refuse a precision name other than ``fp32``, ``bf16``, ``fp16`` or ``auto``; ``key`` names the
    setting in the error."""
    if name not in PRECISION_NAMES:
        raise ValueError(f"{key}={name!r}: expected one of {', '.join(PRECISION_NAMES)}")


def inference_device() -> torch.device:
    """Where generation runs: the GPU when there is one (a GPU run's closing evaluation included)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cpu_computes_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic (AVX-512 BF16 or AMX) and the kernels in use may run it:
    ``ATEN_CPU_CAPABILITY`` and ``ONEDNN_MAX_CPU_ISA`` below AVX-512 rule it out, as on an AVX2 CPU."""
    hardware = (
        getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    )
    aten = torch.backends.cpu.get_cpu_capability() in ("AVX512", "AMX")
    onednn = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper() in _ONEDNN_BF16_ISAS
    return bool(hardware and aten and onednn)


def cpu_runs_amx() -> bool:
    """Whether this CPU has AMX tiles and ``ONEDNN_MAX_CPU_ISA`` leaves oneDNN its AMX kernels."""
    hardware = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    return bool(hardware and os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper() in _ONEDNN_AMX_ISAS)


def computes_bf16(device: torch.device) -> bool:
    """Whether ``device`` runs bf16 arithmetic natively (a GPU before Ampere emulates it)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    return device.type == "cpu" and cpu_computes_bf16()


def _warn_emulated_bf16(setting: str, device: torch.device, cost: str) -> None:
    """One warning per ``setting`` (``key=value``) that bf16 is emulated on ``device``, naming ``cost``
    (measured on CPUs, so only a CPU is warned of)."""
    if device.type != "cpu" or cpu_computes_bf16() or setting in _warned_emulated_bf16:
        return
    _warned_emulated_bf16.add(setting)
    logger.warning(
        "%s on a CPU without native bf16 arithmetic (no AVX-512 BF16 or AMX kernels): every product is "
        "emulated, and %s",
        setting,
        cost,
    )


def inference_dtype(name: str, key: str = "dtype", device: torch.device | None = None) -> torch.dtype:
    """The torch dtype of an inference precision name on ``device`` (default: :func:`inference_device`):
    ``fp32``, ``bf16``, ``fp16``, or ``auto`` (bf16 where the device computes it natively, else float32);
    ``key`` names the setting in messages."""
    check_precision_name(name, key)
    device = inference_device() if device is None else device
    if name == AUTO:
        return torch.bfloat16 if computes_bf16(device) else torch.float32
    if name == "bf16":
        cost = f"decoding runs about 1.7-3.6x slower than {key}=fp32 here; {key}=auto picks bf16 only "
        cost += "where it is native"
        _warn_emulated_bf16(f"{key}=bf16", device, cost)
    return INFERENCE_DTYPES[name]


def check_training_precision(precision: str, device: torch.device) -> None:
    """Warn once when a trainer's ``precision`` (as Lightning resolved it) computes in bf16 on a CPU that
    emulates it."""
    if precision.startswith("bf16"):
        cost = "a training step runs over 100x slower than trainer.precision=32-true here: use 32-true"
        _warn_emulated_bf16(f"trainer.precision={precision}", device, cost)
