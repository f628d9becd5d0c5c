"""Running the project's commands (``train.py``, ``evaluate.py``, ``python -m biogpt...``) as a user does.

Each command is a process of its own, forked by a :mod:`command_server` that has already imported
torch, Lightning, transformers and Hydra with the command's environment (a test worker keeps servers for
the last two environments its tests asked for): the tests run about seventy commands, and the imports
are most of a short command's time. A test about the start itself (what a command imports, an
environment that changes which kernels torch loads) starts a fresh interpreter with ``fresh=True``.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
SERVER = Path(__file__).resolve().with_name("command_server.py")


# Set by pytest for each test: a server started in one test serves the next (the command gets the value
# of its own test, as a fresh process would).
PER_TEST = frozenset({"PYTEST_CURRENT_TEST"})


def _lasting(environment: Mapping[str, str]) -> dict[str, str]:
    """What a server's imports may have read: the environment less what pytest changes per test."""
    return {key: value for key, value in environment.items() if key not in PER_TEST}


class CommandServer:
    """A running :mod:`command_server`: its interpreter and the environment it imported its modules with."""

    def __init__(self, python: str, environment: dict[str, str]) -> None:
        self.python = python
        self.environment = _lasting(environment)
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [python, str(SERVER)],
            cwd=PROJECT,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            bufsize=0,
        )
        self.received = b""  # read from the server, not yet a whole reply

    def _read(self, timeout: float | None) -> dict[str, int] | None:
        """The server's next reply, or ``None`` when none came within ``timeout`` seconds (read from the
        pipe itself: a buffered reader could hold a reply that ``select`` would then wait for)."""
        assert self.process.stdout is not None
        replies = self.process.stdout.fileno()
        while b"\n" not in self.received:
            if not select.select([replies], [], [], timeout)[0]:
                return None
            chunk = os.read(replies, 4096)
            if not chunk:
                self.log.seek(0)
                raise RuntimeError(f"the command server ended: {self.log.read().decode()[-4000:]}")
            self.received += chunk
        line, self.received = self.received.split(b"\n", 1)
        return json.loads(line)

    def run(
        self, arguments: Sequence[str], cwd: Path, environment: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """``python <arguments>`` in ``cwd`` with ``environment``, in a forked child; killed after ``timeout``
        seconds."""
        assert self.process.stdin is not None
        with tempfile.TemporaryDirectory() as streams:
            stdout, stderr = Path(streams) / "stdout", Path(streams) / "stderr"
            request = {
                "arguments": list(arguments),
                "cwd": str(cwd),
                "environment": environment,
                "stdout": str(stdout),
                "stderr": str(stderr),
            }
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            started = self._read(None)
            assert started is not None
            done = self._read(timeout)
            if done is None:
                os.kill(started["pid"], signal.SIGKILL)
                self._read(None)
                raise subprocess.TimeoutExpired([self.python, *arguments], timeout, stdout.read_text())
            return subprocess.CompletedProcess(
                [self.python, *arguments],
                done["returncode"],
                stdout.read_text(encoding="utf-8"),
                stderr.read_text(encoding="utf-8"),
            )

    def close(self) -> None:
        """Ends the server (it stops when its standard input closes)."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()
        self.log.close()


# This worker's servers, the most recently used last; a test file's commands mostly share an environment,
# with another for one helper (a sweep's isolated home, then the report), so two are kept.
_servers: list[CommandServer] = []
KEPT_SERVERS = 2


def _server_for(python: str, environment: dict[str, str]) -> CommandServer:
    """A server of ``python`` started with ``environment``: a kept one, or a new one in place of the least
    recent."""
    for server in _servers:
        if server.python == python and server.environment == _lasting(environment):
            _servers.remove(server)
            break
    else:
        server = CommandServer(python, environment)
        if len(_servers) == KEPT_SERVERS:
            _servers.pop(0).close()
    _servers.append(server)
    return server


@atexit.register
def _close_servers() -> None:
    for server in _servers:
        server.close()


def run_command(
    arguments: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = PROJECT,
    timeout: float = 1800,
    fresh: bool = False,
    python: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python <arguments>`` in ``cwd`` with environment ``env`` (this process's by default) and no
    standard input: its exit status and output, whatever the status. ``python`` is another interpreter
    than this one (a venv's); ``fresh`` starts a new one."""
    environment = dict(os.environ if env is None else env)
    interpreter = str(python or sys.executable)
    if fresh:
        return subprocess.run(
            [interpreter, *arguments],
            cwd=cwd,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    return _server_for(interpreter, environment).run(arguments, cwd, environment, timeout)


def run_project(
    arguments: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    """:func:`run_command` in the project root; the test fails with the end of stderr unless it exits 0."""
    result = run_command(arguments, env=env, timeout=timeout)
    assert result.returncode == 0, result.stderr[-4000:]
    return result
