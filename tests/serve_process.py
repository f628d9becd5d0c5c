"""``biogpt-serve`` started as a user starts it (``python -m biogpt.serve``) on a free port of 127.0.0.1,
for the service's tests and benchmark, with a small HTTP client."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
# Seconds a stopped service has to end every process of it (it takes about 3).
_STOP_S = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


@dataclass(frozen=True)
class Service:
    """A running server and its output so far (``log``)."""

    port: int
    process: subprocess.Popen[str]
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> Answer:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=300)
        try:
            headers = {"Content-Type": content_type} if body is not None else {}
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            kind = response.getheader("Content-Type", "")
            return Answer(response.status, json.loads(raw) if "json" in kind else raw.decode())
        finally:
            connection.close()

    def extract(self, payload: Any) -> Answer:
        return self.request("POST", "/extract", json.dumps(payload).encode())


@contextmanager
def running_service(
    arguments: Sequence[str], log: Path, *, startup_s: float = 300, sigint_ignored: bool = False
) -> Iterator[Service]:
    """``python -m biogpt.serve <arguments> port=<free>``, until its ``/health`` answers 200; on exit
    stopped as Ctrl+C stops it (SIGINT to its process group), which must end every process of it within
    30 s (an ``AssertionError`` otherwise, after SIGKILL has ended them). ``sigint_ignored``: started as
    a script's background job starts it, with SIGINT ignored."""
    port = free_port()
    command = [sys.executable, "-m", "biogpt.serve", *arguments, f"port={port}"]
    if sigint_ignored:
        command = ["bash", "-c", 'trap "" INT; exec "$@"', "biogpt-serve", *command]
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: the workers it spawns end with it
            env={**os.environ, "PYTHONPATH": str(PROJECT)},
        )
    service = Service(port, process, log)
    try:
        _wait_until_healthy(service, startup_s)
        yield service
    finally:
        ended_by_sigint = _stop(process)
    assert ended_by_sigint, f"biogpt-serve did not end on SIGINT within {_STOP_S} s:\n{_tail(service)}"


def live_processes(group: int) -> list[int]:
    """The processes of a process group that have not exited (an exited child whose parent ended is a
    zombie until init collects it: not counted)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (command)"
        except OSError:  # exited while listed
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            live.append(int(stat.parent.name))
    return live


def _wait_until_healthy(service: Service, startup_s: float) -> None:
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise AssertionError(f"biogpt-serve exited with {service.process.returncode}:\n{_tail(service)}")
        try:
            if service.request("GET", "/health").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"biogpt-serve did not answer /health in {startup_s} s:\n{_tail(service)}")


def _stop(process: subprocess.Popen[str]) -> bool:
    """SIGINT to the service's group unless it has ended; whether every process of the group ended
    within ``_STOP_S`` seconds. Whatever is left is SIGKILLed."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    ended = ended_within(process, _STOP_S)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)
    return ended


def ended_within(process: subprocess.Popen[str], seconds: float) -> bool:
    """Whether ``process`` and every other live process of its group (its own) end within ``seconds``."""
    deadline = time.monotonic() + seconds
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    while live_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not live_processes(process.pid)


def _tail(service: Service) -> str:
    return service.log.read_text(errors="replace")[-4000:]
