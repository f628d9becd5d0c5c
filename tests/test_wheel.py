"""The built wheel, installed for real: the commands work from any directory, without the checkout.

The editable install of the development venv hides packaging mistakes: its configs and modules come
from the checkout whatever the wheel holds. So the wheel is built (from a copy of the checkout, to
leave no ``build/`` behind), installed non-editable into a fresh venv, and its console scripts are
run from empty directories. That venv reuses the development venv's dependencies (torch and the
rest) through a ``.pth`` line naming its site-packages, written after the install, so that pip never
sees the development venv's own ``biogpt``; Python does not process ``.pth`` files inside a directory
a ``.pth`` line adds, so the editable install's finder stays out too (checked below).
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from project_commands import run_command

from biogpt import BioGPT, BioGPTConfig, BioGPTTokenizer
from biogpt.data.tasks import load_task_split, make_task_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Local state of a checkout that is no part of a build (and would only slow the copy down).
NOT_COPIED = {".git", ".venv", "build", "dist", ".pytest_cache", ".ruff_cache", "outputs", "multirun"}
# The commands of [project.scripts]; the Hydra ones compose the root config of their name.
HYDRA_COMMANDS = ("train", "pretrain", "evaluate", "generate", "export", "extract", "serve")
COMMANDS = tuple(f"biogpt-{name}" for name in (*HYDRA_COMMANDS, "report", "demo", "convert", "data"))
TIMEOUT_S = 300


@dataclass(frozen=True)
class Installation:
    """A wheel and the venv it is installed in."""

    wheel: Path
    source: Path  # the copy of the checkout the wheel was built from
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"


def _ignore_local_state(directory: str, names: list[str]) -> set[str]:
    top_level = Path(directory) == PROJECT_ROOT
    return {
        name
        for name in names
        if name == "__pycache__" or name.endswith(".egg-info") or (top_level and name in NOT_COPIED)
    }


def _environment() -> dict[str, str]:
    """This process's environment without PYTHONPATH (which would put the checkout back in play)."""
    return {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "PYTHONHOME"}}


def _succeeded(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (
        f"{result.args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result


def _check(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a build or install step (pip, venv); must succeed."""
    return _succeeded(
        subprocess.run(
            command, cwd=cwd, env=_environment(), capture_output=True, text=True, timeout=TIMEOUT_S
        )
    )


def _installed(
    installation: Installation, arguments: list[str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """``arguments`` (an installed console script and its options, or ``-c`` code) run by the venv's
    interpreter from ``cwd``, as the script's own first line runs it; must succeed."""
    python = installation.bin / "python"
    return _succeeded(run_command(arguments, env=_environment(), cwd=cwd, timeout=TIMEOUT_S, python=python))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installation:
    """Build the wheel once and install it (no dependencies, no index) into a new venv."""
    root = tmp_path_factory.mktemp("wheel")
    source, wheels, venv = root / "source", root / "dist", root / "venv"
    shutil.copytree(PROJECT_ROOT, source, ignore=_ignore_local_state)
    pip = ["-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    _check(
        [
            sys.executable,
            *pip,
            "wheel",
            "--no-index",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(source),
        ]
    )
    [wheel] = wheels.glob("biogpt-*.whl")
    _install(wheel, venv)
    return Installation(wheel, source, venv)


def _install(wheel: Path, venv: Path) -> None:
    """Install ``wheel`` alone into a new venv at ``venv`` that reuses the development venv's
    dependencies (see the module docstring)."""
    pip = ["-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    _check([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    _check([python, *pip, "install", "--no-index", "--no-deps", str(wheel)])
    new_site = _check([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
    dev_site = dict.fromkeys(sysconfig.get_path(kind) for kind in ("purelib", "platlib"))
    (Path(new_site) / "biogpt_dev_dependencies.pth").write_text("".join(f"{path}\n" for path in dev_site))


@pytest.fixture(scope="module")
def editable(installed: Installation, tmp_path_factory: pytest.TempPathFactory) -> Installation:
    """The same source installed editable (PEP 660, as pip install -e builds it) into another venv."""
    root = tmp_path_factory.mktemp("editable")
    wheels, venv = root / "dist", root / "venv"
    build = f"from setuptools import build_meta; build_meta.build_editable({str(wheels)!r})"
    wheels.mkdir()
    _check([sys.executable, "-c", build], cwd=installed.source)
    [wheel] = wheels.glob("biogpt-*.editable-*.whl")
    _install(wheel, venv)
    return Installation(wheel, installed.source, venv)


def test_wheel_holds_every_module_and_config(installed: Installation) -> None:
    """Installed commands compose their configs from inside the package: a config or module left out
    of the wheel only shows up outside the checkout, so the wheel must mirror the source tree."""
    with zipfile.ZipFile(installed.wheel) as archive:
        names = set(archive.namelist())
        [entry_points] = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
        declared = configparser.ConfigParser()
        declared.read_string(archive.read(entry_points).decode())
    package = installed.source / "biogpt"
    sources = (
        set(package.rglob("*.py"))
        | set((installed.source / "hydra_plugins").rglob("*.py"))
        | set((package / "conf").rglob("*.yaml"))
        | {package / "data" / "files" / "datasets.sha256"}
        | set((package / "serving" / "page").iterdir())  # the service's page, served offline
    )
    shipped = {path.relative_to(installed.source).as_posix() for path in sources}
    assert shipped - names == set(), "files of the package missing from the wheel"
    assert {f"biogpt/conf/{name}.yaml" for name in HYDRA_COMMANDS} | {
        "biogpt/conf/task/ddi.yaml",
        "biogpt/conf/model/tiny.yaml",
    } <= names
    stray = {name for name in names if name.endswith((".py", ".yaml")) and name not in shipped}
    assert stray == set(), "the wheel holds files that are not in the source tree"
    assert sorted(declared["console_scripts"]) == sorted(COMMANDS)


@pytest.mark.parametrize("kind", ["wheel", "editable"])
def test_hydra_finds_the_search_sweeper_beside_the_other_plugins(
    installed: Installation, editable: Installation, kind: str, tmp_path: Path
) -> None:
    """Hydra discovers plugins in the hydra_plugins namespace package: the project's sweeper must join the
    portion other plugins (the submitit launcher) installed, from a wheel and from an editable install."""
    installation = installed if kind == "wheel" else editable
    listed = _installed(
        installation, [str(installation.bin / "biogpt-train"), "--info", "plugins"], tmp_path
    ).stdout
    assert "BiogptOptunaSweeper" in listed and "SlurmLauncher" in listed
    probe = "import hydra_plugins.biogpt_optuna_sweeper as plugin; print(plugin.__file__)"
    found = Path(_installed(installation, ["-c", probe], tmp_path).stdout.strip())
    home = installation.venv if kind == "wheel" else installation.source
    assert found.resolve().is_relative_to(home.resolve())
    hydra_config = _installed(
        installation,
        [
            str(installation.bin / "biogpt-train"),
            "hparams_search=lr_prompt",
            "--cfg",
            "hydra",
            "-p",
            "hydra.sweeper",
        ],
        tmp_path,
    ).stdout
    assert (
        "BiogptOptunaSweeper" in hydra_config and "optim.lr: tag(log, interval(1e-5, 1e-3))" in hydra_config
    )


def test_installed_package_is_the_wheel_not_the_checkout(installed: Installation, tmp_path: Path) -> None:
    """Otherwise every command test below could pass on the checkout's files instead of the wheel's."""
    probe = (
        "import importlib.metadata, importlib.util, json, sys\n"
        "import biogpt, biogpt.experiment.config.paths\n"
        "print(json.dumps({'biogpt': biogpt.__file__, 'conf': str(biogpt.experiment.config.paths.CONF_DIR),\n"
        "    'metadata': str(importlib.metadata.distribution('biogpt').locate_file('biogpt')),\n"
        "    'torch': importlib.util.find_spec('torch').origin,\n"
        "    'editable': [name for name in sys.modules if name.startswith('__editable__')],\n"
        "    'path': sys.path}))\n"
    )
    found = json.loads(_installed(installed, ["-c", probe], tmp_path).stdout)
    venv = installed.venv.resolve()
    for key in ("biogpt", "conf", "metadata"):
        assert Path(found[key]).resolve().is_relative_to(venv), (key, found[key])
    assert Path(found["torch"]).resolve().is_relative_to(Path(sysconfig.get_path("purelib")).resolve())
    assert found["editable"] == []
    assert str(PROJECT_ROOT) not in found["path"] and str(PROJECT_ROOT / "biogpt") not in found["path"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_answers_help(installed: Installation, command: str, tmp_path: Path) -> None:
    """Each entry point resolves in the installed package, and each Hydra one finds its root config."""
    result = _installed(installed, [str(installed.bin / command), "--help"], tmp_path)
    assert ("powered by Hydra" in result.stdout) == (command.removeprefix("biogpt-") in HYDRA_COMMANDS)
    if command == "biogpt-train":
        tasks = "bc5cdr, cdr, chemprot, custom, dce, ddi, ddi2013, hoc, kd_dti, pubmedqa"
        assert f"task: {tasks}" in result.stdout


def test_data_check_reads_the_pins_shipped_in_the_wheel(
    installed: Installation, tmp_path: Path, shared_data: Path
) -> None:
    result = _installed(
        installed,
        [str(installed.bin / "biogpt-data"), "check", "vocab", "--data-dir", str(shared_data)],
        tmp_path,
    )
    assert result.stdout.startswith("vocab     present         4 files (4 pinned)"), result.stdout


def test_generate_continues_a_text(
    installed: Installation, tmp_path: Path, shared_data: Path, biogpt_vocab: Path
) -> None:
    model_dir, cwd = tmp_path / "model", tmp_path / "cwd"
    cwd.mkdir()
    torch.manual_seed(0)
    BioGPT(BioGPTConfig.from_preset("tiny")).save_pretrained(model_dir)
    BioGPTTokenizer.from_pretrained(biogpt_vocab).save_pretrained(model_dir)
    result = _installed(
        installed,
        [
            str(installed.bin / "biogpt-generate"),
            f"ckpt={model_dir}",
            "text=Aspirin inhibits",
            "beam=1",
            "max_len=5",
            f"data_dir={shared_data}",
        ],
        cwd,
    )
    assert result.stdout.startswith("Aspirin inhibits"), result.stdout


def test_evaluate_scores_gold_targets_perfectly(
    installed: Installation, tmp_path: Path, shared_data: Path
) -> None:
    """Gold targets parse back to the gold triplets, so every metric of the official scorer is exactly 1."""
    examples = load_task_split(make_task_settings("ddi", data_dir=str(shared_data)), "test").examples
    predictions, run_dir, cwd = tmp_path / "gold.txt", tmp_path / "run", tmp_path / "cwd"
    predictions.write_text("".join(f"{example.target}\n" for example in examples), encoding="utf-8")
    cwd.mkdir()
    _installed(
        installed,
        [
            str(installed.bin / "biogpt-evaluate"),
            "task=ddi",
            f"predictions={predictions}",
            f"data_dir={shared_data}",
            f"data.cache_dir={tmp_path / 'cache'}",
            f"hydra.run.dir={run_dir}",
        ],
        cwd,
    )
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    assert (metrics["task"], metrics["split"], metrics["examples"]) == ("ddi", "test", len(examples))
    assert metrics["parse_failures"] == 0
    assert {name: metrics["metrics"][name] for name in ("precision", "recall", "f1")} == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
    }
    assert list(cwd.iterdir()) == [], "the command wrote into its working directory"
