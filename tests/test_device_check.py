"""The GPU readiness check (``benchmarks/device_check.py``) in its CPU smoke mode: every section runs the
code the GPU run will run, with tiny shapes, and passes; a failing section is reported without hiding
the others; and the configs of the full (GPU) mode compose, so that a config error costs no GPU time."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import hydra
import pytest
import torch
from project_commands import run_command

from biogpt import BioGPTConfig

PROJECT = Path(__file__).resolve().parents[1]
SCRIPT = PROJECT / "benchmarks" / "device_check.py"
sys.path.insert(0, str(SCRIPT.parent))

import device_check  # noqa: E402  (benchmarks/ is not a package)


@pytest.fixture(scope="module")
def smoke(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """One smoke run (about a minute): its report and its printed output."""
    root = tmp_path_factory.mktemp("device-check")
    out = root / "report.json"
    command = [str(SCRIPT), "--smoke", "--out", str(out), "--work-dir", str(root / "work")]
    done = run_command(command, env={**os.environ, "BIOGPT_DATA": str(shared_data)}, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return json.loads(out.read_text()), done.stdout


def test_every_section_runs_and_passes(smoke: tuple[dict, str]) -> None:
    report, _ = smoke
    assert report["mode"] == "smoke" and report["ok"] and report["failed"] == []
    assert report["environment"]["device"] == "cpu" and report["environment"]["peak_bf16_tflops"] is None
    assert list(report["sections"]) == list(device_check.SECTIONS)
    for name, section in report["sections"].items():
        assert section["status"] == "ok", (name, section["error"], section["traceback"])
        assert section["error"] is None and 0 < section["wall_s"] <= section["budget_s"]
        checks = section["results"]["checks"]
        assert checks and all(checks.values()), (name, checks)


def test_fp16_scaler_and_weights_survive_a_kill(smoke: tuple[dict, str]) -> None:
    sections = smoke[0]["sections"]
    fp16 = sections["finetune_16mixed"]["results"]
    assert fp16["precision"] == "16-mixed" and fp16["killed_exit"] < 0
    assert fp16["checkpoint_at_kill"] == f"step{fp16['killed_after']:07d}.ckpt"
    scaler = fp16["scaler"]
    assert scaler["type"] == "GradScaler" and len(scaler["reference"]) == fp16["updates"]
    # The smoke scaler grows at every update, so a fresh one (65536) would show in the resumed run.
    at_kill = scaler["reference"][fp16["killed_after"]]
    assert at_kill["scale"] != 65536.0 and scaler["in_checkpoint"]["scale"] == at_kill["scale"]
    assert scaler["resumed"] == scaler["reference"][fp16["killed_after"] :]
    assert fp16["weights_max_abs_diff"] <= fp16["weights_tolerance"] and fp16["changed_by_training"]
    assert fp16["loss_scale_logged_by_module"]  # train/loss_scale in the run's own metrics
    bf16 = sections["finetune_bf16mixed"]["results"]
    assert bf16["scaler"]["type"] is None and bf16["scaler"]["in_checkpoint"] is None
    assert bf16["weights_max_abs_diff"] <= bf16["weights_tolerance"] and bf16["changed_by_training"]


def test_throughput_fsdp_and_generation_results(smoke: tuple[dict, str]) -> None:
    sections = smoke[0]["sections"]
    rows = sections["pretrain_throughput"]["results"]["rows"]
    assert [row["side"].split(":")[0] for row in rows] == ["ours", "ours", "transformers sdpa"]
    assert all(row["tokens_per_s"] > 0 and row["mfu"] is None and row["flops_per_token"] > 0 for row in rows)
    fsdp = sections["fsdp"]["results"]
    assert fsdp["strategy"]["type"] == "FSDPStrategy" and fsdp["strategy"]["auto_wrap_policy"] == [
        "DecoderLayer"
    ]
    assert fsdp["fsdp_run"].startswith("skipped on CPU")
    assert fsdp["final_vs_in_memory_max_abs_diff"] == 0.0 and fsdp["logits"]["bitwise_equal"]
    generation = sections["generation"]["results"]["rows"]
    assert [row["batch_size"] for row in generation] == [1, 8, 32]
    assert all(row["identical_tokens"] and row["ours_tokens_per_s"] > 0 for row in generation)


def test_the_table_is_printed(smoke: tuple[dict, str]) -> None:
    printed = smoke[1]
    assert device_check.TABLE_HEADER in printed and "result: ALL OK" in printed
    for name in device_check.SECTIONS:
        assert any(line.split()[:2] == [name, "ok"] for line in printed.splitlines()), name
    assert "pre-training (bf16)" in printed and "greedy decoding (fp32)" in printed


def test_a_failing_section_is_reported_and_the_others_still_run(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def broken(ctx, results) -> None:
        results["partial"] = 1
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(device_check, "check_pretrain", broken)
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    out = tmp_path / "report.json"
    argv = ["--smoke", "--out", str(out), "--data-dir", str(shared_data), "--work-dir", str(tmp_path / "w")]
    argv += ["--threads", str(torch.get_num_threads()), "--sections", "pretrain_throughput", "generation"]
    assert device_check.main(argv) == 1
    report = json.loads(out.read_text())
    assert report["failed"] == ["pretrain_throughput"] and not report["ok"]
    failed = report["sections"]["pretrain_throughput"]
    assert failed["status"] == "failed" and "illegal memory access" in failed["error"]
    assert failed["results"] == {"partial": 1} and "broken" in failed["traceback"]
    assert report["sections"]["generation"]["status"] == "ok"
    assert "FAILED: pretrain_throughput" in capsys.readouterr().out


def test_a_section_past_its_budget_is_stopped() -> None:
    started = time.monotonic()
    with pytest.raises(device_check.SectionTimeout), device_check.time_limit(0.3):
        time.sleep(5)
    assert time.monotonic() - started < 2


def test_the_full_mode_configs_compose_for_one_gpu(shared_data: Path, tmp_path: Path) -> None:
    """What the GPU run composes, checked here: a config error must not cost the GPU run."""
    check = device_check
    ctx = check.Context(argparse.Namespace(), check.FULL, torch.device("cuda"), shared_data, tmp_path)
    for precision in ("16-mixed", "bf16-mixed"):
        cfg = check.compose(
            "train", tmp_path / precision, shared_data, check.finetune_overrides(ctx, precision)
        )
        assert (cfg.trainer.accelerator, cfg.trainer.precision, cfg.trainer.devices) == ("gpu", precision, 1)
        assert cfg.trainer.deterministic == "warn" and cfg.model.preset == "biogpt"
        assert (cfg.trainer.max_steps, cfg.checkpoint.every_n_updates, cfg.data.update_freq) == (6, 3, 2)
        assert isinstance(hydra.utils.instantiate(cfg.callbacks.scale), check.ScaleRecorder)
    overrides = check.pretrain_overrides(ctx, 1, 8, tmp_path / "corpus")
    cfg = check.compose("pretrain", tmp_path / "pretrain", shared_data, overrides)
    assert (cfg.trainer.accelerator, cfg.trainer.precision, cfg.pretrain.tokens_per_sample) == (
        "gpu",
        "bf16-mixed",
        1024,
    )
    assert (cfg.model.preset, cfg.pretrain.blocks_per_batch, cfg.data.update_freq) == ("biogpt", 1, 8)
    cfg = check.compose("train", tmp_path / "fsdp", shared_data, check.fsdp_overrides(ctx, tmp_path / "init"))
    assert cfg.trainer.strategy._target_ == "lightning.pytorch.strategies.FSDPStrategy"
    assert (cfg.trainer.accelerator, cfg.trainer.devices, cfg.trainer.precision) == ("gpu", 1, "bf16-mixed")
    assert isinstance(hydra.utils.instantiate(cfg.callbacks.probe), check.FSDPProbe)
    preset, overrides = check.FULL.fsdp_shape
    assert BioGPTConfig.from_preset(preset, **overrides).hidden_size == 1600


@pytest.mark.parametrize(
    ("name", "tflops"),
    [
        ("NVIDIA H200", 989.4),
        ("NVIDIA H100 80GB HBM3", 989.4),
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA A100-SXM4-80GB", 312.0),
        ("Tesla V100-SXM2-16GB", None),  # no bf16: MFU is null, and the report says why
    ],
)
def test_peak_flops_by_device_name(name: str, tflops: float | None) -> None:
    peak, source = device_check.peak_for_name(name)
    assert peak == tflops and name in source


def test_extraction_is_compared_with_transformers_on_identical_texts(smoke: tuple[dict, str]) -> None:
    results = smoke[0]["sections"]["extraction"]["results"]
    assert results["dtype"] == "fp32" and results["roof_fraction"] is None  # no bandwidth roof for a CPU
    assert [row["batch_size"] for row in results["rows"]] == list(device_check.SMOKE.extract_batch_sizes)
    assert all(
        row[f"{side}_identical_texts"] == row["documents"] == results["documents"]
        for row in results["rows"]
        for side in ("ours", "transformers")
    )
    assert results["speedup"] > 0 and "extraction" in smoke[1]
