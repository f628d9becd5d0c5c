"""Id and decode parity with ``transformers.BioGptTokenizer`` on the documents of the shared corpora.

The oracle is built from the fairseq release files by a conversion written here (not by our
``save_pretrained``), so a bug in our vocabulary code cannot hide in both sides. Cost control: the
oracle's Moses step (sacremoses, most of its time) does not depend on the vocabulary, so it is memoized
per text and shared by both vocabularies; the oracle's BPE and id lookup then run per vocabulary.
"""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from biogpt.tokenizer import BioGPTTokenizer

transformers = pytest.importorskip("transformers")

SPECIAL_STRINGS = ("<s>", "<pad>", "</s>", "<unk>")
EDGE_CASES = [
    "",
    "   ",
    "\t\n\r\n",
    "tab\tseparated\nlines\r\nhere",
    "\x00\x01con\x02trol\x7f \x1c\x1d separators \x85 nel",
    "α-β interferon, γ-globulin, δ; 10 µM ± 0.5 °C",
    "中文 日本語 한국어 mixed with English",
    "emoji 😀👍🏽 🧬 and math 𝛼𝛽",
    "already &amp; escaped &lt;b&gt; &#124; &quot;x&quot;",
    "A & B | C < D > E ' F \" G [ H ]",
    "x' 'y 1' '2 'tis can't Jones' 1990's",
    "e.g. i.e. Dr. Smith et al. No. 5 pp. 12 Fig. 1A. U.S.A. the end.",
    "... a..b...c DOTMULTI 5,300 a,b ,5 5, ,a ,",
    "-a- a--b IL-6-induced x-@ @-@ http://x.org/a_b user@example.org",
    "literal </s> and <s> <unk> <pad> tokens",
    "ends with quote.'",
    "a" * 5000,
    "pneumonoultramicroscopicsilicovolcanoconiosis-" * 100,
]


def load_documents(root: Path) -> list[str]:
    """Every title, abstract, sentence, question and context of the shared task corpora."""
    documents: list[str] = []
    for split in ("train", "valid", "test"):
        for doc in json.loads((root / "BC5CDR/raw" / f"{split}.json").read_text(encoding="utf-8")).values():
            documents += [doc["title"], doc["abstract"]]
        for doc in json.loads((root / "DDI/raw" / f"{split}.json").read_text(encoding="utf-8")).values():
            documents.append(doc["abstract"])
        lines = (root / "HoC/raw" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
        documents += [line.split("\t")[0] for line in lines]
    for split in ("valid", "test"):
        for doc in json.loads((root / "KD-DTI/raw" / f"{split}.json").read_text(encoding="utf-8")).values():
            documents += [doc["title"], doc["abstract"]]
    for doc in json.loads((root / "PubMedQA/raw/ori_pqal.json").read_text(encoding="utf-8")).values():
        documents += [doc["QUESTION"], *doc["CONTEXTS"], doc["LONG_ANSWER"]]
    for path in (root / "PubMed/test_current_medline.xml.gz", root / "PubMed/pubmed-29768149.xml"):
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for element in ET.fromstring(raw).iter():
            if element.tag in ("ArticleTitle", "AbstractText"):
                documents.append("".join(element.itertext()))
    return documents


def write_reference_files(fairseq_dir: Path, out: Path) -> Path:
    """Independent fairseq -> Hugging Face conversion: ``x@@`` -> ``x``, ``x`` -> ``x</w>``."""
    out.mkdir(parents=True, exist_ok=True)
    vocab = {token: index for index, token in enumerate(SPECIAL_STRINGS)}
    for line in (fairseq_dir / "dict.txt").read_text(encoding="utf-8").splitlines():
        word = line.split(" ")[0]
        vocab[word[:-2] if word.endswith("@@") else word + "</w>"] = len(vocab)
    (out / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    codes = (fairseq_dir / "bpecodes").read_text(encoding="utf-8").splitlines()
    (out / "merges.txt").write_text(
        "".join(" ".join(line.split(" ")[:2]) + "\n" for line in codes), encoding="utf-8"
    )
    return out


@pytest.fixture(scope="module")
def documents(shared_data: Path) -> dict[str, list[str]]:
    cased = load_documents(shared_data)
    assert len(cased) > 40_000
    big = ""
    for doc in cased:
        big += doc + "\n"
        if len(big) > 1_000_000:
            break
    cased.append(big)  # a 1 MB document
    return {"cased": cased, "lower": [doc.lower() for doc in cased]}


@pytest.fixture(scope="module")
def moses_memo() -> dict[str, list[str]]:
    """Text -> the oracle's own sacremoses tokens, shared by both vocabularies."""
    return {}


@pytest.fixture(scope="module")
def references(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory, moses_memo: dict[str, list[str]]
) -> Callable[[str], transformers.BioGptTokenizer]:
    built: dict[str, transformers.BioGptTokenizer] = {}

    def get(name: str) -> transformers.BioGptTokenizer:
        if name not in built:
            directory = write_reference_files(shared_data / "vocab" / name, tmp_path_factory.mktemp(name))
            reference = transformers.BioGptTokenizer.from_pretrained(directory)
            original = reference.moses_tokenize

            def memoized(text: str, lang: str) -> list[str]:
                if text not in moses_memo:
                    moses_memo[text] = original(text, lang)
                return moses_memo[text]

            reference.moses_tokenize = memoized
            built[name] = reference
        return built[name]

    return get


def reference_ids(reference: transformers.BioGptTokenizer, text: str, lookup: dict[str, int]) -> list[int]:
    """The oracle's ids. Without special-token strings in the text its added-token split is a no-op, so
    ``_tokenize`` + id lookup is what ``__call__`` computes, at a third of the cost; ``lookup``
    (:func:`reference_lookup`) is its token -> id mapping, read once instead of two method calls a token
    (a fifth of the test's time over 2.4 million tokens)."""
    if any(special in text for special in SPECIAL_STRINGS):
        return reference(text, add_special_tokens=False)["input_ids"]
    unknown = lookup[reference.unk_token]
    return [lookup.get(token, unknown) for token in reference._tokenize(text)]


def reference_lookup(reference: transformers.BioGptTokenizer) -> dict[str, int]:
    """What ``convert_tokens_to_ids`` looks a token up in: the added tokens first, then the vocabulary
    (``_convert_token_to_id_with_added_voc``); a token in neither is the unknown token's id."""
    return {**reference.encoder, **reference.added_tokens_encoder}


@pytest.mark.parametrize("case", ["cased", "lower"])
@pytest.mark.parametrize("name", ["biogpt", "biogpt-large"])
def test_corpus_encodes_and_decodes_like_the_reference(
    shared_data: Path,
    documents: dict[str, list[str]],
    references: Callable[[str], transformers.BioGptTokenizer],
    name: str,
    case: str,
) -> None:
    """Every document, with both released vocabularies."""
    reference = references(name)
    ours = BioGPTTokenizer.from_pretrained(shared_data / "vocab" / name)
    texts = documents[case]
    lookup = reference_lookup(reference)
    mismatches = []
    for index, text in enumerate(texts):
        ids = ours.encode(text)
        if ids != reference_ids(reference, text, lookup):
            mismatches.append(index)
        # Decoding (sacremoses' detokenizer on the oracle side) on every 4th document keeps the cost down.
        elif index % 4 == 0 and ours.decode(ids) != reference.decode(ids, skip_special_tokens=True):
            mismatches.append(index)
    assert not mismatches, f"{len(mismatches)} of {len(texts)} differ, first: {texts[mismatches[0]][:300]!r}"


def test_the_reference_lookup_is_convert_tokens_to_ids(
    references: Callable[[str], transformers.BioGptTokenizer],
) -> None:
    """The shortcut of :func:`reference_ids` gives what the oracle's own method gives, unknown and
    added tokens included."""
    reference = references("biogpt")
    lookup = reference_lookup(reference)
    tokens = [token for text in EDGE_CASES for token in reference._tokenize(text)]
    tokens += ["never-a-token-of-the-vocabulary</w>", reference.pad_token, reference.eos_token]
    unknown = lookup[reference.unk_token]
    assert [lookup.get(token, unknown) for token in tokens] == reference.convert_tokens_to_ids(tokens)
    assert unknown in reference.convert_tokens_to_ids(tokens)


@pytest.fixture(scope="module")
def ours_biogpt(biogpt_vocab: Path) -> BioGPTTokenizer:
    return BioGPTTokenizer.from_pretrained(biogpt_vocab)


@pytest.mark.parametrize("text", EDGE_CASES + [text.lower() for text in EDGE_CASES])
def test_edge_cases_like_the_reference(
    ours_biogpt: BioGPTTokenizer, references: Callable[[str], transformers.BioGptTokenizer], text: str
) -> None:
    reference = references("biogpt")
    ours = ours_biogpt
    ids = ours.encode(text)
    assert ids == reference(text, add_special_tokens=False)["input_ids"]
    assert ours.decode(ids) == reference.decode(ids, skip_special_tokens=True)
