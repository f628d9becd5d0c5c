"""Where every dataset and vocabulary comes from, and the SHA-256 each of its files must have.

A dataset is a set of files laid out under the data directory exactly as the readers open them
(``<data_dir>/<DATASET>/raw/...``, ``<data_dir>/vocab/...``, ``<data_dir>/DDI2013/DDICorpus/...``);
each file names its official public source: a file URL pinned to a repository commit, or a member
of a pinned archive. A mirror (a site's shared copy, see :mod:`biogpt.data.files.install`) has that same
layout, so a mirror file is ``<mirror>/<path>``.

The pins are in ``datasets.sha256`` beside this module, in ``sha256sum`` format, so
``sha256sum -c <package>/biogpt/data/files/datasets.sha256`` run in a data directory checks it with no
Python at all. They were computed from a copy of the releases whose files are byte-identical to the
sources below: the git blob id of each file equals the blob at the pinned commit of its repository
(checked against the repositories' indexed snapshots; the DDI-2013 XML files against the members of
``DDICorpus-2013.zip``, whose own SHA-256 is pinned below). A file without a pin is *unpinned*:
it is fetched but cannot be verified, which the commands say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from urllib.parse import quote

PINS_FILE = "datasets.sha256"
ALL = "all"


@dataclass(frozen=True)
class Archive:
    """An archive some of a dataset's files are extracted from, and where it waits while extracted."""

    url: str
    sha256: str
    path: str


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset.

    ``path`` is relative to the data directory; ``url`` is its official source, or, for a member of
    the dataset's archive, ``member`` is its name inside it. ``sha256`` is None where no verified
    copy was available to pin it (the commands report such a file as unpinned).
    """

    path: str
    sha256: str | None
    url: str | None = None
    member: str | None = None


@dataclass(frozen=True)
class Dataset:
    """A downloadable unit: its files, their source and terms, as the README's Data table shows them."""

    name: str
    title: str
    source: str
    license: str
    files: tuple[DataFile, ...]
    archive: Archive | None = None


def github_raw(repo: str, commit: str, path: str) -> str:
    """The raw.githubusercontent.com URL of ``path`` in ``repo`` at ``commit`` (immutable content)."""
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{quote(path)}"


@cache
def pins() -> dict[str, str]:
    """Path relative to the data directory -> pinned SHA-256, from ``datasets.sha256``."""
    text = resources.files(__package__).joinpath(PINS_FILE).read_text(encoding="utf-8")
    return {path: digest for digest, path in (line.split("  ", 1) for line in text.splitlines() if line)}


def _repository_files(repo: str, commit: str, files: Mapping[str, str]) -> tuple[DataFile, ...]:
    """Files of a repository at a commit: destination path -> path in the repository."""
    return tuple(
        DataFile(destination, pins().get(destination), url=github_raw(repo, commit, source))
        for destination, source in files.items()
    )


def _same_names(destination: str, source: str, names: Iterable[str]) -> dict[str, str]:
    """``destination/name`` -> ``source/name`` for files that keep their name."""
    return {f"{destination}/{name}": f"{source}/{name}" for name in names}


# Source repositories, pinned to commits. Every repository path named below exists at its commit in
# the repository's indexed snapshot with exactly the pinned content (same git blob id as the verified
# copy); the raw.githubusercontent.com URLs themselves were never requested from here (no network).
# microsoft/BioGPT: the release's data/ folder (MIT). 648f7d6 is the newest commit; the data files
# last changed in 00d0421 (KD-DTI) and bfed3d3 (the rest).
BIOGPT_REPO, BIOGPT_COMMIT = "microsoft/BioGPT", "648f7d6503c038b44e70b7510bf431c7be94e891"
PUBMEDQA_REPO, PUBMEDQA_COMMIT = "pubmedqa/pubmedqa", "1cbae8e92f72f20c8d3747cbb3bf5bc53554d997"
DCE_REPO, DCE_COMMIT = "allenai/drug-combo-extraction", "219717e8c2f7139584c605e211acbd86b26c93dd"
STUDY_REPO, STUDY_COMMIT = "bionlproc/DS-PT-IFT", "2f2e85aa09f6c6ae73fb7f96b684df0b6edce696"
DDI_CORPUS_REPO, DDI_CORPUS_COMMIT = "isegura/DDICorpus", "819b0fa538ed83ab2a8b4f5417bba3c03249b7f3"
# OpenAI's own hosting of the GPT-2 encoder files (tiktoken's gpt2 encoding reads
# az://openaipublic/gpt-2/encodings/main); confirmed only indirectly: other projects check these
# URLs against the same SHA-256 as the pins.
GPT2_URL = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main"

_SPLITS = ("train", "valid", "test")
_CDR_CORPUS = ("CDR_TrainingSet.PubTator.txt", "CDR_DevelopmentSet.PubTator.txt", "CDR_TestSet.PubTator.txt")
_CHEMPROT = {
    "chemprot_training": ("abstracts", "entities", "gold_standard", "relations"),
    "chemprot_development": ("abstracts", "entities", "gold_standard", "relations"),
    "chemprot_test_gs": ("abstracts_gs", "entities_gs", "gold_standard", "relations_gs"),
}
_DDI_CORPUS = "DDI2013/DDICorpus/"


def _vocab() -> Dataset:
    files = {
        f"vocab/{name}/{part}": f"data/{folder}/{part}"
        for name, folder in (("biogpt", "BioGPT"), ("biogpt-large", "BioGPT-Large"))
        for part in ("bpecodes", "dict.txt")
    }
    return Dataset(
        "vocab",
        "BioGPT and BioGPT-Large vocabularies (bpecodes, dict.txt)",
        f"{BIOGPT_REPO} data/ at {BIOGPT_COMMIT[:7]}",
        "MIT",
        _repository_files(BIOGPT_REPO, BIOGPT_COMMIT, files),
    )


def _gpt2() -> Dataset:
    files = (("vocab/gpt2/vocab.json", "encoder.json"), ("vocab/gpt2/merges.txt", "vocab.bpe"))
    return Dataset(
        "gpt2",
        "GPT-2 byte-level BPE (vocab.json, merges.txt), for the GPT-2 family backbones",
        "OpenAI, openaipublic.blob.core.windows.net/gpt-2/encodings/main",
        "MIT (GPT-2 release)",
        tuple(DataFile(path, pins().get(path), url=f"{GPT2_URL}/{name}") for path, name in files),
    )


def _bc5cdr() -> Dataset:
    raw = "data/BC5CDR/raw"
    files = _same_names("BC5CDR/raw", raw, [f"{s}{kind}.json" for s in _SPLITS for kind in ("", ".entities")])
    # The release keeps the corpus files one folder deeper, as in the BioCreative corpus zip.
    files |= _same_names("BC5CDR/raw/CDR_Data", f"{raw}/CDR_Data/CDR.Corpus.v010516", _CDR_CORPUS)
    files |= _same_names("BC5CDR/raw/CDR_Data", f"{raw}/CDR_Data", ["README.txt"])
    return Dataset(
        "bc5cdr",
        "BC5CDR chemical-disease relations (BioGPT release + BioCreative V CDR PubTator corpus)",
        f"{BIOGPT_REPO} data/BC5CDR at {BIOGPT_COMMIT[:7]}",
        "MIT (release); CDR corpus: public domain (NLM)",
        _repository_files(BIOGPT_REPO, BIOGPT_COMMIT, files),
    )


def _kd_dti() -> Dataset:
    files = _repository_files(
        BIOGPT_REPO,
        BIOGPT_COMMIT,
        _same_names("KD-DTI/raw", "data/KD-DTI/raw", [f"{s}.json" for s in _SPLITS]),
    )
    # train.json (12k documents) is in the release's tree (git blob 9c327c4d560218fb8036fc4141c3973928b1f374)
    # but no copy was at hand to compute its SHA-256: unpinned until someone checks a download.
    return Dataset(
        "kd_dti",
        "KD-DTI drug-target interactions (BioGPT release)",
        f"{BIOGPT_REPO} data/KD-DTI at {BIOGPT_COMMIT[:7]}",
        "MIT (release); KD-DTI's own terms: see bert-nmt/BERT-DTI (DrugBank-derived)",
        files,
    )


def _biogpt_split_files(name: str, title: str, folder: str, suffix: str, license: str) -> Dataset:
    files = _same_names(f"{folder}/raw", f"data/{folder}/raw", [f"{s}{suffix}" for s in _SPLITS])
    return Dataset(
        name,
        title,
        f"{BIOGPT_REPO} data/{folder} at {BIOGPT_COMMIT[:7]}",
        license,
        _repository_files(BIOGPT_REPO, BIOGPT_COMMIT, files),
    )


def _pubmedqa() -> Dataset:
    files = _same_names("PubMedQA/raw", "data", ["ori_pqal.json", "test_ground_truth.json"])
    return Dataset(
        "pubmedqa",
        "PubMedQA PQA-L (1,000 expert-labelled questions) and the official test labels",
        f"{PUBMEDQA_REPO} data/ at {PUBMEDQA_COMMIT[:7]}",
        "MIT",
        _repository_files(PUBMEDQA_REPO, PUBMEDQA_COMMIT, files),
    )


def _dce() -> Dataset:
    names = ["final_train_set.jsonl", "final_test_set.jsonl", "label2idx.json", "README.md"]
    return Dataset(
        "dce",
        "Drug Combination Extraction (Tiktinsky et al. 2022)",
        f"{DCE_REPO} data/ at {DCE_COMMIT[:7]}",
        "MIT (dataset card)",
        _repository_files(DCE_REPO, DCE_COMMIT, _same_names("DCE/raw", "data", names)),
    )


def _chemprot() -> Dataset:
    files = {
        f"ChemProt/raw/{folder}/{folder.removesuffix('_gs')}_{part}.tsv": (
            f"data/raw_data/ChemProt/{folder}/{folder.removesuffix('_gs')}_{part}.tsv"
        )
        for folder, parts in _CHEMPROT.items()
        for part in parts
    }
    return Dataset(
        "chemprot",
        "BioCreative VI ChemProt (abstracts, entities, gold standard, relations)",
        f"{STUDY_REPO} data/raw_data/ChemProt at {STUDY_COMMIT[:7]}",
        "BioCreative VI ChemProt corpus terms (its Readme.pdf); re-hosted by the DS-PT-IFT study",
        _repository_files(STUDY_REPO, STUDY_COMMIT, files),
    )


def _ddi2013() -> Dataset:
    # The corpus zip as published in the corpus's repository; its members are the DDICorpus/ tree
    # (the DrugNER test folder and .DS_Store files are not extracted).
    archive = Archive(
        github_raw(DDI_CORPUS_REPO, DDI_CORPUS_COMMIT, "DDICorpus-2013.zip"),
        "87fc63e32ebce20d9841c372e0c594ec72d60882ab5621550ca73c3eaf80ab60",
        "DDI2013/DDICorpus-2013.zip",
    )
    members = tuple(
        DataFile(path, digest, member=path.removeprefix("DDI2013/"))
        for path, digest in pins().items()
        if path.startswith(_DDI_CORPUS)
    )
    readme = _repository_files(DDI_CORPUS_REPO, DDI_CORPUS_COMMIT, {"DDI2013/README.original": "README"})
    return Dataset(
        "ddi2013",
        "DDI-2013 corpus XML (Train, Test for DDI Extraction), read by the domain-specificity study",
        f"{DDI_CORPUS_REPO} DDICorpus-2013.zip at {DDI_CORPUS_COMMIT[:7]}",
        "CC BY-NC 4.0 (non-commercial; cite the corpus papers)",
        members + readme,
        archive,
    )


@cache
def datasets() -> dict[str, Dataset]:
    """Every dataset by name, in the order the commands list them."""
    found = [
        _vocab(),
        _bc5cdr(),
        _kd_dti(),
        _biogpt_split_files(
            "ddi",
            "DDI relations (BioGPT release of DDI-2013)",
            "DDI",
            ".json",
            "MIT (release); DDI corpus: CC BY-NC 4.0",
        ),
        _pubmedqa(),
        _biogpt_split_files("hoc", "Hallmarks of Cancer (BioGPT release)", "HoC", ".tsv", "MIT (release)"),
        _dce(),
        _chemprot(),
        _ddi2013(),
        _gpt2(),
    ]
    return {dataset.name: dataset for dataset in found}


def select(names: Iterable[str]) -> list[Dataset]:
    """The datasets ``names`` name (``all``: every one) in registry order; an unknown name lists the valid."""
    known = datasets()
    wanted = set(names)
    unknown = sorted(wanted - set(known) - {ALL})
    if unknown:
        raise ValueError(f"unknown dataset {', '.join(unknown)}; valid names: {', '.join(known)}, {ALL}")
    return [dataset for name, dataset in known.items() if ALL in wanted or name in wanted]
