"""Memory a command frees stays in its process, so that the next training step or decoding batch does
not fault the same pages in again.

glibc's ``malloc`` serves a large block (128 KB at first, a threshold that grows to at most 32 MB as
such blocks are freed) with its own ``mmap`` and unmaps it when it is freed, and it trims the top of
its heap. Training steps and decoding batches allocate and free the same large tensors (activations,
logits, gradients) over and over, so each was faulted in page by page, and zeroed by the kernel, every
time: on a 2-core Intel Xeon with AMX, a training step of the 6-layer biogpt shape (batch 2 x 256,
``benchmarks/bench_model.py``'s; three pairs of processes in turn, medians of 5 steps) took 1.645-1.668 s
and 148,348-156,540 minor page faults, against 1.490-1.551 s and none with both thresholds at their
largest (``transformers``' step likewise: 1.678-1.778 s against 1.509-1.548 s). With the same
thresholds set through ``GLIBC_TUNABLES``, eight training tests of the suite took 112-119 s instead of
126-132 s, their system time 9.5 s instead of 35 s.

The commands therefore raise both thresholds (:func:`keep_freed_memory`): a run reuses what it freed, and
gives it back when it ends. The price is that memory a run needed once (loading a checkpoint, say) stays
with the process until then, and that freed blocks are no longer returned whole: the process above, which
trains ours and ``transformers``' model in turn, peaked at 3.28 GB resident against 3.01 GB (the demo: 861
MB against 863 MB, with 227,631 page faults against 1,289,308). A user who sets ``malloc``'s tunables
(``GLIBC_TUNABLES`` with ``glibc.malloc``, or ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``) keeps
them.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping

# mallopt's parameters (malloc.h) and the largest value it takes (an int).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
LARGEST = 2**31 - 1
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def user_tuned_malloc(environment: Mapping[str, str]) -> bool:
    """Whether the environment sets glibc malloc's thresholds or tunables itself."""
    return "glibc.malloc." in environment.get("GLIBC_TUNABLES", "") or any(
        name in environment for name in USER_SETTINGS
    )


def keep_freed_memory(environment: Mapping[str, str] = os.environ) -> bool:
    """Raise glibc ``malloc``'s mmap and trim thresholds to their largest; True where they were raised,
    False (nothing changed) without glibc or where ``environment`` tunes ``malloc`` itself."""
    if user_tuned_malloc(environment):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018  (glibc only: other C libraries' mallopt differs or is absent)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGEST)) and bool(mallopt(M_TRIM_THRESHOLD, LARGEST))
