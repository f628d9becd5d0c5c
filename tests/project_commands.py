"""Running the project's commands (``train.py``, ``evaluate.py``, ``python -m biogpt...``) as a user does."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def run_project(arguments: Sequence[str], *, timeout: int = 1800) -> subprocess.CompletedProcess[str]:
    """``python <arguments>`` in the project root, without stdin; the test fails with the end of stderr
    unless the command exits 0."""
    result = subprocess.run(
        [sys.executable, *arguments],
        cwd=PROJECT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result
