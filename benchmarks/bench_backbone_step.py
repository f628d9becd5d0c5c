"""Fine-tuning update time of a ``transformers`` backbone through our LightningModule against a plain loop.

Ours: ``lightning.Trainer`` fitting :class:`~biogpt.training.finetune.PromptFineTuner` around
:class:`~biogpt.model.hf.HFBackbone` (its hooks, ``self.log`` calls, fairseq loss normalisation, Adam
and the inverse-sqrt schedule stepped by Lightning). Plain: a copy of the same ``transformers``
network taken before training, the same batch, ``network(...).logits``, the same summed cross-entropy
divided by the update's token count, backward, the same optimiser and schedule
(:func:`~biogpt.training.optim.build_optimizer`), step, zero_grad.

The batch is real: KD-DTI validation examples tokenized with the family's tokenizer (GPT-2's real
vocabulary; for T5 the test suite's unigram vocabulary of the same texts), laid out by
:func:`~biogpt.prompts.build_layout` (GPT-2: the 9-token soft prompt of the paper; T5: the hard prompt
on the encoder side) and collated by the real :class:`~biogpt.data.datamodule.EncodedSplit`. Both sides
iterate a DataLoader yielding that pre-collated batch. Dropout is off, so both compute the same function.

Timing: blocks of ``--warmup + --steps`` updates, alternating ours and plain (the order flips every
repeat so drift hits both alike). Each block starts a fresh optimiser and schedule on both sides (ours: a
new Trainer) from the weights both sides share, so both must hold the same weights after every block:
the script checks every update's loss and the final weights agree, proving both did the same work.
An update's time runs from one ``on_train_batch_start`` to the next (Lightning's whole loop: fetch,
hooks, optimisation, scheduler, logging), and for the plain loop from one iteration's start to the
next; the first ``--warmup`` updates of a block are not timed, nor, on our side, the last (no next
start); the ``ours start->end`` row is timed from ``on_train_batch_start`` to ``on_train_batch_end``.

Columns (medians over updates, each column its own, so they need not add up): wall and CPU seconds;
the wall seconds of the work both sides share, the network's forward, the backward and the optimiser's
step; and ``own``, the rest of the update: the loss, the loop and, on our side, Lightning's hooks, our
``self.log`` calls and loss normalisation. On a busy machine the wall times move by tens of percent
between updates; the difference of the ``own`` medians is the overhead with the shared work's noise
taken out, printed as a share of a plain update next to the ratio of wall medians (the goal: <= 1.05).

    python benchmarks/bench_backbone_step.py                    # GPT-2 6 x 512, real vocabulary, batch 2
    python benchmarks/bench_backbone_step.py --family t5        # T5-small shape: 6+6 x 512, vocab 32128
    python benchmarks/bench_backbone_step.py --family t5 --layers 1 --width 64 --steps 40  # fixed cost shows
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import datasets
import lightning as L
import torch
import torch.nn.functional as F
import transformers
from machine import describe_machine
from torch.utils.data import DataLoader, Dataset

from biogpt.data.batching import MicroBatch
from biogpt.data.datamodule import EncodedSplit
from biogpt.data.sequences import IGNORE_INDEX
from biogpt.data.tasks import load_task_split, make_task_settings
from biogpt.model.hf import HFBackbone
from biogpt.prompts import LayoutSettings, PromptSettings, build_layout, fit_embeddings, prompt_tokens
from biogpt.tokenizer.family import FamilyTokenizer
from biogpt.training.finetune import PromptFineTuner
from biogpt.training.optim import OptimSettings, build_optimizer

DATA = Path(os.environ.get("BIOGPT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
TESTS = Path(__file__).resolve().parents[1] / "tests"
FAMILIES = ("gpt2", "t5")
T5_VOCAB_ROWS = 32_128  # t5-small / Flan-T5 / SciFive embedding rows
HARD_PROMPT = "we can conclude that"  # paper Table 10
GOAL = 1.05  # ours may cost at most 5% more per update


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--family", choices=FAMILIES, default="gpt2")
    parser.add_argument("--layers", type=int, default=6, help="layers (t5: of the encoder and the decoder)")
    parser.add_argument("--width", type=int, default=512, help="hidden size (heads of 64)")
    parser.add_argument("--batch", type=int, default=2, help="KD-DTI validation examples in the batch")
    parser.add_argument("--max-source-positions", type=int, default=256, help="source tokens kept")
    parser.add_argument("--steps", type=int, default=3, help="timed updates per block")
    parser.add_argument("--warmup", type=int, default=1, help="untimed updates starting each block")
    parser.add_argument("--repeats", type=int, default=5, help="blocks per side, interleaved")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--warmup-updates", type=int, default=4, help="of the inverse-sqrt schedule")
    parser.add_argument("--t5-vocab", type=int, default=8000, help="unigram pieces for t5")
    parser.add_argument("--data", type=Path, default=DATA, help="shared data root ($BIOGPT_DATA)")
    return parser.parse_args()


def family_tokenizer(family: str, data: Path, texts: list[str], t5_vocab: int) -> FamilyTokenizer:
    """GPT-2's real byte-level BPE; for T5 the test suite's deterministic SentencePiece unigram
    vocabulary (``tests/family_models.py``) over ``texts``, built here without any download."""
    if family == "gpt2":
        return FamilyTokenizer.from_pretrained(data / "vocab" / "gpt2")
    sys.path.insert(0, str(TESTS))
    from family_models import unigram_pieces

    return FamilyTokenizer(transformers.T5TokenizerFast(vocab=unigram_pieces(texts, t5_vocab), extra_ids=0))


def family_network(family: str, tokenizer: FamilyTokenizer, layers: int, width: int) -> Any:
    """A randomly initialised GPT-2 or T5 (t5-small's layout: relu feed-forward of 4x, tied head)."""
    torch.manual_seed(0)
    if family == "gpt2":
        config = transformers.GPT2Config(
            vocab_size=tokenizer.vocab_size, n_positions=1024, n_embd=width, n_layer=layers,
            n_head=width // 64, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
            bos_token_id=tokenizer.eos_id, eos_token_id=tokenizer.eos_id,
        )  # fmt: skip
        return transformers.GPT2LMHeadModel(config)
    config = transformers.T5Config(
        vocab_size=T5_VOCAB_ROWS, d_model=width, d_ff=4 * width, d_kv=64, num_heads=width // 64,
        num_layers=layers, num_decoder_layers=layers, dropout_rate=0.0,
        pad_token_id=tokenizer.pad_id, eos_token_id=tokenizer.eos_id, decoder_start_token_id=tokenizer.pad_id,
    )  # fmt: skip
    return transformers.T5ForConditionalGeneration(config)


def build(args: argparse.Namespace) -> tuple[HFBackbone, int, dict[str, Any]]:
    """The backbone (with its prompt rows), the tokenizer's base vocabulary size, and the batch."""
    examples = load_task_split(make_task_settings("kd-dti", data_dir=str(args.data)), "valid").examples
    texts = [text for example in examples for text in (example.source, example.target)]
    tokenizer = family_tokenizer(args.family, args.data, texts, args.t5_vocab)
    base_vocab_size = tokenizer.vocab_size
    model = HFBackbone(family_network(args.family, tokenizer, args.layers, args.width))
    prompt = (
        PromptSettings(kind="soft")
        if args.family == "gpt2"
        else PromptSettings(kind="hard", text=HARD_PROMPT)
    )
    tokens = prompt_tokens(prompt, tokenizer)
    tokenizer.add_tokens(tokens.new_tokens)
    if tokens.new_tokens:  # fit_embeddings raises when rows outnumber the ids (T5: 32128 rows)
        fit_embeddings(model, tokenizer.vocab_size, prompt.init)
    layout = build_layout(
        LayoutSettings(max_source_positions=args.max_source_positions), tokenizer, tokens.ids, model
    )
    chosen = examples[: args.batch]
    table = datasets.Dataset.from_dict(
        {
            "id": [example.id for example in chosen],
            "source_ids": tokenizer.encode_batch([example.source for example in chosen]),
            "target_ids": tokenizer.encode_batch([example.target for example in chosen]),
        }
    )
    split = EncodedSplit(table, layout, tokenizer.pad_id)
    indices = tuple(range(len(split)))
    batch = split.__getitems__(MicroBatch(indices, int(split.predicted.sum())))
    return model, base_vocab_size, batch


class RepeatedBatch(Dataset):
    """The same pre-collated batch, ``count`` times (a DataLoader with ``batch_size=None`` passes it on)."""

    def __init__(self, batch: dict[str, Any], count: int) -> None:
        self.batch = batch
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.batch


Mark = tuple[float, float]  # (wall seconds, this process's CPU seconds)
SHARED = ("forward", "backward", "optimizer")


def now() -> Mark:
    return time.perf_counter(), time.process_time()


class Stopwatch:
    """Wall time of the work both sides share, per update: the network's forward, the backward and the
    optimiser's step. What an update spends besides is each side's own (loop, hooks, logging, loss)."""

    def __init__(self, network: torch.nn.Module) -> None:
        self.spans: dict[str, list[float]] = {name: [] for name in SHARED}
        self._begun: dict[str, float] = {}
        network.register_forward_pre_hook(lambda *_: self.begin("forward"))
        network.register_forward_hook(lambda *_: self.end("forward"))

    def begin(self, name: str) -> None:
        self._begun[name] = time.perf_counter()

    def end(self, name: str) -> None:
        self.spans[name].append(time.perf_counter() - self._begun.pop(name))

    def take(self) -> dict[str, list[float]]:
        """Each update's spans since the last call."""
        spans, self.spans = self.spans, {name: [] for name in SHARED}
        return spans


class UpdateTimer(L.Callback):
    """The clocks at each ``on_train_batch_start`` and ``on_train_batch_end``, each update's loss, and the
    shared work's spans (the optimiser's step: from ``on_before_optimizer_step``, which Lightning calls
    once the closure's backward is done, to the optimiser's post-step hook)."""

    def __init__(self, watch: Stopwatch) -> None:
        self.watch = watch
        self.starts: list[Mark] = []
        self.ends: list[Mark] = []
        self.losses: list[float] = []

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        trainer.optimizers[0].register_step_post_hook(lambda *_: self.watch.end("optimizer"))

    def on_train_batch_start(
        self, trainer: L.Trainer, module: L.LightningModule, batch: Any, index: int
    ) -> None:
        self.starts.append(now())

    def on_before_backward(self, trainer: L.Trainer, module: L.LightningModule, loss: torch.Tensor) -> None:
        self.watch.begin("backward")

    def on_after_backward(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.watch.end("backward")

    def on_before_optimizer_step(self, trainer: L.Trainer, module: L.LightningModule, optimizer: Any) -> None:
        self.watch.begin("optimizer")

    def on_train_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, index: int
    ) -> None:
        self.ends.append(now())
        self.losses.append(float(outputs["loss"]))


class Block:
    """One side's run of updates: the clocks at each update's start and end, losses, shared time."""

    def __init__(
        self, starts: list[Mark], ends: list[Mark], losses: list[float], spans: dict[str, list[float]]
    ) -> None:
        self.starts, self.ends, self.losses, self.spans = starts, ends, losses, spans

    def times(self, skip: int) -> dict[str, list[float]]:
        """Per update after the first ``skip``: wall and CPU time, the shared spans, and the wall time
        besides them (``own``)."""
        pairs = list(zip(self.starts, self.ends, strict=False))[skip:]
        count = len(pairs)
        spans = {name: values[skip : skip + count] for name, values in self.spans.items()}
        wall = [end[0] - start[0] for start, end in pairs]
        shared = [sum(values) for values in zip(*spans.values(), strict=True)]
        return {
            "wall": wall,
            "cpu": [end[1] - start[1] for start, end in pairs],
            **spans,
            "own": [total - used for total, used in zip(wall, shared, strict=True)],
        }


def run_ours(module: PromptFineTuner, watch: Stopwatch, batch: dict[str, Any], updates: int) -> UpdateTimer:
    timer = UpdateTimer(watch)
    trainer = L.Trainer(
        accelerator="cpu", devices=1, max_steps=updates, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, precision="32-true",
        num_sanity_val_steps=0, callbacks=[timer],
    )  # fmt: skip
    trainer.fit(module, DataLoader(RepeatedBatch(batch, updates), batch_size=None))
    if len(timer.losses) != updates:
        raise SystemExit(f"Lightning ran {len(timer.losses)} updates, expected {updates}")
    return timer


def plain_logits(network: Any, batch: dict[str, Any]) -> torch.Tensor:
    if "encoder_ids" in batch:
        return network(
            input_ids=batch["encoder_ids"],
            attention_mask=batch["encoder_mask"],
            decoder_input_ids=batch["input_ids"],
            decoder_attention_mask=batch["attention_mask"],
        ).logits
    return network(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


def run_plain(
    network: Any, watch: Stopwatch, optim: OptimSettings, batch: dict[str, Any], updates: int
) -> Block:
    """The plain loop; an update runs from one iteration's start (its fetch) to the next's."""
    optimizer, scheduler = build_optimizer(optim, [{"params": list(network.parameters())}])
    marks: list[Mark] = []
    losses: list[float] = []
    start = now()
    for step in DataLoader(RepeatedBatch(batch, updates), batch_size=None):
        marks.append(start)
        logits = plain_logits(network, step)
        total = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            step["targets"].reshape(-1),
            ignore_index=IGNORE_INDEX,
            reduction="sum",
        )
        loss = total / step["update_tokens"]
        watch.begin("backward")
        loss.backward()
        watch.end("backward")
        watch.begin("optimizer")
        optimizer.step()
        watch.end("optimizer")
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        start = now()
    marks.append(start)
    return Block(marks, marks[1:], losses, watch.take())


def main() -> None:
    args = parse_args()
    print(describe_machine())
    torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    for message in ("does not have many workers", "no `val_dataloader`"):
        warnings.filterwarnings("ignore", f".*{message}.*")
    warnings.filterwarnings("ignore", category=FutureWarning)
    model, base_vocab_size, batch = build(args)
    plain = copy.deepcopy(model.network)  # the same initial weights
    initial = {key: value.clone() for key, value in plain.state_dict().items()}
    watches = {"ours": Stopwatch(model.network), "plain": Stopwatch(plain)}
    optim = OptimSettings(lr=args.lr, warmup_updates=args.warmup_updates)
    module = PromptFineTuner(model, optim, base_vocab_size=base_vocab_size)
    updates = args.warmup + args.steps
    rows = ("ours", "plain", "ours start->end")
    kinds = ("wall", "cpu", *SHARED, "own")
    times: dict[str, dict[str, list[float]]] = {row: {kind: [] for kind in kinds} for row in rows}
    block_ratios: list[float] = []  # each ours block's median wall time over its neighbouring plain block's
    losses: dict[str, list[float]] = {"ours": [], "plain": []}
    for repeat in range(args.repeats):
        medians: dict[str, float] = {}
        for side in ("ours", "plain") if repeat % 2 == 0 else ("plain", "ours"):
            if side == "ours":
                timer = run_ours(module, watches["ours"], batch, updates)
                spans = watches["ours"].take()
                block = Block(timer.starts, timer.starts[1:], timer.losses, spans)
                start_to_end = Block(timer.starts, timer.ends, timer.losses, spans)
                for kind, values in start_to_end.times(args.warmup).items():
                    times["ours start->end"][kind] += values
            else:
                block = run_plain(plain, watches["plain"], optim, batch, updates)
            for kind, values in block.times(args.warmup).items():
                times[side][kind] += values
            medians[side] = statistics.median(block.times(args.warmup)["wall"])
            losses[side] += block.losses
        block_ratios.append(medians["ours"] / medians["plain"])
    torch.testing.assert_close(
        torch.tensor(losses["ours"]), torch.tensor(losses["plain"]), atol=1e-4, rtol=1e-5,
        msg="the two sides' losses differ: they did not do the same work",
    )  # fmt: skip
    trained = model.network.state_dict()
    weight_gap = max((trained[key] - value).abs().max().item() for key, value in plain.state_dict().items())
    moved = max((trained[key] - value).abs().max().item() for key, value in initial.items())
    loss_gap = max(abs(a - b) for a, b in zip(losses["ours"], losses["plain"], strict=True))

    shape = "x".join(map(str, batch["input_ids"].shape))
    if "encoder_ids" in batch:
        shape = f"encoder {'x'.join(map(str, batch['encoder_ids'].shape))}, decoder {shape}"
    params = sum(p.numel() for p in plain.parameters()) / 1e6
    print(
        f"fine-tuning update, {args.family} {args.layers} layers x {args.width} ({params:.1f}M parameters), "
        f"KD-DTI valid batch {shape}, {args.threads} threads, {args.repeats} interleaved blocks of "
        f"{args.warmup} untimed + {args.steps} updates per side; medians"
    )
    median = {row: {kind: statistics.median(values) for kind, values in times[row].items()} for row in rows}
    print("  s/update, medians    " + "".join(f"{kind:>10s}" for kind in kinds) + "  wall min  wall max")
    for row in rows:
        wall = times[row]["wall"]
        print(
            f"  {row:20s}"
            + "".join(f"{median[row][kind]:10.4f}" for kind in kinds)
            + f"{min(wall):10.4f}{max(wall):10.4f}  ({len(wall)} updates)"
        )
    ratio = median["ours"]["wall"] / median["plain"]["wall"]
    extra = median["ours"]["own"] - median["plain"]["own"]
    print(
        f"  ratio ours / plain: wall {ratio:.4f} ({'ok' if ratio <= GOAL else 'OVER'}: goal <= {GOAL}), "
        f"CPU {median['ours']['cpu'] / median['plain']['cpu']:.4f}, "
        f"adjacent blocks {statistics.median(block_ratios):.4f}"
    )
    print(
        f"  own time (an update's wall time besides forward, backward and optimiser step) of ours minus "
        f"plain: {extra * 1e3:+.1f} ms = {extra / median['plain']['wall']:+.2%} of a plain update"
    )
    print(
        f"  same work: all {len(losses['ours'])} update losses agree (max gap {loss_gap:.1e}; first "
        f"{losses['ours'][0]:.4f}, last {losses['ours'][-1]:.4f}), final weights max gap {weight_gap:.1e} "
        f"(training moved them by up to {moved:.1e})"
    )


if __name__ == "__main__":
    main()
