"""The commands keep the memory they free (:mod:`biogpt.experiment.process_memory`): a large tensor made
again and again then faults its pages in once, not every time, unless the user tunes ``malloc``."""

from __future__ import annotations

import json
import os
import platform
import sys

import pytest
from project_commands import run_command

from biogpt import cli
from biogpt.experiment.process_memory import user_tuned_malloc

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc's thresholds")

PAGES = 64 * 2**20 // 4096  # of each 64 MB tensor
# A fresh interpreter fills a new 64 MB tensor eight times and counts the minor page faults of the last
# five, after raising malloc's thresholds or not (the first fills may fault while the heap settles
# around the interpreter's own small objects).
FILLS = """
import json, resource, sys, torch
from biogpt.experiment.process_memory import keep_freed_memory
raised = keep_freed_memory() if sys.argv[1] == "raise" else None
for _ in range(3):
    torch.ones(16 * 2**20)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    torch.ones(16 * 2**20)
print(json.dumps({"raised": raised, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


def _fills(mode: str, **settings: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if not user_tuned_malloc({k: v})} | settings
    done = run_command(["-c", FILLS, mode], env=environment, fresh=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_freed_tensor_is_reused_without_faulting_its_pages_in_again() -> None:
    kept = _fills("raise")
    assert kept["raised"] is True and kept["faults"] < PAGES // 10, kept
    default = _fills("leave")
    assert default["faults"] >= 5 * PAGES * 0.9, default  # every tensor faulted in anew


def test_malloc_settings_of_the_user_are_kept() -> None:
    tuned = _fills("raise", MALLOC_TRIM_THRESHOLD_="131072")
    assert tuned["raised"] is False and tuned["faults"] >= 5 * PAGES * 0.9, tuned
    assert user_tuned_malloc({"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=1048576"})
    assert not user_tuned_malloc({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F"})


def test_a_hydra_command_keeps_freed_memory_once_its_arguments_are_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Raised(Exception):
        pass

    def record() -> bool:
        raise Raised

    monkeypatch.setattr(cli, "keep_freed_memory", record)
    # Were the app reached first, its check of the missing data folder would end the command instead.
    monkeypatch.setattr(sys, "argv", ["train.py", "task=ddi", "data_dir=/nonexistent/biogpt-data"])
    with pytest.raises(Raised):
        cli.train()
    monkeypatch.setattr(sys, "argv", ["train.py", "no_such_key=1"])
    with pytest.raises(SystemExit):  # a wrong key ends the command first
        cli.train()
