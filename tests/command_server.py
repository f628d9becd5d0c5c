"""A process that has already imported what the project's commands import, and forks one child per
command: the tests' ``python train.py ...`` without the 5-10 s of imports each start costs.

Why: the suite runs about seventy of the project's commands, and on the slowest CPU a command spends
5-10 s importing torch, Lightning (which imports torchmetrics, transformers and matplotlib), Hydra and
``datasets`` before its first line of work. A forked child shares those imports with its parent and is
still a process of its own: its own globals, working directory, environment, standard streams, exit
status and signals (a command that SIGKILLs itself dies alone), so a test sees what a user's shell would.

How: the server is started (by :func:`project_commands.run_command`) with exactly the environment the
commands are to see, so that what a module reads from the environment at import time is what it would
have read in a command of its own; it imports :data:`PRELOADED` and starts no thread. Requests and
replies are JSON lines on its standard input and output: for each request it forks, answers the child's
process id, waits, and answers its exit status (``-N`` for signal ``N``, as ``subprocess`` reports it).
The child points its standard streams at the request's files, moves to its working directory, takes the
request's environment (the server's, but for the variables pytest sets per test), sets
``sys.argv`` and ``sys.path[0]`` as the interpreter would for ``python <arguments>``, and runs the script,
``-m`` module or ``-c`` code as ``__main__``; its exit is the interpreter's own (exceptions print their
traceback, ``sys.exit`` sets the status, ``atexit`` handlers run).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import runpy
import sys
import threading
from typing import Any, TextIO

# What the project's commands import at start, heaviest first; each child finds them imported. One the
# environment hides (a test of a machine without ``transformers``) is left for the command to miss.
PRELOADED = ("torch", "lightning", "transformers", "hydra", "biogpt.cli", "biogpt.experiment.finetune")


def _reply(replies: TextIO, message: dict[str, Any]) -> None:
    replies.write(json.dumps(message) + "\n")
    replies.flush()


def serve(replies: TextIO) -> dict[str, Any] | None:
    """Answers requests until standard input closes (``None``); in a forked child, returns its request."""
    for line in sys.stdin:
        request = json.loads(line)
        # A thread would not exist in the child, and a lock it held would stay held there.
        assert threading.active_count() == 1, "the command server must not start threads before it forks"
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            replies.close()
            return request
        _reply(replies, {"pid": pid})
        _, status = os.waitpid(pid, 0)
        _reply(replies, {"returncode": os.waitstatus_to_exitcode(status)})
    return None


def _redirect(request: dict[str, Any]) -> None:
    """The child's standard input is empty, its output and errors go to the request's files."""
    streams = (
        os.open(os.devnull, os.O_RDONLY),
        os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    )
    for target, source in enumerate(streams):
        os.dup2(source, target)
        os.close(source)


def run_as_main(request: dict[str, Any]) -> None:
    """Runs ``python <arguments>`` in this (forked) process, as the interpreter would start it."""
    _redirect(request)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["environment"])
    arguments: list[str] = request["arguments"]
    if arguments[0] == "-m":
        sys.argv = [arguments[1], *arguments[2:]]  # run_module puts the module's file in argv[0]
        sys.path[0] = os.getcwd()
        runpy.run_module(arguments[1], run_name="__main__", alter_sys=True)
    elif arguments[0] == "-c":
        sys.argv = ["-c", *arguments[2:]]
        sys.path[0] = ""
        exec(
            compile(arguments[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__}
        )
    else:
        sys.argv = list(arguments)
        sys.path[0] = os.path.dirname(os.path.abspath(arguments[0]))
        runpy.run_path(arguments[0], run_name="__main__")


if __name__ == "__main__":
    # Replies on a stream of their own; whatever an import prints goes to the server's log.
    server_replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    for module in PRELOADED:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    gc.freeze()  # the collector leaves the imported objects alone: the children share their pages
    child_request = serve(server_replies)
    if child_request is not None:
        run_as_main(child_request)
