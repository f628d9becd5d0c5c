"""BioGPTTokenizer API: loading, batching, special and added tokens, saving, bad input, parallel map.

Id parity with ``transformers.BioGptTokenizer`` over the real corpora is in test_tokenizer_parity.py.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import datasets
import pytest
import torch
from tokenizers import Tokenizer

from biogpt.tokenizer import BioGPTTokenizer
from biogpt.tokenizer.parallel import tokenize_dataset

transformers = pytest.importorskip("transformers")

TEXT = "Naloxone reverses the antihypertensive effect of clonidine (5 µg per kg) in rats."
PROMPTS = [f"learned{i}" for i in range(1, 10)]


@pytest.fixture(scope="module")
def tokenizer(biogpt_vocab: Path) -> BioGPTTokenizer:
    return BioGPTTokenizer.from_pretrained(biogpt_vocab)


@pytest.fixture(scope="module")
def saved(tokenizer: BioGPTTokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Our save_pretrained output with the prompt tokens added (on a copy, not the shared fixture)."""
    directory = tmp_path_factory.mktemp("saved")
    prompted = pickle.loads(pickle.dumps(tokenizer))
    prompted.add_tokens(PROMPTS)
    prompted.save_pretrained(directory)
    return directory


def test_special_ids_and_sizes(tokenizer: BioGPTTokenizer, shared_data: Path) -> None:
    assert (tokenizer.bos_id, tokenizer.pad_id, tokenizer.eos_id, tokenizer.unk_id) == (0, 1, 2, 3)
    assert tokenizer.vocab_size == len(tokenizer) == 42_384
    large = BioGPTTokenizer.from_pretrained(shared_data / "vocab" / "biogpt-large")
    assert large.vocab_size == 57_717


def test_encode_known_words(tokenizer: BioGPTTokenizer) -> None:
    ids = tokenizer.encode("the cells.")
    assert [tokenizer.id_to_token(i) for i in ids] == ["the</w>", "cells</w>", ".</w>"]
    assert ids[0] == tokenizer.token_to_id("the</w>") == 6  # third line of dict.txt
    assert tokenizer.encode("") == [] == tokenizer.encode(" \t\n")


def test_merge_outside_the_dictionary_becomes_unk(tokenizer: BioGPTTokenizer, saved: Path) -> None:
    # The release merges "-" + "@</w>" into "-@</w>" (on the way to "@-@</w>"), a piece dict.txt lacks. A
    # BPE token ending on it must give <unk>, as the reference's `encoder.get(piece, unk)` does, and must
    # not break building the `tokenizers` model (which insists that merge results are in its vocabulary).
    reference = transformers.BioGptTokenizer.from_pretrained(saved)
    assert tokenizer.token_to_id("-@</w>") is None
    for token in ("-@", "x-@", "@-@"):
        expected = reference.convert_tokens_to_ids(reference.bpe(token).split(" "))
        assert list(tokenizer._piece_ids((token,))) == expected
    assert tokenizer._piece_ids(("-@",)) == (tokenizer.unk_id,)


def test_decode_inverts_encode(tokenizer: BioGPTTokenizer) -> None:
    assert tokenizer.decode(tokenizer.encode(TEXT)) == TEXT
    assert (
        tokenizer.decode(torch.tensor([tokenizer.eos_id, *tokenizer.encode("IL-6 & TNF-α")]))
        == "IL-6 & TNF-α"
    )
    with pytest.raises(ValueError, match="invalid token id 99999999"):
        tokenizer.decode([99_999_999])


def test_batch_call_pads_right_and_masks(tokenizer: BioGPTTokenizer) -> None:
    texts = ["short text", TEXT, ""]
    batch = tokenizer(texts)
    lengths = [len(tokenizer.encode(t)) for t in texts]
    assert batch["input_ids"].shape == (3, max(lengths))
    assert batch["input_ids"].dtype == torch.long
    for row, text, length in zip(batch["input_ids"], texts, lengths, strict=True):
        assert row[:length].tolist() == tokenizer.encode(text)
        assert (row[length:] == tokenizer.pad_id).all()
    assert batch["attention_mask"].sum(dim=1).tolist() == lengths


def test_batch_call_eos_flags_and_truncation(tokenizer: BioGPTTokenizer) -> None:
    ids = tokenizer.encode(TEXT)
    eos = tokenizer.eos_id
    batch = tokenizer([TEXT], prepend_eos=True, append_eos=True)
    assert batch["input_ids"][0].tolist() == [eos, *ids, eos]
    cut = tokenizer([TEXT, "a"], max_length=5, truncation=True, prepend_eos=True, append_eos=True)
    assert cut["input_ids"][0].tolist() == [eos, *ids[:3], eos]
    padded = tokenizer("a", max_length=6, pad_to_max_length=True)
    assert padded["input_ids"].shape == (1, 6)
    assert padded["attention_mask"].tolist() == [[1, 0, 0, 0, 0, 0]]
    with pytest.raises(ValueError, match="truncation=True"):
        tokenizer([TEXT], max_length=5)


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["list"]])
def test_non_string_input_is_a_type_error(tokenizer: BioGPTTokenizer, bad: object) -> None:
    with pytest.raises(TypeError, match=type(bad).__name__):
        tokenizer.encode(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=type(bad).__name__):
        tokenizer([bad])  # type: ignore[list-item]


def test_encode_batch_rejects_a_single_string(tokenizer: BioGPTTokenizer) -> None:
    with pytest.raises(TypeError, match="single str"):
        tokenizer.encode_batch("text")


def test_added_tokens_encode_as_single_ids(tokenizer: BioGPTTokenizer) -> None:
    prompted = pickle.loads(pickle.dumps(tokenizer))
    assert prompted.add_tokens(PROMPTS) == 9
    assert prompted.add_tokens(["learned1"]) == 0
    assert prompted.vocab_size == 42_384 + 9
    ids = prompted.encode("learned1 learned2 learned3 the cells.")
    assert ids[:3] == [42_384, 42_385, 42_386]
    assert ids[3:] == tokenizer.encode("the cells.")
    assert prompted.decode(ids) == "learned1 learned2 learned3 the cells."
    assert tokenizer.vocab_size == 42_384  # the copy did not touch the original
    with pytest.raises(ValueError, match="whitespace"):
        prompted.add_tokens(["two words"])


def test_save_pretrained_loads_in_transformers_with_same_ids(
    tokenizer: BioGPTTokenizer, saved: Path, biogpt_vocab: Path
) -> None:
    assert {"vocab.json", "merges.txt", "tokenizer_config.json", "tokenizer.json"} <= {
        p.name for p in saved.iterdir()
    }
    reference = transformers.BioGptTokenizer.from_pretrained(saved)
    ours = BioGPTTokenizer.from_pretrained(saved)
    assert ours.added_tokens == tuple(PROMPTS)
    assert len(reference) == ours.vocab_size == 42_384 + 9
    for text in [TEXT, "learned1 learned2 learned3 Is aspirin effective? x-@ -@", "α-β µM ± 5 °C"]:
        expected = reference(text, add_special_tokens=False)["input_ids"]
        assert ours.encode(text) == expected
    assert ours.vocabulary == tokenizer.vocabulary


def test_tokenizer_json_is_the_bpe_stage(tokenizer: BioGPTTokenizer, saved: Path) -> None:
    bpe = Tokenizer.from_file(str(saved / "tokenizer.json"))
    moses_tokens = "Naloxone reverses the effect of clonidine ."
    model_ids = bpe.encode(moses_tokens, add_special_tokens=False).ids
    assert model_ids == tokenizer.encode(moses_tokens)
    config = json.loads((saved / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["added_tokens_decoder"]["42384"]["content"] == "learned1"


def test_hub_id_through_the_cache_and_offline(
    saved: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(OSError, match="not in the Hugging Face cache"):
        BioGPTTokenizer.from_pretrained("microsoft/biogpt", cache_dir=tmp_path)
    # Lay the files out as the hub cache does; offline mode then resolves them without a network.
    repo = tmp_path / "models--microsoft--biogpt"
    commit = "0" * 40
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json"):
        (snapshot / name).write_bytes((saved / name).read_bytes())
    loaded = BioGPTTokenizer.from_pretrained("microsoft/biogpt", cache_dir=tmp_path)
    assert loaded.vocab_size == 42_384 + 9
    with pytest.raises(FileNotFoundError, match="not a valid hub repository id"):
        BioGPTTokenizer.from_pretrained(tmp_path / "no" / "such" / "dir")


def test_pickle_round_trip(tokenizer: BioGPTTokenizer) -> None:
    copy = pickle.loads(pickle.dumps(tokenizer))
    assert copy.encode(TEXT) == tokenizer.encode(TEXT)


def test_tokenize_dataset_in_two_processes(tokenizer: BioGPTTokenizer) -> None:
    texts = [TEXT, "", "IL-6 & TNF-α.", "Is aspirin effective?"] * 5
    dataset = datasets.Dataset.from_dict({"text": texts, "label": list(range(len(texts)))})
    out = tokenize_dataset(dataset, tokenizer, num_proc=2, batch_size=4)
    assert out["input_ids"] == [tokenizer.encode(t) for t in texts]
    assert out["label"] == list(range(len(texts)))
    only_ids = tokenize_dataset(dataset, tokenizer, remove_columns=True)
    assert only_ids.column_names == ["input_ids"]
    with pytest.raises(KeyError, match="'abstract'"):
        tokenize_dataset(dataset, tokenizer, column="abstract")
