"""The ``transformers`` backbones (GPT-2, GPT-Neo, BART, T5) against ``transformers`` itself.

Each family is a tiny random network (``family_models``, dropout 0) built once per module. The oracles:

* the loss and every gradient of a batch through our fine-tuning module (layout, collation,
  ``batch_logits``, our loss) equal ``transformers``' own ``labels=`` loss on the same ids, which the
  reference builds from the raw token ids and the family tokenizer's own special tokens;
* our decoding loop (greedy, beam) equals ``network.generate`` with an explicit generation config;
* a checkpoint's generation defaults (BART's ``num_beams=4, no_repeat_ngram_size=3``) never reach our
  decoding;
* ``save_pretrained`` / ``load_network`` give back the same network, or exactly the weights given;
* a soft prompt trains only its embedding rows, and encoder-decoders refuse it;
* ``block_classes`` are the family's layer classes.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import datasets
import lightning as L
import pytest
import torch
import transformers
from family_models import DECODER_FAMILIES, FAMILIES, family_network, family_tokenizer
from hydra_config import compose_train
from torch import nn
from torch.utils.data import DataLoader

from biogpt.data.batching import MicroBatch
from biogpt.data.datamodule import EncodedSplit
from biogpt.data.resume import already_collated
from biogpt.data.sequences import IGNORE_INDEX
from biogpt.experiment.build import build_finetuning
from biogpt.experiment.config.settings import run_settings
from biogpt.generation import decoding
from biogpt.generation.decoding import GenerationSettings, generate
from biogpt.model.backbone import DECODER, ENCODER_DECODER
from biogpt.model.hf import HFBackbone
from biogpt.model.loading import load_network
from biogpt.prompts import (
    LayoutSettings,
    PromptSettings,
    build_layout,
    check_prompt_fits,
    fit_embeddings,
    prompt_tokens,
)
from biogpt.tokenizer.family import FamilyTokenizer
from biogpt.training.finetune import PromptFineTuner
from biogpt.training.optim import OptimSettings

# (source, target) pairs of unequal lengths, so every batch is padded.
PAIRS = (
    (
        "Naloxone reverses the antihypertensive effect of clonidine.",
        "the relation between naloxone and clonidine is mechanism.",
    ),
    ("Aspirin relieves headache.", "aspirin treats headache."),
    (
        "Is lidocaine effective against ventricular arrhythmia after myocardial infarction?",
        "the answer to the question is yes.",
    ),
)
TEXTS = tuple(text for pair in PAIRS for text in pair)  # what T5's unigram vocabulary is trained on
SETTINGS = LayoutSettings(max_source_positions=64, max_positions=128)
NEW_TOKENS = 20

# Decoding oracles run on sharpened copies: the default initialisations (std 0.02) give near-uniform
# next-token distributions whose greedy paths repeat one token whatever the input. Re-drawn weights
# (std of the token embedding, std of every other matrix) make the paths depend on the input, and an
# end-of-sequence logit bias makes rows end at different steps, and beam search finish before the
# length limit. Family -> (embedding std, weight std, eos logit bias).
SHARPENING: dict[str, tuple[float, float, float]] = {
    "gpt2": (0.3, 0.2, 7.0),
    "gpt_neo": (0.3, 0.3, 6.5),
    "bart": (0.3, 0.2, 6.0),
    "t5": (1.0, 0.2, 3.5),
}

# The transformers layer classes FSDP and activation checkpointing wrap, and how many each network has.
BLOCKS: dict[str, tuple[str, dict[str, int]]] = {
    "gpt2": ("transformers.models.gpt2.modeling_gpt2", {"GPT2Block": 2}),
    "gpt_neo": ("transformers.models.gpt_neo.modeling_gpt_neo", {"GPTNeoBlock": 2}),
    "bart": ("transformers.models.bart.modeling_bart", {"BartEncoderLayer": 2, "BartDecoderLayer": 2}),
    "t5": ("transformers.models.t5.modeling_t5", {"T5Block": 4}),
}

Family = tuple[FamilyTokenizer, nn.Module]


@pytest.fixture(scope="module")
def families(shared_data: Path) -> Callable[[str], Family]:
    """Each family's tokenizer and tiny network, built once; tests copy the network before changing it."""
    built: dict[str, Family] = {}

    def get(family: str) -> Family:
        if family not in built:
            tokenizer = family_tokenizer(family, shared_data, TEXTS)
            built[family] = (FamilyTokenizer(tokenizer), family_network(family, tokenizer).eval())
        return built[family]

    return get


class Sharpened:
    """A sharpened copy of a family's network, with a bias added to its end-of-sequence logit."""

    def __init__(self, family: str, tokenizer: FamilyTokenizer, network: nn.Module) -> None:
        embedding_std, weight_std, eos_bias = SHARPENING[family]
        self.tokenizer = tokenizer
        self.network = copy.deepcopy(network).eval()
        self.model = HFBackbone(self.network)
        generator = torch.Generator().manual_seed(1)
        embedding = self.network.get_input_embeddings().weight
        with torch.no_grad():
            for param in self.network.parameters():  # tied weights appear once
                if param.dim() == 2:
                    std = embedding_std if param is embedding else weight_std
                    param.copy_(torch.randn(param.shape, generator=generator) * std)
        bias = torch.zeros(tokenizer.vocab_size)
        bias[tokenizer.eos_id] = eos_bias
        self.network.get_output_embeddings().register_forward_hook(lambda _, __, logits: logits + bias)


@pytest.fixture(scope="module")
def sharpened(families: Callable[[str], Family]) -> Callable[[str], Sharpened]:
    built: dict[str, Sharpened] = {}

    def get(family: str) -> Sharpened:
        if family not in built:
            built[family] = Sharpened(family, *families(family))
        return built[family]

    return get


# ------------------------------------------------------------------------------------------------ helpers


def encoded_pairs(tokenizer: FamilyTokenizer) -> list[tuple[list[int], list[int]]]:
    return [(tokenizer.encode(source), tokenizer.encode(target)) for source, target in PAIRS]


def collated_batch(tokenizer: FamilyTokenizer, layout: Any) -> dict[str, Any]:
    """All of :data:`PAIRS` as one batch, collated by the training data path."""
    split = training_split(tokenizer, layout)
    return split.__getitems__(MicroBatch(tuple(range(len(split))), int(split.predicted.sum())))


def training_split(tokenizer: FamilyTokenizer, layout: Any) -> EncodedSplit:
    pairs = encoded_pairs(tokenizer)
    table = datasets.Dataset.from_dict(
        {
            "id": [str(index) for index in range(len(pairs))],
            "source_ids": [source for source, _ in pairs],
            "target_ids": [target for _, target in pairs],
        }
    )
    return EncodedSplit(table, layout, tokenizer.pad_id)


def padded(
    rows: Sequence[Sequence[int]], fill: int, *, left: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows padded with ``fill`` (on the left or the right) to the longest, and their mask."""
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), fill, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for index, row in enumerate(rows):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        ids[index, span] = torch.tensor(list(row))
        mask[index, span] = 1
    return ids, mask


@contextlib.contextmanager
def without_generation_defaults(network: nn.Module) -> Iterator[None]:
    """transformers 5 fills every field a passed ``GenerationConfig`` leaves unset (None) from the model's
    own ``generation_config``: BART's ``forced_eos_token_id=2`` (a BartConfig default) would reach the
    oracle although the test sets nothing of the kind. With a bare model default, the oracle decodes with
    exactly the explicit settings."""
    saved = network.generation_config
    network.generation_config = transformers.GenerationConfig()
    try:
        yield
    finally:
        network.generation_config = saved


def reference_generate(
    network: nn.Module,
    rows: Sequence[Sequence[int]],
    tokenizer: FamilyTokenizer,
    config: GenerationSettings,
) -> list[list[int]]:
    """``network.generate`` with our ``config``'s settings, every one explicit: decoder-only rows are
    prefixes (left-padded) whose continuation is returned, encoder-decoder rows encoder inputs
    (right-padded) whose target after the configured start token is returned; both cut before the
    first ``eos``."""
    encoder_decoder = network.config.is_encoder_decoder
    ids, mask = padded(rows, tokenizer.pad_id, left=not encoder_decoder)
    settings = transformers.GenerationConfig(
        do_sample=False,
        num_beams=config.beam,
        num_return_sequences=1,
        max_new_tokens=config.max_new_tokens,
        min_new_tokens=config.min_new_tokens,
        length_penalty=config.length_penalty,
        early_stopping=True,
        no_repeat_ngram_size=config.no_repeat_ngram_size,
        repetition_penalty=1.0,
        eos_token_id=tokenizer.eos_id,
        pad_token_id=tokenizer.pad_id,
        decoder_start_token_id=network.config.decoder_start_token_id if encoder_decoder else None,
    )
    with torch.no_grad(), without_generation_defaults(network):
        output = network.generate(input_ids=ids, attention_mask=mask, generation_config=settings)
    generated = output[:, 1:] if encoder_decoder else output[:, ids.shape[1] :]
    return [until_eos(row.tolist(), tokenizer.eos_id) for row in generated]


def until_eos(tokens: list[int], eos_id: int) -> list[int]:
    return tokens[: tokens.index(eos_id)] if eos_id in tokens else tokens


def decoding_inputs(
    model: HFBackbone, tokenizer: FamilyTokenizer
) -> tuple[list[list[int]], list[list[int]] | None, list[list[int]]]:
    """Our prefixes and encoder inputs (from the layout), and the reference's rows (from the raw ids
    and the family tokenizer's own special tokens)."""
    layout = build_layout(SETTINGS, tokenizer, (), model)
    sources = [source for source, _ in encoded_pairs(tokenizer)]
    prefixes = [layout.prefix(source) for source in sources]
    if model.kind == DECODER:
        return prefixes, None, [[tokenizer.eos_id, *source] for source in sources]
    encoder_inputs = [layout.encoder_input(source) for source in sources]
    with_specials = [list(ids) for ids in tokenizer.tokenizer([s for s, _ in PAIRS])["input_ids"]]
    return prefixes, encoder_inputs, with_specials


class StepRecorder:
    """The beam-search steps our search ran (``_advance`` is called once per sentence and step)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.steps: list[int] = []
        advance = decoding._advance

        def recording(sentence: int, scores: Any, flat_ids: Any, vocab: int, step: int, *rest: Any) -> Any:
            self.steps.append(step)
            return advance(sentence, scores, flat_ids, vocab, step, *rest)

        monkeypatch.setattr(decoding, "_advance", recording)


# ------------------------------------------------------------------------------------------ 1. loss, grads


@pytest.mark.parametrize(
    ("family", "loss_on"),
    [(family, "all") for family in FAMILIES] + [(f, "target") for f in DECODER_FAMILIES],
)
def test_loss_and_gradients_equal_transformers_own_loss(
    family: str, loss_on: str, families: Callable[[str], Family]
) -> None:
    tokenizer, network = families(family)
    ours, reference = copy.deepcopy(network).train(), copy.deepcopy(network).train()
    model = HFBackbone(ours)
    settings = LayoutSettings(SETTINGS.max_source_positions, SETTINGS.max_positions, loss_on)
    batch = collated_batch(tokenizer, build_layout(settings, tokenizer, (), model))
    assert len(set(batch["attention_mask"].sum(1).tolist())) == len(PAIRS), "rows of unequal lengths"
    module = PromptFineTuner(model, OptimSettings(), base_vocab_size=tokenizer.vocab_size)
    total, count = module(batch)
    (total / count).backward()

    eos, pairs = tokenizer.eos_id, encoded_pairs(tokenizer)
    if model.kind == DECODER:  # the whole sequence; transformers shifts the labels itself
        input_ids, attention_mask = padded([[eos, *s, *t, eos] for s, t in pairs], tokenizer.pad_id)
        labels = input_ids.masked_fill(attention_mask == 0, IGNORE_INDEX)
        if loss_on == "target":
            for row, (source, _) in enumerate(pairs):
                labels[row, : 1 + len(source)] = IGNORE_INDEX
    else:  # the encoder reads the source in the tokenizer's own specials; the decoder starts as configured
        rows = [list(ids) for ids in tokenizer.tokenizer([s for s, _ in PAIRS])["input_ids"]]
        input_ids, attention_mask = padded(rows, tokenizer.pad_id)
        labels, _ = padded([[*t, eos] for _, t in pairs], IGNORE_INDEX)
    expected = reference(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
    expected.backward()

    predicted = labels[:, 1:] if model.kind == DECODER else labels  # what transformers' loss counts
    assert int(count) == int((predicted != IGNORE_INDEX).sum())
    torch.testing.assert_close(total / count, expected, rtol=1e-6, atol=0.0)
    ours_params, reference_params = dict(ours.named_parameters()), dict(reference.named_parameters())
    assert ours_params.keys() == reference_params.keys()
    for name, param in ours_params.items():
        other = reference_params[name].grad
        assert (param.grad is None) == (other is None), name
        if other is not None:
            torch.testing.assert_close(
                param.grad, other, rtol=1e-5, atol=1e-7, msg=lambda text, name=name: f"{name}: {text}"
            )


# ------------------------------------------------------------------------------------------ 2. decoding


def check_rows_alone(
    model: HFBackbone,
    prefixes: list[list[int]],
    encoder_inputs: list[list[int]] | None,
    config: GenerationSettings,
    tokenizer: FamilyTokenizer,
    batched: list[list[int]],
) -> None:
    """Each row decoded alone gives what it gave in the (padded) batch."""
    for row, output in enumerate(batched):
        alone = None if encoder_inputs is None else [encoder_inputs[row]]
        assert ours(model, tokenizer, [prefixes[row]], alone, config) == [output], f"row {row}"


def ours(model, tokenizer, prefixes, encoder_inputs, config: GenerationSettings) -> list[list[int]]:
    """Our decoding of the rows (``encoder_inputs``: an encoder-decoder's sources)."""
    return generate(
        model,
        prefixes,
        config,
        eos_id=tokenizer.eos_id,
        pad_id=tokenizer.pad_id,
        encoder_inputs=encoder_inputs,
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_equals_transformers_generate(family: str, sharpened: Callable[[str], Sharpened]) -> None:
    """Batched (left-padded prefixes, right-padded encoder inputs), each row equals itself decoded
    alone and transformers' greedy search on the same rows, alone and batched."""
    setup = sharpened(family)
    tokenizer, model = setup.tokenizer, setup.model
    prefixes, encoder_inputs, reference_rows = decoding_inputs(model, tokenizer)
    config = GenerationSettings(max_new_tokens=NEW_TOKENS, min_new_tokens=2)
    batched = ours(model, tokenizer, prefixes, encoder_inputs, config)
    assert len({len(output) for output in batched}) > 1, "rows ending at different steps"
    check_rows_alone(model, prefixes, encoder_inputs, config, tokenizer, batched)
    for row, output in enumerate(batched):
        assert reference_generate(setup.network, [reference_rows[row]], tokenizer, config) == [output]
    assert reference_generate(setup.network, reference_rows, tokenizer, config) == batched


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(("min_new_tokens", "no_repeat_ngram_size"), [(4, 0), (2, 2)])
def test_beam_search_equals_transformers_generate(
    family: str,
    min_new_tokens: int,
    no_repeat_ngram_size: int,
    sharpened: Callable[[str], Sharpened],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beam 3, length penalty 1, with a minimum length or banned repeats; transformers with
    ``early_stopping=True`` (a sentence is done once it has ``beam`` finished hypotheses, as in fairseq).

    Both searches take the ``2 * beam`` best candidates, finish those ending in ``</s>`` only within the
    first ``beam`` ranks with score ``sum(log p) / (generated tokens incl. </s>) ** length_penalty``,
    and ban tokens by setting their log-probability to -inf without renormalising. They differ only at
    the length limit: there fairseq (and we) force ``</s>`` on every live hypothesis, adding its
    log-probability, while transformers finishes the best ``beam`` candidates whatever their last
    token. So the test asserts that our search never reached that last step (every sentence had
    ``beam`` finished hypotheses before it); up to there the two must agree exactly."""
    setup = sharpened(family)
    tokenizer, model = setup.tokenizer, setup.model
    prefixes, encoder_inputs, reference_rows = decoding_inputs(model, tokenizer)
    config = GenerationSettings(
        max_new_tokens=NEW_TOKENS,
        min_new_tokens=min_new_tokens,
        no_repeat_ngram_size=no_repeat_ngram_size,
        beam=3,
        length_penalty=1.0,
    )
    recorder = StepRecorder(monkeypatch)
    batched = ours(model, tokenizer, prefixes, encoder_inputs, config)
    assert max(recorder.steps) < config.max_new_tokens - 1, "the search reached the length limit"
    assert reference_generate(setup.network, reference_rows, tokenizer, config) == batched
    check_rows_alone(model, prefixes, encoder_inputs, config, tokenizer, batched)


# ------------------------------------------------------------------------------ 3. checkpoint defaults


def test_checkpoint_generation_defaults_do_not_reach_our_decoding(
    families: Callable[[str], Family], tmp_path: Path
) -> None:
    """BART-derived checkpoints ship ``num_beams=4, no_repeat_ngram_size=3`` (and BartConfig a forced
    end token): saved and reloaded, the network decodes greedily under our config all the same."""
    tokenizer, network = families("bart")
    HFBackbone(network).save_pretrained(tmp_path)
    loaded = load_network(tmp_path)
    assert isinstance(loaded, HFBackbone)
    shipped = loaded.network.generation_config
    assert (shipped.num_beams, shipped.no_repeat_ngram_size) == (4, 3)
    prefixes, encoder_inputs, reference_rows = decoding_inputs(loaded, tokenizer)
    config = GenerationSettings(max_new_tokens=12, beam=1)
    decoded = ours(loaded, tokenizer, prefixes, encoder_inputs, config)
    assert decoded == reference_generate(loaded.network, reference_rows, tokenizer, config)
    # The defaults matter: transformers' own decoding under them gives other outputs.
    ids, mask = padded(reference_rows, tokenizer.pad_id)
    with torch.no_grad():
        own = loaded.network.generate(input_ids=ids, attention_mask=mask, max_new_tokens=12)
    assert [until_eos(row.tolist(), tokenizer.eos_id) for row in own[:, 1:]] != decoded


# ---------------------------------------------------------------------------------------- 4. save, reload


@pytest.mark.parametrize("family", FAMILIES)
def test_save_pretrained_reloads_the_network_or_the_given_weights(
    family: str, families: Callable[[str], Family], tmp_path: Path
) -> None:
    tokenizer, network = families(family)
    model = HFBackbone(network)
    batch = collated_batch(tokenizer, build_layout(SETTINGS, tokenizer, (), model))
    original = {key: value.clone() for key, value in model.state_dict().items()}
    model.save_pretrained(tmp_path / "same")
    same = load_network(tmp_path / "same").eval()
    with torch.no_grad():
        assert torch.equal(same.batch_logits(batch), model.batch_logits(batch))

    # Averaged checkpoints arrive as a state dict of new tensors, one per key (tied weights included).
    state = {
        key: value * 0.5 + 0.25 if value.is_floating_point() else value for key, value in original.items()
    }
    model.save_pretrained(tmp_path / "averaged", state)
    averaged = load_network(tmp_path / "averaged")
    assert isinstance(averaged, HFBackbone)
    reloaded = averaged.state_dict()
    assert reloaded.keys() == state.keys()
    for key, value in state.items():
        assert torch.equal(reloaded[key], value), key
    output = averaged.network.get_output_embeddings().weight
    assert output is averaged.input_embeddings().weight, "the output projection stays tied"
    for key, value in model.state_dict().items():
        assert torch.equal(value, original[key]), f"{key}: saving changed the live network"


# ------------------------------------------------------------------------------------------ 5. prompts


@pytest.mark.parametrize("family", DECODER_FAMILIES)
def test_soft_prompt_trains_only_its_rows(
    family: str, families: Callable[[str], Family], shared_data: Path
) -> None:
    """``train_only_prompt``: a few optimizer steps (Lightning, as fine-tuning runs them) change the
    soft prompt's rows of the tied embedding and nothing else, bit for bit."""
    tokenizer = FamilyTokenizer(family_tokenizer(family, shared_data, TEXTS))  # its own: tokens get added
    model = HFBackbone(copy.deepcopy(families(family)[1]))
    base = tokenizer.vocab_size
    prompt = prompt_tokens(PromptSettings(kind="soft", length=3), tokenizer)
    assert tokenizer.add_tokens(prompt.new_tokens) == 3
    assert fit_embeddings(model, tokenizer.vocab_size) == 3 and model.vocab_size == base + 3
    split = training_split(tokenizer, build_layout(SETTINGS, tokenizer, prompt.ids, model))
    plan = [MicroBatch((index,), int(split.predicted[index])) for index in range(len(split))]
    module = PromptFineTuner(
        model, OptimSettings(lr=1e-2, warmup_updates=1), base_vocab_size=base, train_only_prompt=True
    )
    embedding = model.input_embeddings().weight
    assert model.network.get_output_embeddings().weight is embedding, "the output projection is tied"
    before = {name: param.detach().clone() for name, param in module.model.named_parameters()}
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=len(plan),
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, train_dataloaders=DataLoader(split, batch_sampler=plan, collate_fn=already_collated))
    assert trainer.global_step == len(plan)
    for name, param in module.model.named_parameters():
        if param is embedding:
            assert torch.equal(param[:base], before[name][:base])
            assert (param[base:] != before[name][base:]).any(dim=1).all(), "every prompt row trained"
        else:
            assert torch.equal(param, before[name]), name


@pytest.mark.parametrize("family", FAMILIES)
def test_soft_prompts_need_a_decoder_only_backbone(family: str, families: Callable[[str], Family]) -> None:
    model = HFBackbone(families(family)[1])
    check_prompt_fits(PromptSettings(kind="hard", text="the relation is"), model)
    check_prompt_fits(PromptSettings(kind="none"), model)
    if model.kind == DECODER:
        check_prompt_fits(PromptSettings(kind="soft"), model)
        return
    assert model.kind == ENCODER_DECODER
    with pytest.raises(ValueError, match=r"prompt=soft.*prompt=hard.*prompt=none"):
        check_prompt_fits(PromptSettings(kind="soft"), model)


# ------------------------------------------------------------------------------------------ 6. layers


@pytest.mark.parametrize("family", FAMILIES)
def test_block_classes_are_the_family_layers(family: str, families: Callable[[str], Family]) -> None:
    module_name, counts = BLOCKS[family]
    module = importlib.import_module(module_name)
    network = families(family)[1]
    classes = HFBackbone(network).block_classes
    assert sorted(cls.__name__ for cls in classes) == sorted(counts)
    for cls in classes:
        assert cls is getattr(module, cls.__name__)
        assert sum(type(layer) is cls for layer in network.modules()) == counts[cls.__name__]


def test_a_padded_embedding_table_fine_tunes_with_a_hard_prompt(
    tmp_path: Path, shared_data: Path, token_cache: Path
) -> None:
    """T5 checkpoints pad their table (32,128 rows for 32,100 ids): the padding rows are not a prompt
    the tokenizer lacks (as extra rows of a BioGPT are), so the run builds and no row is added."""
    tokenizer = family_tokenizer("t5", shared_data)
    network = family_network("t5", tokenizer)
    network.resize_token_embeddings(len(tokenizer) + 28, mean_resizing=False)
    network.save_pretrained(str(tmp_path / "t5"))
    tokenizer.save_pretrained(str(tmp_path / "t5"))
    overrides = [f"model.init={tmp_path / 't5'}", "prompt=hard", "prompt.text='relations:'", "task=ddi"]
    run = build_finetuning(
        run_settings(compose_train(tmp_path / "run", shared_data, overrides, cache_dir=token_cache))
    )
    assert run.module.model.vocab_size == len(tokenizer) + 28 == run.tokenizer.vocab_size + 28
    assert run.datamodule.layout is not None and run.datamodule.layout.encoder is not None


@pytest.mark.parametrize("family", ["gpt2", "t5"])
def test_a_lightning_checkpoint_of_a_transformers_backbone_loads_alone(
    family: str, families: Callable[[str], Family], tmp_path: Path
) -> None:
    """What a run's ``.ckpt`` records (``checkpoint_entries`` and the module's ``model.*`` weights) is
    enough to rebuild the network: ``load_network`` gives the same logits."""
    tokenizer, network = families(family)
    backbone = HFBackbone(copy.deepcopy(network)).eval()
    state = {f"model.{name}": value for name, value in backbone.state_dict().items()}
    torch.save({"state_dict": state, **backbone.checkpoint_entries()}, tmp_path / "run.ckpt")
    loaded = load_network(tmp_path / "run.ckpt").eval()
    assert isinstance(loaded, HFBackbone) and loaded.family == family
    ids = torch.tensor([tokenizer.encode("aspirin and headache")])
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if family == "t5":
        batch |= {"encoder_ids": ids, "encoder_mask": torch.ones_like(ids)}
    with torch.no_grad():
        torch.testing.assert_close(loaded.batch_logits(batch), backbone.batch_logits(batch), rtol=0, atol=0)
