"""The ``transformers`` families' tokenizers behind :class:`~biogpt.tokenizer.family.FamilyTokenizer`.

GPT-2's raw ``vocab.json`` + ``merges.txt``, which :class:`FamilyTokenizer` builds itself with
``tokenizers``, must give the ids of ``transformers.GPT2TokenizerFast`` on every text of the five task
corpora, and give the texts back (byte-level BPE is lossless). The sequence layout relies on each
family's special tokens: none around a GPT-2 text and padding with its end-of-text (no new row), ``<s>``
... ``</s>`` around a BART text, ``...</s>`` after a T5 one; added tokens in id order that survive a
save and a load, and a fingerprint that tells a tokenizer with added tokens from one without.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import transformers
from family_models import family_tokenizer

from biogpt.data.tasks import load_task_split, make_task_settings
from biogpt.tokenizer.family import GPT2_END_OF_TEXT, FamilyTokenizer

TASKS = ("bc5cdr", "kd-dti", "ddi", "pubmedqa", "hoc")
GPT2_VOCAB_SIZE = 50_257
GPT2_EOS = 50_256


@pytest.fixture(scope="module")
def gpt2_dir(shared_data: Path) -> Path:
    return shared_data / "vocab" / "gpt2"


@pytest.fixture(scope="module")
def corpus_texts(shared_data: Path) -> list[str]:
    """Source and target of every example of every split of the five tasks that the data holds (the
    shared KD-DTI release has no train split), each distinct text once."""
    texts: dict[str, None] = {}
    for task in TASKS:
        config = make_task_settings(task, data_dir=str(shared_data))
        loaded = 0
        for split in config.splits:
            try:
                examples = load_task_split(config, split).examples
            except FileNotFoundError:
                continue
            loaded += 1
            for example in examples:
                texts[example.source] = None
                texts[example.target] = None
        assert loaded, f"{task}: no split found under {shared_data}"
    return list(texts)


@pytest.fixture(scope="module")
def gpt2_ids(gpt2_dir: Path, corpus_texts: list[str]) -> list[list[int]]:
    return FamilyTokenizer.from_pretrained(gpt2_dir).encode_batch(corpus_texts)


def test_gpt2_from_its_raw_files_gives_the_ids_of_transformers_on_the_task_corpora(
    gpt2_dir: Path, corpus_texts: list[str], gpt2_ids: list[list[int]]
) -> None:
    assert len(corpus_texts) > 10_000  # every task contributed (24,375 distinct texts of 50,452)
    reference = transformers.GPT2TokenizerFast.from_pretrained(str(gpt2_dir))
    expected = reference(corpus_texts, add_special_tokens=False)["input_ids"]
    differing = [
        text for text, ours, theirs in zip(corpus_texts, gpt2_ids, expected, strict=True) if ours != theirs
    ]
    assert differing == [], f"{len(differing)} of {len(corpus_texts)} texts differ, e.g. {differing[:3]}"


def test_gpt2_gives_every_task_text_back(
    corpus_texts: list[str], gpt2_ids: list[list[int]], gpt2_dir: Path
) -> None:
    tokenizer = FamilyTokenizer.from_pretrained(gpt2_dir)
    assert not any(GPT2_EOS in ids for ids in gpt2_ids)  # byte-level: no text needs the unknown token
    changed = [
        text for text, ids in zip(corpus_texts, gpt2_ids, strict=True) if tokenizer.decode(ids) != text
    ]
    assert changed == [], f"{len(changed)} of {len(corpus_texts)} texts change, e.g. {changed[:3]}"


def test_gpt2_adds_no_special_tokens_and_pads_with_its_end_of_text(gpt2_dir: Path, shared_data: Path) -> None:
    raw = FamilyTokenizer.from_pretrained(gpt2_dir)  # the raw vocab.json + merges.txt
    fast = FamilyTokenizer(family_tokenizer("gpt2", shared_data))  # transformers' GPT2TokenizerFast
    for tokenizer in (raw, fast):
        assert tokenizer.special_wrapping() == ((), ())
        assert tokenizer.eos_id == tokenizer.pad_id == GPT2_EOS
        assert tokenizer.tokenizer.pad_token_id is None  # padding adds no row
        assert tokenizer.vocab_size == GPT2_VOCAB_SIZE
        assert tokenizer.token_to_id(GPT2_END_OF_TEXT) == GPT2_EOS
        assert tokenizer.added_tokens == ()
        assert tokenizer.encode(" Aspirin") == [1081, 4063, 259]
    assert raw.encode_batch(["Aspirin inhibits COX-1.", ""]) == fast.encode_batch(
        ["Aspirin inhibits COX-1.", ""]
    )


def test_bart_wraps_a_text_in_its_start_and_end_tokens(shared_data: Path) -> None:
    tokenizer = FamilyTokenizer(family_tokenizer("bart", shared_data))
    bos, eos = tokenizer.tokenizer.bos_token_id, tokenizer.tokenizer.eos_token_id
    assert bos is not None and bos != eos
    assert tokenizer.special_wrapping() == ((bos,), (eos,))
    assert tokenizer.eos_id == eos and tokenizer.pad_id == tokenizer.tokenizer.pad_token_id != eos
    assert tokenizer.added_tokens == ()  # BART's specials are not added tokens of ours
    # The text itself is GPT-2's byte-level BPE.
    gpt2 = FamilyTokenizer.from_pretrained(shared_data / "vocab" / "gpt2")
    assert tokenizer.encode("Aspirin inhibits COX-1.") == gpt2.encode("Aspirin inhibits COX-1.")


def test_t5_ends_a_text_with_its_end_token(shared_data: Path) -> None:
    tokenizer = FamilyTokenizer(family_tokenizer("t5", shared_data))
    assert tokenizer.special_wrapping() == ((), (tokenizer.eos_id,))
    assert tokenizer.pad_id == tokenizer.tokenizer.pad_token_id != tokenizer.eos_id
    assert tokenizer.added_tokens == ()


def _family(family: str, shared_data: Path) -> FamilyTokenizer:
    if family == "gpt2-raw":
        return FamilyTokenizer.from_pretrained(shared_data / "vocab" / "gpt2")
    return FamilyTokenizer(family_tokenizer(family, shared_data))


@pytest.mark.parametrize("family", ["gpt2-raw", "gpt2", "bart", "t5"])
def test_added_tokens_keep_their_id_order_through_a_save_and_change_the_fingerprint(
    family: str, shared_data: Path, tmp_path: Path
) -> None:
    tokenizer = _family(family, shared_data)
    rows = tokenizer.vocab_size
    before = tokenizer.fingerprint()
    tokenizer.save_pretrained(tmp_path / "pristine")
    assert FamilyTokenizer.from_pretrained(tmp_path / "pristine").fingerprint() == before
    assert tokenizer.add_tokens(["zz-learned"]) == 1
    after_one = tokenizer.fingerprint()
    assert after_one != before
    assert tokenizer.add_tokens(["aa-learned", "mm-learned"]) == 2
    assert tokenizer.fingerprint() not in (before, after_one)
    # In id order, not alphabetical or insertion-set order.
    assert tokenizer.added_tokens == ("zz-learned", "aa-learned", "mm-learned")
    ids = [tokenizer.token_to_id(token) for token in tokenizer.added_tokens]
    assert ids == [rows, rows + 1, rows + 2] and tokenizer.vocab_size == rows + 3
    assert tokenizer.add_tokens(["aa-learned"]) == 0  # already there
    tokenizer.save_pretrained(tmp_path / "added")
    loaded = FamilyTokenizer.from_pretrained(tmp_path / "added")
    assert loaded.added_tokens == tokenizer.added_tokens
    assert [loaded.token_to_id(token) for token in loaded.added_tokens] == ids
    assert loaded.vocab_size == tokenizer.vocab_size
    assert loaded.fingerprint() == tokenizer.fingerprint()
    assert loaded.special_wrapping() == tokenizer.special_wrapping()
    assert (loaded.eos_id, loaded.pad_id) == (tokenizer.eos_id, tokenizer.pad_id)
    assert rows + 1 in loaded.encode("x aa-learned y")
