"""Lower-precision inference: ``eval.dtype`` (``evaluate.py`` and a training run's closing evaluation) and
``biogpt-generate dtype=`` keep the weights and the KV cache in bf16, for our BioGPT and for
``transformers`` backbones, while our BioGPT keeps its residual stream and logits in float32; bf16 greedy
outputs of a tiny fine-tuned model score as float32 ones (the demo's two models: ``tests/test_demo.py``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch
from family_models import family_model_dir
from hydra import compose, initialize_config_dir
from hydra_config import compose_root, compose_train
from model_oracle import reference_model
from project_commands import run_command
from transformers import BioGptForCausalLM

from biogpt.data.tasks import load_task_split, make_task_settings
from biogpt.experiment.config.paths import CONF_DIR
from biogpt.experiment.config.settings import eval_settings
from biogpt.experiment.evaluate import evaluate
from biogpt.experiment.finetune import train
from biogpt.experiment.generate import continue_text
from biogpt.model import BioGPT
from biogpt.model.hf import HFBackbone
from biogpt.model.network import LOGIT_CHUNK, KVCache
from biogpt.model.precision import inference_dtype

# A tiny model memorises 4 DDI documents (debug=overfit: trained until every target token is its most
# likely, with probability >= 0.6), then generates for unseen test documents too.
DDI = ["task=ddi", "task.max_source_positions=32"]
FINETUNE = [
    *DDI,
    "debug=overfit",
    "data.splits.train=test",
    "logger={}",
    "trainer.enable_progress_bar=false",
]
# The fine-tuned model is evaluated on the 4 documents it memorised and on the first unseen ones.
EXAMPLES = 48


@contextmanager
def recorded_decoding() -> Iterator[list[dict[str, Any]]]:
    """The dtypes of the weights and of the KV cache of every decoding begun (our BioGPT and ``transformers``
    backbones), whichever command starts it."""
    records: list[dict[str, Any]] = []

    def spy(cls: type) -> Any:
        original = cls.begin_decoding

        def begin_decoding(self: Any, *args: Any, **kwargs: Any) -> Any:
            logits, state = original(self, *args, **kwargs)
            weights = {param.dtype for param in self.parameters()}
            records.append({"weights": weights, "cache": cache_dtypes(state), "logits": logits.dtype})
            return logits, state

        return begin_decoding

    with pytest.MonkeyPatch.context() as patch:
        for cls in (BioGPT, HFBackbone):
            patch.setattr(cls, "begin_decoding", spy(cls))
        yield records


def cache_dtypes(state: Any) -> set[torch.dtype]:
    if isinstance(state, KVCache):
        return {state.keys.dtype, state.values.dtype}
    layers = state.cache.layers  # a transformers DynamicCache
    return {tensor.dtype for layer in layers for tensor in (layer.keys, layer.values)}


def only(records: list[dict[str, Any]], dtype: torch.dtype) -> bool:
    return bool(records) and all(
        record["weights"] == {dtype} and record["cache"] == {dtype} for record in records
    )


def generated(run: Path) -> list[str]:
    return [json.loads(line)["generated"] for line in (run / "predictions.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def fine_tuned(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path, token_cache: Path
) -> tuple[Path, list[dict[str, Any]], dict[str, Any]]:
    """A tiny fine-tuned model whose closing evaluation ran with ``eval.dtype=bf16``: its directory, the
    dtypes that evaluation decoded with, and its metrics."""
    run = tmp_path_factory.mktemp("finetuned")
    cfg = compose_train(run, shared_data, [*FINETUNE, "eval.dtype=bf16"], cache_dir=token_cache)
    with recorded_decoding() as records:
        train(cfg)
    return run / "final", records, json.loads((run / "metrics.json").read_text())


def test_eval_dtype_is_a_named_precision(tmp_path: Path, shared_data: Path) -> None:
    assert eval_settings(compose_train(tmp_path, shared_data)).dtype == "fp32"
    assert eval_settings(compose_train(tmp_path, shared_data, ["eval.dtype=bf16"])).dtype == "bf16"
    assert eval_settings(compose_train(tmp_path, shared_data, ["eval.dtype=auto"])).dtype == "auto"
    with pytest.raises(ValueError, match=r"eval.dtype='int8': expected one of fp32, bf16, fp16, auto"):
        eval_settings(compose_train(tmp_path, shared_data, ["eval.dtype=int8"]))
    assert inference_dtype("bf16") == torch.bfloat16 and inference_dtype("fp16") == torch.float16
    with pytest.raises(ValueError, match=r"dtype='float64': expected one of fp32, bf16, fp16, auto"):
        inference_dtype("float64")


# Prints what eval.dtype=auto and =bf16 resolve to on the CPU and the precisions of the CPU trainers built
# for trainer.precision=32-true, bf16-mixed and bf16-mixed again, and the warnings logged on the way.
RESOLVE = """
import logging, sys, torch
from hydra import compose, initialize_config_dir
from biogpt.experiment.build import build_trainer
from biogpt.experiment.config.paths import CONF_DIR
from biogpt.model.precision import computes_bf16, inference_dtype
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
cpu = torch.device("cpu")
print("native", computes_bf16(cpu))
print("auto", inference_dtype("auto", "eval.dtype", cpu))
for _ in range(2):
    print("bf16", inference_dtype("bf16", "eval.dtype", cpu))
with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
    for precision in ("32-true", "bf16-mixed", "bf16-mixed"):
        overrides = [f"run_dir={sys.argv[1]}", "logger={}", "trainer=cpu", f"trainer.precision={precision}"]
        print("trainer", build_trainer(compose("train", overrides=overrides)).precision)
"""


@pytest.mark.parametrize(
    ("isa", "native"),
    [
        ({"ATEN_CPU_CAPABILITY": "avx2"}, False),
        ({"ONEDNN_MAX_CPU_ISA": "AVX2"}, False),
        ({"ATEN_CPU_CAPABILITY": "default"}, False),
        ({}, None),  # this CPU as it is: native where it has AVX-512 BF16 or AMX
    ],
)
def test_eval_dtype_auto_is_bf16_only_where_the_cpu_computes_it(
    isa: dict[str, str], native: bool | None, tmp_path: Path
) -> None:
    """``auto`` is bf16 only on a CPU with bf16 arithmetic whose kernels may use it; an explicit ``bf16``
    without it runs as asked, with one warning that names the cost, and so does a bf16 trainer precision,
    whose emulated training steps cost far more (kernels limited to AVX2 stand for an AVX2-only CPU)."""
    if native is None:
        native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")
    }
    # A fresh interpreter: torch reads the ISA settings when it is imported.
    result = run_command(["-c", RESOLVE, str(tmp_path)], env={**env, **isa}, timeout=300, fresh=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == [
        f"native {native}",
        f"auto torch.{'bfloat16' if native else 'float32'}",
        *["bf16 torch.bfloat16"] * 2,
        "trainer 32-true",
        *["trainer bf16-mixed"] * 2,
    ]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    if native:
        assert warnings == []
    else:
        assert len(warnings) == 2, warnings
        assert "eval.dtype=bf16" in warnings[0] and "1.7-3.6x slower" in warnings[0]
        assert "trainer.precision=bf16-mixed" in warnings[1] and "over 100x slower" in warnings[1]


def test_bf16_weights_keep_the_stream_and_the_logits_in_float32(tmp_path: Path) -> None:
    """Only the projections, attention and the KV cache round to bf16: the logits are float32 and closer to
    those of the same bf16 weights run wholly in float32 than an all-bf16 forward is (``transformers``' in
    bf16), by about 3x on the mean, over a vocabulary the output projection takes in several chunks."""
    vocab = 2 * LOGIT_CHUNK + 100
    shape = {"hidden_size": 64, "num_hidden_layers": 3, "num_attention_heads": 4, "intermediate_size": 256}
    reference_model(0, vocab_size=vocab, **shape).save_pretrained(tmp_path)
    ours = BioGPT.from_pretrained(tmp_path, dtype=torch.bfloat16).eval()
    bf16_weights_in_fp32 = BioGPT.from_pretrained(tmp_path, dtype=torch.bfloat16).float().eval()
    all_bf16 = BioGptForCausalLM.from_pretrained(tmp_path, dtype=torch.bfloat16).eval()
    ids = torch.randint(3, vocab, (4, 24), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        exact = bf16_weights_in_fp32(ids)
        logits = ours(ids)
        theirs = all_bf16(ids).logits.float()
    assert logits.dtype == torch.float32 and {p.dtype for p in ours.parameters()} == {torch.bfloat16}
    ours_error, theirs_error = (logits - exact).abs().mean(), (theirs - exact).abs().mean()
    assert ours_error * 2 < theirs_error, (ours_error, theirs_error)


def test_closing_evaluation_of_a_training_run_decodes_in_bf16(fine_tuned) -> None:
    _, records, metrics = fine_tuned
    assert only(records, torch.bfloat16)
    assert metrics["examples"] == 4 and metrics["metrics"]["f1"] == 1.0  # memorised, and so decoded in bf16


def test_evaluate_in_bf16_agrees_with_fp32_on_a_fine_tuned_model(
    fine_tuned, tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    final, _, _ = fine_tuned
    trained = json.loads((final.parent / "train_summary.json").read_text())["train_ids"]
    unseen = [
        example.id
        for example in load_task_split(make_task_settings("ddi", data_dir=str(shared_data)), "test").examples
    ]
    runs, records = {}, {}
    for dtype in ("fp32", "bf16"):
        runs[dtype] = tmp_path / dtype
        cfg = compose_root(
            "evaluate",
            runs[dtype],
            shared_data,
            [
                *DDI,
                f"ckpt={final}",
                f"data.cache_dir={token_cache}",
                "eval.batch_size=24",
                "eval.generation.max_new_tokens=32",
                f"eval.dtype={dtype}",
            ],
        )
        cfg.eval.ids = trained + [i for i in unseen if i not in trained][: EXAMPLES - len(trained)]
        with recorded_decoding() as records[dtype]:
            evaluate(cfg)
    assert only(records["fp32"], torch.float32) and only(records["bf16"], torch.bfloat16)
    fp32, bf16 = generated(runs["fp32"]), generated(runs["bf16"])
    assert len(fp32) == EXAMPLES
    same = sum(a == b for a, b in zip(fp32, bf16, strict=True))
    f1 = {d: json.loads((runs[d] / "metrics.json").read_text())["metrics"]["f1"] for d in runs}
    print(f"bf16 = fp32 on {same}/{EXAMPLES} examples; F1 {f1}")
    # Where the model is sure (the memorised examples: every token's probability >= 0.6), bf16's rounding
    # cannot change a choice: the texts are identical on every CPU. On the unseen ones a lightly trained
    # model has near-ties that bf16 and each CPU's kernels break their own way (43/48 identical, F1 6.28%
    # in both on a 2-core AVX-512 AMD EPYC), so agreement there is a figure for benchmarks/bench_bf16.py,
    # not an assertion.
    memorised = len(trained)
    assert fp32[:memorised] == bf16[:memorised]


def test_generate_command_in_bf16_for_ours_and_a_transformers_backbone(
    fine_tuned, tmp_path: Path, shared_data: Path
) -> None:
    gpt2 = family_model_dir("gpt2", tmp_path / "gpt2", shared_data)
    final, _, _ = fine_tuned
    texts = {}
    for source in (final, gpt2):
        for dtype in ("fp32", "bf16"):
            with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
                cfg = compose(
                    config_name="generate",
                    overrides=[f"ckpt={source}", f"data_dir={shared_data}", "text=Aspirin", "beam=1",
                               "max_len=12", f"dtype={dtype}"],
                )  # fmt: skip
            with recorded_decoding() as records:
                texts[source, dtype] = continue_text(cfg)
            assert only(records, inference_dtype(dtype)), (source, dtype, records)
            assert texts[source, dtype].startswith("Aspirin")
