"""The suite's results must not depend on which CPU runs it: this project's machines come as Intel Xeons
with AMX, AMD EPYCs with AVX-512 and AMD EPYCs with AVX2 only, and their float kernels round differently.

Any machine can stand in for the others by limiting the kernels it selects at run time:
``ATEN_CPU_CAPABILITY`` (torch's own), ``ONEDNN_MAX_CPU_ISA`` (oneDNN's, which our projections use) and
``MKL_ENABLE_INSTRUCTIONS`` (MKL's BLAS). These tests run, in subprocesses under such limits:

- the oneDNN projection path's equivalence tests against ``F.linear`` (``tests/test_model_fast_paths.py``),
  under every setting the CPU can run, so the fast path stays correct whatever kernels oneDNN picks;
- a short end-to-end training (``debug=overfit``: a tiny model trained until it has memorised its
  examples, then scored) under two settings, asserting its goal (F1 = 1.0) under both, so that an
  assertion which only holds with one CPU's rounding shows up on any machine.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch
from project_commands import run_command

# Kernel limits standing for each CPU kind. oneDNN and MKL treat a limit above what the CPU has as "the
# CPU's best"; torch does not: ``ATEN_CPU_CAPABILITY=avx512`` on an AVX2-only CPU dies of an illegal
# instruction, so a setting runs only where the CPU has its instructions (``CPU_HAS``).
ISAS = {
    "avx512": {
        "ATEN_CPU_CAPABILITY": "avx512",
        "ONEDNN_MAX_CPU_ISA": "AVX512_CORE",
        "MKL_ENABLE_INSTRUCTIONS": "AVX512",
    },
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "default": {
        "ATEN_CPU_CAPABILITY": "default",
        "ONEDNN_MAX_CPU_ISA": "SSE41",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    },
}
CPU_HAS = {
    "avx512": torch.cpu._is_avx512_supported(),
    "avx2": torch.cpu._is_avx2_supported(),
    "default": True,
}


def _run(arguments: list[str], isa: str, timeout: int) -> subprocess.CompletedProcess[str]:
    """``python <arguments>`` in the project root with the kernels limited to ``isa``'s."""
    inherited = {key: value for key, value in os.environ.items() if key not in ISAS["avx2"]}
    # A fresh interpreter: torch picks its kernels when it is imported.
    return run_command(arguments, env={**inherited, **ISAS[isa]}, timeout=timeout, fresh=True)


@pytest.mark.parametrize("isa", sorted(ISAS))
def test_onednn_projections_match_f_linear_under_every_isa(isa: str) -> None:
    if not CPU_HAS[isa]:
        pytest.skip(f"this CPU has no {isa.upper()} instructions; the machines that have them run this case")
    result = _run(
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_model_fast_paths.py"], isa, 600
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]


def test_a_tiny_model_memorises_its_examples_under_two_isas(
    tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    """The same overfitting run (2 DDI documents) reaches its goal with torch's generic kernels and with
    the AVX2 ones: the goal is checked, not an epoch count one CPU's rounding happens to suffice for."""
    for isa in ("default", "avx2"):
        run = tmp_path / isa
        result = _run(
            [
                "train.py",
                f"data_dir={shared_data}",
                f"data.cache_dir={token_cache}",
                "task=ddi",
                "task.max_source_positions=32",
                "debug=overfit",
                "data.train_shots=2",
                "data.splits.train=test",
                "logger={}",
                "trainer.enable_progress_bar=false",
                "trainer.enable_model_summary=false",
                "checkpoint.every_n_updates=null",
                f"hydra.run.dir={run}",
            ],
            isa,
            1200,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["examples"] == 2 and metrics["metrics"]["f1"] == 1.0, (isa, metrics)
