"""The ``logger`` config group and what a run sends to its loggers (biogpt/training/loggers.py, and
biogpt/experiment/loggers.py for naming W&B runs after a Hydra sweep).

W&B runs are offline (no account, no network here) and are read back from the run's own files: the
``.wandb`` record log (parsed with wandb's protobuf messages) and the table JSON under ``files/media``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import textwrap
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import pytest
import torch
import wandb
from hydra.conf import HydraConf
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from project_commands import run_command
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from wandb.proto import wandb_internal_pb2

from biogpt.experiment.loggers import sweep_group_and_name
from biogpt.training.loggers import (
    PREDICTION_COLUMNS,
    finish_loggers,
    log_evaluation,
    log_run_config,
    render_answer,
    resolve_wandb_mode,
)
from biogpt.training.loggers import wandb_logger as training_wandb_logger
from tests.hydra_config import CONF_DIR, compose_train

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LONG_SOURCE = "Aspirin relieved the headache. " * 15  # 450 characters: cut to an excerpt
RECORDS = [
    {
        "id": "doc1",
        "generated": "the relation of aspirin and headache is treats.",
        "target": "the relation of aspirin and headache is treats.",
        "gold": [["aspirin", "headache", "treats"], ["aspirin", "pain", "treats"]],
        "parsed": [["aspirin", "headache", "treats"]],
        "parse_failed": False,
    },
    {
        "id": "doc2",
        "generated": "the type of this | document is",
        "target": "the type of this document is cancer; apoptosis.",
        "gold": ["cancer", "apoptosis"],
        "parsed": None,
        "parse_failed": True,
    },
    {
        "id": "doc3",
        "generated": "the answer to the question given the context is yes.",
        "target": "the answer to the question given the context is no.",
        "gold": "no",
        "parsed": "yes",
        "parse_failed": False,
    },
]
SOURCES = {"doc1": LONG_SOURCE, "doc2": "Apoptosis in tumour cells."}
# The first two records, as the W&B table and the TensorBoard text show them (max_rows=2).
SHOWN_ROWS = [
    [
        "doc1",
        LONG_SOURCE[:300].rstrip() + " …",
        "the relation of aspirin and headache is treats.",
        "(aspirin, headache, treats); (aspirin, pain, treats)",
        "(aspirin, headache, treats)",
        False,
    ],
    ["doc2", "Apoptosis in tumour cells.", "the type of this | document is", "cancer; apoptosis", "", True],
]
ACCOUNT_VARIABLES = ("WANDB_MODE", "WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_BASE_URL", "NETRC")
RUN_CONFIG = {"seed": 1, "tokenizer": None, "optim": {"betas": [0.9, 0.98], "lr": 1.0e-4}, "tags": []}


# --- Helpers ----------------------------------------------------------------------------------------


def isolated_env(home: Path) -> dict[str, str]:
    """This environment without a W&B account or mode, and every wandb path under ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    env = {name: value for name, value in os.environ.items() if name not in ACCOUNT_VARIABLES}
    paths = {"HOME": home, "WANDB_CONFIG_DIR": home / ".config", "WANDB_DIR": home, "WANDB_CACHE_DIR": home}
    return env | {name: str(path) for name, path in paths.items()}


@pytest.fixture
def wandb_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The user's W&B account and settings hidden from this test (see ``isolated_env``)."""
    env = isolated_env(tmp_path / "home")
    for name in ACCOUNT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in ("HOME", "WANDB_CONFIG_DIR", "WANDB_DIR", "WANDB_CACHE_DIR"):
        monkeypatch.setenv(name, env[name])
    yield env
    wandb.teardown()  # the next test starts from fresh wandb settings


@pytest.fixture
def multirun_job(tmp_path: Path) -> None:
    """Hydra's config as a multirun job sees it: job 3 of sweep ``2026-01-02_03-04-05``."""
    cfg = OmegaConf.create({"hydra": OmegaConf.structured(HydraConf)})
    cfg.hydra.mode = RunMode.MULTIRUN
    cfg.hydra.sweep.dir = str(tmp_path / "multirun" / "2026-01-02_03-04-05")
    cfg.hydra.job.override_dirname = "prompt.length=9,seed=2"
    cfg.hydra.job.num = 3
    HydraConfig.instance().set_config(cfg)
    yield
    HydraConfig.instance().cfg = None


def instantiate_loggers(run_dir: Path, *names: str, **overrides: Any) -> list[Any]:
    """The loggers of ``conf/logger/<name>.yaml``, as ``logger=[...]`` composes them, writing in run_dir."""
    group = OmegaConf.merge(*(OmegaConf.load(CONF_DIR / "logger" / f"{name}.yaml") for name in names))
    root = OmegaConf.create({"run_dir": str(run_dir), "logger": group})
    return [hydra.utils.instantiate(entry, **overrides) for entry in root.logger.values()]


def wandb_records(run_dir: Path) -> list[Any]:
    """The protobuf records of the one W&B offline run under run_dir (LevelDB log format, 32 KiB blocks)."""
    (path,) = (run_dir / "wandb").glob("offline-run-*/run-*.wandb")
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    records, chunks, position, block = [], [], 7, 32 * 1024
    while position + 7 <= len(data):
        if block - position % block < 7:  # a block's tail too short for a header is padding
            position += block - position % block
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        chunks.append(data[position + 7 : position + 7 + length])
        position += 7 + length
        if kind in (1, 4):  # a full record, or the last piece of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(b"".join(chunks))
            records.append(record)
            chunks = []
    return records


def _items(items: Any) -> dict[str, Any]:
    return {item.key or ".".join(item.nested_key): json.loads(item.value_json) for item in items}


def wandb_run_state(run_dir: Path) -> dict[str, Any]:
    """What the offline run recorded: run info, config, history rows, summary and its logged tables.

    Shuts wandb down first. ``run.finish()`` returns once the service has taken the run's last record, but
    the service writes the ``.wandb`` file (it buffers up to a 32 KiB block) only when it closes the run's
    stream, on the finish notice that ``finish()`` sends without waiting; until then the file may hold only
    its header. ``wandb.teardown()`` reaches the service after that notice, on the same connection, and
    returns when the service has exited, so every run's files are complete and closed.
    """
    wandb.teardown()
    state: dict[str, Any] = {"config": {}, "history": [], "summary": {}}
    for record in wandb_records(run_dir):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            state["run"] = record.run
            state["config"] |= _items(record.run.config.update)
        elif kind == "config":
            state["config"] |= _items(record.config.update)
        elif kind == "history":
            state["history"].append(_items(record.history.item))
        elif kind == "summary":
            state["summary"] |= _items(record.summary.update)
    (files,) = (run_dir / "wandb").glob("offline-run-*/files")
    state["tables"] = {
        key.removesuffix(".path"): json.loads((files / path).read_text())
        for key, path in state["summary"].items()
        if key.endswith(".path") and path.endswith(".table.json")
    }
    return state


def tensorboard_events(run_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return events


# --- W&B --------------------------------------------------------------------------------------------


def test_wandb_offline_run_holds_config_metrics_and_predictions(
    tmp_path: Path, wandb_env: dict[str, str], multirun_job: None
) -> None:
    run_dir = tmp_path / "run"
    stale = wandb.init(mode="offline", dir=tmp_path)  # as a crashed earlier job of a multirun leaves it
    (wandb_logger,) = instantiate_loggers(run_dir, "wandb")

    log_run_config([wandb_logger], RUN_CONFIG)
    wandb_logger.log_metrics({"train/loss": 2.5}, step=1)
    log_evaluation(
        [wandb_logger], {"f1": 0.25, "precision": 0.5}, RECORDS, step=2, max_rows=2, source_texts=SOURCES
    )
    finish_loggers([wandb_logger])
    finish_loggers([wandb_logger])  # a second call is harmless

    assert wandb_logger.experiment.id != stale.id  # the stale run was finished, not reused
    state = wandb_run_state(run_dir)
    # A multirun job is grouped by its sweep and named by its overrides.
    assert (state["run"].run_group, state["run"].display_name) == (
        "2026-01-02_03-04-05",
        "prompt.length=9,seed=2",
    )
    assert state["run"].project == "biogpt"
    assert {key: state["config"][key] for key in RUN_CONFIG} == RUN_CONFIG
    assert {"train/loss": 2.5, "trainer/global_step": 1}.items() <= state["history"][0].items()
    assert {"test/f1": 0.25, "test/precision": 0.5, "trainer/global_step": 2}.items() <= state["history"][
        1
    ].items()
    summary = {key: state["summary"][key] for key in ("test/f1", "test/precision", "test/examples")}
    assert summary == {"test/f1": 0.25, "test/precision": 0.5, "test/examples": 3}
    assert state["summary"]["test/predictions_shown"] == 2
    assert state["tables"]["test/predictions"] == {"columns": list(PREDICTION_COLUMNS), "data": SHOWN_ROWS}


def test_wandb_mode_is_offline_without_credentials(
    wandb_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="biogpt.training.loggers")
    assert resolve_wandb_mode(None) == "offline"
    assert "no credentials" in caplog.text
    assert resolve_wandb_mode("online") == "offline"  # asked for, but impossible without an account
    assert resolve_wandb_mode("disabled") == "disabled"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert resolve_wandb_mode("offline") == "disabled"  # WANDB_MODE overrides the config


# Starts a run without an account, then one whose key the server never sees (WANDB_API_KEY is read at
# each login, so one process, importing Lightning once, serves both).
START_RUNS = """
import logging
import os
import sys
from pathlib import Path
from tests.test_loggers import instantiate_loggers

logging.basicConfig(level=logging.INFO)  # as Hydra configures a run
for account, key in (("none", None), ("unreachable", "0" * 40)):
    if key:
        os.environ["WANDB_API_KEY"] = key
    (wandb_logger,) = instantiate_loggers(Path(sys.argv[1]) / account, "wandb", init_timeout=2)
    print(account, wandb_logger.experiment.settings.mode)
    wandb_logger.finish()
"""


def _refused_url() -> str:
    """A local address nothing listens on: connections to it fail at once, as without network."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_wandb_runs_start_offline_without_prompting(tmp_path: Path) -> None:
    """No account: offline at once. A key but no server: online is tried, then offline, with a warning.

    Run by a fresh process with stdin closed, so a login prompt would fail or hang past the timeout.
    """
    # WANDB_SILENT skips the username lookup wandb prints at login, which waits on the dead server.
    env = isolated_env(tmp_path / "home") | {"WANDB_BASE_URL": _refused_url(), "WANDB_SILENT": "true"}
    started = run_command(
        ["-c", textwrap.dedent(START_RUNS), str(tmp_path)],
        # The script imports this module, which imports its neighbours in tests/.
        env=env | {"PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")])},
        timeout=300,
        fresh=True,  # one command with this environment: cheaper than a command server
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines() == ["none offline", "unreachable offline"]
    assert "no credentials" in started.stderr and "could not start an online run" in started.stderr
    for account in ("none", "unreachable"):
        assert len(list((tmp_path / account / "wandb").glob("offline-run-*/run-*.wandb"))) == 1


@pytest.mark.parametrize(
    ("mode", "override_dirname", "expected"),
    [
        (RunMode.MULTIRUN, "task=kd_dti,seed=2", ("sweep-7", "task=kd_dti,seed=2")),
        (RunMode.MULTIRUN, "", ("sweep-7", "4")),  # a job without overrides is named by its number
        (RunMode.RUN, "task=kd_dti", (None, None)),
    ],
)
def test_sweep_group_and_name(mode: RunMode, override_dirname: str, expected: tuple) -> None:
    hydra_cfg = OmegaConf.create(
        {
            "mode": mode,
            "sweep": {"dir": "multirun/sweep-7"},
            "job": {"override_dirname": override_dirname, "num": 4},
        }
    )
    assert sweep_group_and_name(hydra_cfg) == expected
    assert sweep_group_and_name(None) == (None, None)


def test_sweep_names_only_what_the_config_leaves_unset(tmp_path: Path, multirun_job: None) -> None:
    """A configured group or name wins over the sweep's; the training layer's factory never reads Hydra."""
    (configured,) = instantiate_loggers(tmp_path, "wandb", group="ablation", name="baseline")
    (half,) = instantiate_loggers(tmp_path, "wandb", group="ablation")
    plain = training_wandb_logger(save_dir=str(tmp_path))
    named = [(each._wandb_init["group"], each._wandb_init["name"]) for each in (configured, half, plain)]
    assert named == [("ablation", "baseline"), ("ablation", "prompt.length=9,seed=2"), (None, None)]


def test_other_ranks_log_nothing(
    tmp_path: Path, wandb_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under DDP every rank may call these; only global rank 0 writes (and starts the W&B run)."""
    monkeypatch.setattr(rank_zero_only, "rank", 1)
    loggers = instantiate_loggers(tmp_path, "wandb", "tensorboard")
    log_run_config(loggers, RUN_CONFIG)
    log_evaluation(loggers, {"f1": 0.25}, RECORDS)
    finish_loggers(loggers)
    assert not (tmp_path / "wandb").exists() and not (tmp_path / "tensorboard").exists()


# --- TensorBoard ------------------------------------------------------------------------------------


def test_tensorboard_events_hold_metrics_and_predictions_text(tmp_path: Path) -> None:
    loggers = instantiate_loggers(tmp_path, "tensorboard")
    log_run_config(loggers, RUN_CONFIG)
    log_evaluation(loggers, {"f1": 0.25}, RECORDS, step=2, max_rows=2, source_texts=SOURCES)
    finish_loggers(loggers)

    events = tensorboard_events(tmp_path)
    assert [(event.step, event.value) for event in events.Scalars("test/f1")] == [(2, 0.25)]
    (text,) = events.Tensors("test/predictions/text_summary")
    assert text.step == 2
    assert text.tensor_proto.string_val[0].decode() == "\n".join(
        [
            "**test predictions**: the first 2 of 3 examples",
            "",
            "| id | source | generated | gold | parsed | parse_failed |",
            "| --- | --- | --- | --- | --- | --- |",
            f"| doc1 | {SHOWN_ROWS[0][1]} | the relation of aspirin and headache is treats. "
            "| (aspirin, headache, treats); (aspirin, pain, treats) | (aspirin, headache, treats) | False |",
            "| doc2 | Apoptosis in tumour cells. | the type of this \\| document is "
            "| cancer; apoptosis |  | True |",
        ]
    )


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ([["a, b", "c", "rel"]], "(a, b, c, rel)"),
        (["x", "y"], "x; y"),
        ([], "(none)"),
        (None, ""),
        ({"label": "yes"}, "label: yes"),
        ("maybe", "maybe"),
    ],
)
def test_render_answer(answer: Any, shown: str) -> None:
    assert render_answer(answer) == shown


# --- All three in one Trainer -----------------------------------------------------------------------


class ToyRegression(L.LightningModule):
    def __init__(self, lr: float = 0.1) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        inputs, targets = batch
        loss = torch.nn.functional.mse_loss(self.layer(inputs), targets)
        self.log("train/loss", loss)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        data = torch.utils.data.TensorDataset(torch.randn(12, 2), torch.randn(12, 1))
        return torch.utils.data.DataLoader(data, batch_size=4)


def test_csv_wandb_and_tensorboard_log_one_training_run(tmp_path: Path, wandb_env: dict[str, str]) -> None:
    cfg: DictConfig = compose_train(tmp_path, tmp_path / "data", ["logger=[csv,wandb,tensorboard]"])
    assert set(cfg.logger) == {"csv", "wandb", "tensorboard"}
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=3,
        logger=[hydra.utils.instantiate(entry) for entry in cfg.logger.values()],
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    log_run_config(trainer.loggers, OmegaConf.to_container(cfg, resolve=True))
    trainer.fit(ToyRegression())
    log_evaluation(trainer.loggers, {"f1": 0.5}, RECORDS, step=trainer.global_step)
    finish_loggers(trainer.loggers)

    csv_rows = (tmp_path / "logs" / "metrics.csv").read_text().splitlines()
    header = csv_rows[0].split(",")
    assert {"train/loss", "test/f1"} <= set(header)
    assert csv_rows[-1].split(",")[header.index("test/f1")] == "0.5"
    assert len(tensorboard_events(tmp_path).Scalars("train/loss")) == 3
    assert tensorboard_events(tmp_path).Scalars("test/f1")[0].value == 0.5
    state = wandb_run_state(tmp_path)
    assert [row["train/loss"] for row in state["history"] if "train/loss" in row] == pytest.approx(
        [float(v) for v in (r.split(",")[header.index("train/loss")] for r in csv_rows[1:]) if v]
    )
    assert state["summary"]["test/f1"] == 0.5
    assert (state["config"]["seed"], state["config"]["lr"]) == (cfg.seed, 0.1)  # run config + module hparams
    assert len(state["tables"]["test/predictions"]["data"]) == len(RECORDS)
