"""Learning a BPE vocabulary from a corpus: the files, their use by the tokenizer, the CLI and its errors."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from tokenizers import Tokenizer
from tokenizers.models import BPE
from tokenizers.pre_tokenizers import Split
from tokenizers.trainers import BpeTrainer

from biogpt.tokenizer import BioGPTTokenizer, moses
from biogpt.tokenizer.learn import LearnStats, learn_vocabulary, main
from biogpt.tokenizer.vocab import END_OF_WORD, SPECIAL_TOKENS, read_fairseq

MERGES = 200

_SUBJECTS = (
    "Patients with type 2 diabetes",
    "HeLa cells",
    "The TNF-α inhibitor",
    "Plasma IL-6 levels",
    "Mice lacking BRCA1",
    "Co-administration of warfarin and aspirin",
    "CD4+ T-cell counts",
    "Serum 25(OH)D concentrations",
)
_VERBS = ("increased", "reduced", "was associated with", "did not affect", "inhibited", "predicted")
_OBJECTS = (
    "insulin resistance (p < 0.05)",
    "the expression of p53 and Bcl-2",
    "the risk of bleeding",
    "apoptosis via caspase-3 activation",
    "mean ± SD: 3.2 ± 0.4 mg/dL",
    "hepatic CYP3A4 activity",
)
_TAILS = (
    "in 45% of cases.",
    "after 12 weeks, e.g. in the high-dose group.",
    "compared with placebo [12].",
    "as reported by Smith et al. in 2019.",
    "; however, the patients' outcomes were similar.",
    'in the "low-risk" cohort (n = 128).',
    "vs. controls & `sham` animals...",
    "at 5 μg/kg | 10 μg/kg.",
)


def _sentences(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}"
        for _ in range(count)
    ]


@pytest.fixture(scope="module")
def corpus(shared_data: Path) -> list[str]:
    """40 generated abstracts of 2 sentences, two real DDI abstracts, and one literal special token."""
    sentences = _sentences(80, seed=0)
    documents = [" ".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2)]
    ddi = json.loads((shared_data / "DDI" / "raw" / "train.json").read_text(encoding="utf-8"))
    documents += [ddi[key]["abstract"] for key in sorted(ddi)[:2]]
    documents.append("Aspirin </s> reduced fever in 3 of 4 children.")
    return documents


@pytest.fixture(scope="module")
def learned(corpus: list[str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LearnStats]:
    stats = LearnStats()
    out_dir = learn_vocabulary(corpus, MERGES, tmp_path_factory.mktemp("learned") / "vocab", stats=stats)
    return out_dir, stats


@pytest.fixture(scope="module")
def tokenizer(learned: tuple[Path, LearnStats]) -> BioGPTTokenizer:
    return BioGPTTokenizer.from_pretrained(learned[0])


def _moses_words(text: str) -> list[str]:
    return moses.MosesTokenizer().tokenize(text)


def _plain(corpus: list[str]) -> list[str]:
    """The documents without a literal special token (those are split off before Moses)."""
    return [text for text in corpus if not any(token in text for token in SPECIAL_TOKENS)]


def _files(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in ("bpecodes", "dict.txt")}


def _dict_entries(directory: Path) -> list[tuple[str, int]]:
    lines = (directory / "dict.txt").read_text(encoding="utf-8").splitlines()
    return [(token, int(count)) for token, count in (line.split(" ") for line in lines)]


# ------------------------------------------------------------------------------------------ the files
def test_learned_files_load_and_the_corpus_needs_no_unk(
    corpus: list[str], learned: tuple[Path, LearnStats], tokenizer: BioGPTTokenizer
) -> None:
    out_dir, stats = learned
    vocabulary = read_fairseq(out_dir)
    assert len(vocabulary.merges) == stats.merges == MERGES
    # fastBPE's applybpe asserts that no two merges form the same token
    assert len({first + second for first, second in vocabulary.merges}) == MERGES
    assert tokenizer.vocab_size == stats.vocab_size == len(SPECIAL_TOKENS) + stats.dictionary
    assert stats.documents == len(corpus)
    assert stats.words == sum(len(_moses_words(part)) for text in corpus for part in text.split("</s>"))
    for text in corpus:
        assert tokenizer.unk_id not in tokenizer.encode(text), text


def test_dict_counts_are_the_piece_frequencies_on_the_corpus(
    corpus: list[str], learned: tuple[Path, LearnStats], tokenizer: BioGPTTokenizer
) -> None:
    special_ids = {tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}
    recount = Counter(
        tokenizer.id_to_token(index)
        for text in corpus
        for index in tokenizer.encode(text)
        if index not in special_ids
    )
    entries = _dict_entries(learned[0])
    assert entries == sorted(entries, key=lambda entry: (-entry[1], entry[0]))
    pieces = read_fairseq(learned[0]).pieces[len(SPECIAL_TOKENS) :]  # dict.txt order, </w> spelling
    assert {piece: count for piece, (_, count) in zip(pieces, entries, strict=True)} == {
        piece: recount[piece] for piece in pieces
    }
    assert set(recount) <= set(pieces)
    # entries the corpus never produces are characters or merge results that BPE always merges further
    unused = {piece for piece in pieces if recount[piece] == 0}
    merged = {first + second for first, second in read_fairseq(learned[0]).merges}
    assert all(len(piece.removesuffix(END_OF_WORD)) == 1 or piece in merged for piece in unused)
    words = [word for text in _plain(corpus) for word in _moses_words(text)]
    forms = {char for word in words for char in word[:-1]} | {word[-1] + END_OF_WORD for word in words}
    assert forms <= set(pieces)


def test_bpecodes_counts_are_the_merge_applications(
    corpus: list[str], learned: tuple[Path, LearnStats]
) -> None:
    lines = (learned[0] / "bpecodes").read_text(encoding="utf-8").splitlines()
    counts = [int(line.split(" ")[2]) for line in lines]
    assert min(counts) >= 1
    # the first merge applies to the characters: its count is the frequency of its pair
    first, second = lines[0].split(" ")[:2]
    words = [word for text in corpus for part in text.split("</s>") for word in _moses_words(part)]
    spelled = [" ".join([*word[:-1], word[-1] + END_OF_WORD]) for word in words]
    assert counts[0] == sum(f" {symbols} ".count(f" {first} {second} ") for symbols in spelled)
    # every application of a merge removes one symbol: pieces of n characters took n - 1 merges
    pieces = read_fairseq(learned[0]).pieces[len(SPECIAL_TOKENS) :]
    entries = _dict_entries(learned[0])
    merged = sum(
        count * (len(piece.removesuffix(END_OF_WORD)) - 1)
        for piece, (_, count) in zip(pieces, entries, strict=True)
    )
    assert sum(counts) == merged


def test_tiny_corpus_gives_exact_files_and_stops_when_pairs_run_out(tmp_path: Path) -> None:
    stats = LearnStats()
    learn_vocabulary(["ab ab ab b"], 10, tmp_path / "one", stats=stats)
    assert stats.merges == 1  # (a, b</w>) is the only pair
    assert (tmp_path / "one" / "bpecodes").read_text() == "a b</w> 3\n"
    assert (tmp_path / "one" / "dict.txt").read_text() == "ab 3\nb 1\na 0\na@@ 0\nb@@ 0\n"
    learn_vocabulary(["ab ab ab b"], 10, tmp_path / "none", min_count=4, stats=stats)
    assert stats.merges == 0
    assert (tmp_path / "none" / "bpecodes").read_text() == ""
    assert (tmp_path / "none" / "dict.txt").read_text() == "b 4\na@@ 3\na 0\nb@@ 0\n"
    assert BioGPTTokenizer.from_pretrained(tmp_path / "none").encode("ab ab") == [5, 4, 5, 4]


def test_learning_is_deterministic(
    corpus: list[str], learned: tuple[Path, LearnStats], tmp_path: Path
) -> None:
    """tokenizers breaks count ties by token ids, which it would number in hash order without our fix."""
    first = learn_vocabulary(corpus, MERGES, tmp_path / "first")
    second = learn_vocabulary(reversed(corpus), MERGES, tmp_path / "second")
    assert _files(first) == _files(second) == _files(learned[0])


# ------------------------------------------------------------------------------------------ tokenization
def test_segmentation_equals_the_trained_tokenizers_model(corpus: list[str], tmp_path: Path) -> None:
    """Oracle: a ``tokenizers`` BPE trained here on the same Moses words segments every document into
    the pieces our tokenizer produces from the written files, and has the same merges."""
    texts = _plain(corpus)
    words = [word for text in texts for word in _moses_words(text)]
    final_symbols = sorted({word[-1] + END_OF_WORD for word in words})  # fixed ids: see the determinism test
    alphabet = {char for word in words for char in word}
    oracle = Tokenizer(BPE(end_of_word_suffix=END_OF_WORD))
    oracle.pre_tokenizer = Split(" ", behavior="removed")
    trainer = BpeTrainer(
        vocab_size=len(final_symbols) + len(alphabet) + MERGES,
        special_tokens=final_symbols,
        end_of_word_suffix=END_OF_WORD,
        show_progress=False,
    )
    oracle.train_from_iterator([" ".join(_moses_words(text)) for text in texts], trainer)
    oracle_merges = [tuple(merge) for merge in json.loads(oracle.to_str())["model"]["merges"]]
    out_dir = learn_vocabulary(texts, len(oracle_merges), tmp_path / "vocab")
    assert list(read_fairseq(out_dir).merges) == oracle_merges
    learned = BioGPTTokenizer.from_pretrained(out_dir)
    for text in texts:
        expected = [piece.value for word in _moses_words(text) for piece in oracle.model.tokenize(word)]
        assert [learned.id_to_token(index) for index in learned.encode(text)] == expected


def test_round_trip_as_good_as_the_released_vocabulary(
    corpus: list[str], tokenizer: BioGPTTokenizer, biogpt_vocab: Path
) -> None:
    """BPE is lossless with the learned vocabulary: decoding gives the Moses detokenization of the Moses
    tokens (which normalises some spacing, e.g. ``mg / dL``), as the release does where it has no unk."""
    released = BioGPTTokenizer.from_pretrained(biogpt_vocab)
    compared = 0
    for text in _plain(corpus):
        decoded = tokenizer.decode(tokenizer.encode(text))
        assert decoded == moses.detokenize(_moses_words(text))
        released_ids = released.encode(text)
        if released.unk_id not in released_ids:
            assert decoded == released.decode(released_ids)
            compared += 1
    assert compared >= len(_plain(corpus)) // 2
    assert tokenizer.decode(tokenizer.encode("vs. controls & `sham` animals...")).endswith(
        "`sham` animals..."
    )


# ------------------------------------------------------------------------------------------ command line
def test_cli_on_a_text_file_and_a_dataset(
    corpus: list[str], learned: tuple[Path, LearnStats], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datasets import Dataset

    half = len(corpus) // 2
    text_file = tmp_path / "corpus.txt"
    text_file.write_text("\n\n".join(corpus[:half]) + "\n", encoding="utf-8")  # blank lines are no documents
    dataset_dir = tmp_path / "dataset"
    Dataset.from_dict(
        {"pmid": [str(i) for i in range(half, len(corpus))], "text": corpus[half:]}
    ).save_to_disk(str(dataset_dir))
    capsys.readouterr()
    out_dir = tmp_path / "out"
    main(["--out", str(out_dir), "--merges", str(MERGES), str(text_file), str(dataset_dir)])
    summary = capsys.readouterr().out
    assert _files(out_dir) == _files(learned[0])
    stats = learned[1]
    assert f"documents: {len(corpus)}\n" in summary
    assert f"words: {stats.words} ({stats.distinct_words} distinct)\n" in summary
    assert f"merges learned: {MERGES}\n" in summary
    assert f"vocabulary size: {stats.vocab_size} ids" in summary
    assert f"dict.txt: {out_dir / 'dict.txt'}" in summary

    main(["--out", str(tmp_path / "few"), "--merges", "100000", str(text_file)])
    assert re.search(r"merges learned: \d+ \(of 100000 requested", capsys.readouterr().out)


@pytest.mark.parametrize(
    ("setup", "arguments", "message"),
    [
        (None, ["{tmp}/missing.txt"], "{tmp}/missing.txt: no such file or directory"),
        ("latin1", ["{tmp}/latin1.txt"], "{tmp}/latin1.txt line 2: not UTF-8 text"),
        ("plain_dir", ["{tmp}/plain"], "{tmp}/plain: not a dataset saved with save_to_disk"),
        ("blank", ["{tmp}/blank.txt"], "empty corpus: 0 documents"),
        ("blank", ["--merges", "0", "{tmp}/blank.txt"], "num_merges must be at least 1, got 0"),
        ("blank", ["--min-count", "0", "{tmp}/blank.txt"], "min_count must be at least 1, got 0"),
        ("dataset", ["--column", "abstract", "{tmp}/dataset"], "{tmp}/dataset: no column 'abstract'"),
        ("shadow", ["{tmp}/blank.txt"], "{tmp}/out: holds vocab.json, merges.txt, which would shadow"),
    ],
)
def test_cli_errors_name_their_cause(
    setup: str | None,
    arguments: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "latin1.txt").write_bytes("line one\nAsp\xe9rine\n".encode("latin-1"))
    (tmp_path / "plain").mkdir()
    (tmp_path / "blank.txt").write_text("\n  \n", encoding="utf-8")
    if setup == "dataset":
        from datasets import Dataset

        Dataset.from_dict({"text": ["a b"]}).save_to_disk(str(tmp_path / "dataset"))
    if setup == "shadow":
        (tmp_path / "out").mkdir()
        for name in ("vocab.json", "merges.txt"):
            (tmp_path / "out" / name).write_text("")
    argv = [argument.format(tmp=tmp_path) for argument in arguments]
    if "--merges" not in argv:
        argv = ["--merges", "10", *argv]
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path / "out"), *argv])
    assert exit_info.value.code == 1
    assert message.format(tmp=tmp_path) in capsys.readouterr().err


def test_api_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty corpus: 2 documents"):
        learn_vocabulary(["", "  "], 10, tmp_path)
    with pytest.raises(TypeError, match="document 2: expected text as str, got NoneType"):
        learn_vocabulary(["a", None], 10, tmp_path)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="num_merges must be at least 1"):
        learn_vocabulary(["a"], 0, tmp_path)
    assert not any(tmp_path.iterdir())


def test_a_new_word_that_stops_at_an_inner_merge_needs_no_unknown_piece(tmp_path: Path) -> None:
    """Trained only on "interactions", BPE never outputs "interacti" there, but "interaction" stops at it."""
    learn_vocabulary(["interactions"] * 5, 20, tmp_path)
    tokenizer = BioGPTTokenizer.from_pretrained(tmp_path)
    ids = tokenizer.encode("interaction interact interactions")
    assert tokenizer.unk_id not in ids
    assert tokenizer.decode(ids) == "interaction interact interactions"
