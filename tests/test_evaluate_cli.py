"""``evaluate.py`` and ``python -m biogpt.generate`` from the command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from model_oracle import (
    reference_model,
    small_with_released_vocab,
    write_fairseq_checkpoint,
    write_fine_tuned_checkpoint,
)
from project_commands import run_project

from biogpt.data.tasks import load_task_split, make_task_settings


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return run_project(args, timeout=900)


def test_scoring_a_predictions_file_writes_metrics_and_predictions(tmp_path: Path, shared_data: Path) -> None:
    examples = load_task_split(make_task_settings("ddi", data_dir=str(shared_data)), "test").examples
    lines = [example.target for example in examples]
    lines[0] = "garbage"
    (tmp_path / "generated.txt").write_text("\n".join(lines) + "\n")
    result = _run(
        [
            "evaluate.py",
            "task=ddi",
            f"predictions={tmp_path / 'generated.txt'}",
            f"data_dir={shared_data}",
            f"hydra.run.dir={tmp_path / 'run'}",
        ]
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["examples"] == len(examples) and metrics["parse_failures"] == 1
    assert metrics["metrics"]["precision"] == (len(examples) - 1) / len(examples)
    assert str(tmp_path / "run" / "metrics.json") in result.stdout
    assert len((tmp_path / "run" / "predictions.jsonl").read_text().splitlines()) == len(examples)


def test_overfitted_tiny_model_scores_f1_one_through_evaluate_py(
    tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    """End to end: fine-tune on 4 DDI test documents until memorised, generate, score them: F1 = 1."""
    common = [
        f"data_dir={shared_data}",
        f"data.cache_dir={token_cache}",
        "task=ddi",
        "task.max_source_positions=32",
    ]
    _run(
        [
            "train.py",
            *common,
            "debug=overfit",  # 4 examples of the training split, memorised, then scored
            "data.splits.train=test",
            "logger={}",
            "trainer.enable_progress_bar=false",
            f"hydra.run.dir={tmp_path / 'train'}",
        ]
    )
    trained = json.loads((tmp_path / "train" / "train_summary.json").read_text())["train_ids"]
    # The run's closing evaluation scored the final model on the examples it trained on.
    closing = json.loads((tmp_path / "train" / "metrics.json").read_text())
    assert closing["examples"] == 4 and closing["metrics"]["f1"] == 1.0
    _run(
        [
            "evaluate.py",
            *common,
            f"ckpt={tmp_path / 'train' / 'final'}",
            f"eval.ids=[{','.join(trained)}]",
            f"hydra.run.dir={tmp_path / 'eval'}",
        ]
    )
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["examples"] == 4 and metrics["parse_failures"] == 0
    assert metrics["metrics"]["precision"] == metrics["metrics"]["recall"] == metrics["metrics"]["f1"] == 1.0
    assert metrics == closing


def test_generate_cli_continues_a_text_with_hf_and_fairseq_checkpoints(
    tmp_path: Path, biogpt_vocab: Path
) -> None:

    reference = reference_model(0, **small_with_released_vocab(256))
    reference.save_pretrained(tmp_path / "hf")
    write_fairseq_checkpoint(reference, tmp_path / "checkpoint.pt")
    outputs = []
    for model in (tmp_path / "hf", tmp_path / "checkpoint.pt"):
        result = _run(
            [
                "-m",
                "biogpt.generate",
                f"ckpt={model}",
                "text=COVID-19 is",
                "beam=5",
                "min_len=20",
                "max_len=30",
                f"tokenizer={biogpt_vocab}",
            ]
        )
        outputs.append(result.stdout.strip().splitlines()[-1])
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith("COVID-19 is ") and len(outputs[0].split()) >= 10


def test_export_cli_writes_the_examples_in_task_order(
    tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    out = tmp_path / "ddi-test.jsonl"
    _run(
        [
            "-m",
            "biogpt.data.export",
            "task=ddi",
            "split=test",
            f"out={out}",
            "target_format=svo",
            "task.max_source_positions=100",
            f"data_dir={shared_data}",
            f"data.cache_dir={token_cache}",
        ]
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    config = make_task_settings("ddi", data_dir=str(shared_data), target_format="svo")
    examples = load_task_split(config, "test").examples
    assert [(r["id"], r["source"], r["target"]) for r in rows] == [
        (e.id, e.source, e.target) for e in examples
    ]
    assert max(r["source_tokens"] for r in rows) == 100  # truncated as configured
    assert all(r["prompt_tokens"] == 9 for r in rows)
    assert all(r["total_tokens"] == r["source_tokens"] + 9 + r["target_tokens"] for r in rows)


def test_template_words_of_constrained_decoding(shared_data: Path) -> None:
    from biogpt.generation.tasks import constrained_vocabularies, template_text

    ddi = make_task_settings("ddi", data_dir=str(shared_data))
    template = template_text(ddi, load_task_split(ddi, "train").examples)
    assert template == ". ;  " + " ".join(
        f"the interaction between  and  is {r}" for r in ("advise", "effect", "int", "mechanism")
    )
    qa = make_task_settings("pubmedqa", data_dir=str(shared_data))
    assert template_text(qa, load_task_split(qa, "train").examples).count("the answer to the question") == 3

    class Words:
        def encode(self, text: str) -> list[int]:
            return [len(word) for word in text.split()]

    assert constrained_vocabularies(Words(), "a bb", [[7, 8], [9]], (50,)) == [
        {1, 2, 50, 7, 8},
        {1, 2, 50, 9},
    ]


def test_constrained_evaluation_runs_from_a_checkpoint(
    tmp_path: Path, shared_data: Path, biogpt_vocab: Path, token_cache: Path
) -> None:
    from biogpt import BioGPT, BioGPTConfig
    from biogpt.tokenizer import BioGPTTokenizer

    model_dir = tmp_path / "final"
    BioGPT(BioGPTConfig.from_preset("tiny")).save_pretrained(model_dir)
    BioGPTTokenizer.from_pretrained(biogpt_vocab).save_pretrained(model_dir)
    (model_dir / "prompt.json").write_text(
        json.dumps({"kind": "none", "length": 0, "text": "", "init": "random"})
    )
    ids = [
        e.id
        for e in load_task_split(make_task_settings("ddi", data_dir=str(shared_data)), "test").examples[:3]
    ]
    _run(
        [
            "evaluate.py",
            "task=ddi",
            f"ckpt={model_dir}",
            "eval.constrained=true",
            f"eval.ids=[{','.join(ids)}]",
            "eval.generation.max_new_tokens=8",
            f"data_dir={shared_data}",
            f"data.cache_dir={token_cache}",
            f"hydra.run.dir={tmp_path / 'eval'}",
        ]
    )
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert (
        metrics["examples"] == 3 and metrics["parse_failures"] == 3
    )  # an untrained model writes no relation


def test_evaluation_from_a_fine_tuned_release_checkpoint_uses_its_learned_prompt(
    tmp_path: Path, shared_data: Path, biogpt_vocab: Path, token_cache: Path
) -> None:

    reference = reference_model(0, **small_with_released_vocab(1024))
    write_fine_tuned_checkpoint(reference, tmp_path / "checkpoint_avg.pt", 5)
    ids = [
        e.id
        for e in load_task_split(make_task_settings("ddi", data_dir=str(shared_data)), "test").examples[:2]
    ]
    result = _run(
        [
            "evaluate.py",
            "task=ddi",
            f"ckpt={tmp_path / 'checkpoint_avg.pt'}",
            f"eval.ids=[{','.join(ids)}]",
            "eval.generation.max_new_tokens=4",
            f"data_dir={shared_data}",
            f"data.cache_dir={token_cache}",
            f"hydra.run.dir={tmp_path / 'eval'}",
        ]
    )
    assert (
        "carries 5 learned prompt rows: prompt learned1 learned2 learned3 learned4 learned5"
        in result.stdout + result.stderr
    )
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["examples"] == 2


def test_export_lays_out_an_encoder_decoder_as_training_does(
    tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    """The backbone's kind comes from its config alone: BART's encoder reads ``<s> source </s>``, its
    decoder ``[start; target]``, and no weight is loaded (the directory holds none)."""
    from family_models import family_model_dir

    model = family_model_dir("bart", tmp_path / "bart", shared_data)
    for weights in model.glob("*.safetensors"):
        weights.unlink()
    out = tmp_path / "ddi-test.jsonl"
    _run(
        [
            "-m",
            "biogpt.data.export",
            "task=ddi",
            "split=test",
            f"out={out}",
            "model=facebook/bart-base",
            f"model.init={model}",
            "prompt=none",
            f"data_dir={shared_data}",
            f"data.cache_dir={token_cache}",
        ]
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(
        load_task_split(make_task_settings("ddi", data_dir=str(shared_data)), "test").examples
    )
    assert all(r["prompt_tokens"] == 0 for r in rows)
    assert all(r["encoder_tokens"] == r["source_tokens"] + 2 for r in rows)  # <s> ... </s>
    assert all(r["total_tokens"] == r["encoder_tokens"] + r["target_tokens"] for r in rows)
