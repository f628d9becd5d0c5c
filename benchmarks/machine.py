"""What a benchmark's figures were measured on: the CPU model, its vector ISA flags, and the kernels torch,
oneDNN and MKL were allowed to pick (``ATEN_CPU_CAPABILITY``, ``ONEDNN_MAX_CPU_ISA``,
``MKL_ENABLE_INSTRUCTIONS``). The same code runs at very different speeds on this project's machines
(Intel Xeon with AMX, AMD EPYC with AVX-512, AMD EPYC with AVX2 only), so every benchmark prints this line
beside its figures, and figures are only compared within one such line."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

import torch

from biogpt.model.precision import cpu_computes_bf16, cpu_runs_amx

# The flags that decide which float kernels run.
_ISA_FLAG = re.compile(r"^(avx\w*|amx\w*|fma|f16c|sse4_2)$")
KERNEL_LIMITS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


def cpu_model_and_flags() -> tuple[str, list[str]]:
    """The CPU's model name and its vector ISA flags, from ``/proc/cpuinfo`` (Linux); elsewhere the
    platform's processor name and no flags."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return platform.processor() or platform.machine(), []
    text = cpuinfo.read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.MULTILINE)
    chosen = sorted(flag for flag in (flags.group(1).split() if flags else []) if _ISA_FLAG.match(flag))
    return (model.group(1).strip() if model else platform.machine()), chosen


def describe_machine() -> str:
    """One line for a benchmark's header: CPU, ISA flags, kernel limits in force, torch's kernel level,
    and what our model's kernel choices follow (native bf16, AMX for one-row bf16 products)."""
    model, flags = cpu_model_and_flags()
    limits = ", ".join(f"{name}={os.environ[name]}" for name in KERNEL_LIMITS if name in os.environ) or "none"
    kernels = torch.backends.cpu.get_cpu_capability()
    return (
        f"machine: {model}, {os.cpu_count()} cores; ISA flags: {' '.join(flags) or 'unknown'}; "
        f"kernel limits: {limits}; torch {torch.__version__} kernels: {kernels}; "
        f"native bf16: {cpu_computes_bf16()}; oneDNN AMX: {cpu_runs_amx()}"
    )
