"""The tests' way of running the project's commands (:mod:`project_commands`): a command forked by the
command server behaves as the same command in a fresh interpreter, the oracle."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from project_commands import PROJECT, run_command

# What a command sees of its process: arguments, import path, working directory, environment, streams.
INTROSPECT = """
import json, os, sys
print(json.dumps({"argv": sys.argv, "path0": sys.path[0], "cwd": os.getcwd(), "name": __name__,
                  "marker": os.environ.get("BIOGPT_TEST_MARKER"), "stdin": sys.stdin.read()}))
print("to stderr", file=sys.stderr)
sys.exit(3)
"""


def _both(arguments: list[str], **options) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    return run_command(arguments, **options), run_command(arguments, fresh=True, **options)


def test_a_forked_command_sees_what_a_fresh_interpreter_sees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIOGPT_TEST_MARKER", "set by the test")
    script = tmp_path / "introspect.py"
    script.write_text(INTROSPECT)
    for arguments in (["-c", INTROSPECT, "one", "two"], [str(script), "three"]):
        forked, fresh = _both(arguments, cwd=tmp_path)
        assert (forked.returncode, forked.stderr) == (fresh.returncode, fresh.stderr) == (3, "to stderr\n")
        assert json.loads(forked.stdout) == json.loads(fresh.stdout)
        assert json.loads(forked.stdout)["marker"] == "set by the test"


def test_status_output_and_errors_of_project_commands_are_a_fresh_interpreters(tmp_path: Path) -> None:
    for arguments, status in (
        (["-m", "biogpt.report", str(tmp_path / "missing")], 1),  # a user error: one line
        (["train.py", "task=ddi", "optim.lrr=1e-3"], 2),  # an unknown key
    ):
        forked, fresh = _both(arguments)
        assert (forked.returncode, forked.stdout, forked.stderr) == (status, fresh.stdout, fresh.stderr)
        assert fresh.returncode == status
    # A bug keeps its traceback (whose frames above the command's own are the server's).
    forked, fresh = _both(["-c", "raise ValueError('a bug')"])
    assert forked.returncode == fresh.returncode == 1
    assert (
        forked.stderr.splitlines()[-2:]
        == fresh.stderr.splitlines()[-2:]
        == [
            '  File "<string>", line 1, in <module>',
            "ValueError: a bug",
        ]
    )


def test_a_command_killed_by_a_signal_reports_it_and_one_past_its_time_is_ended() -> None:
    killed = run_command(["-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"])
    assert killed.returncode == -signal.SIGKILL
    with pytest.raises(subprocess.TimeoutExpired):
        run_command(["-c", "import time; time.sleep(600)"], timeout=1)
    assert run_command(["-c", "print('still serving')"]).stdout == "still serving\n"
    assert PROJECT == Path(run_command(["-c", "import os; print(os.getcwd())"]).stdout.strip())
