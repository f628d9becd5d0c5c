"""The settings of ``task=custom``: a frozen dataclass whose fields are the ``task`` block's keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS: tuple[str, ...] = ("relation", "classification", "qa")
CORPUS_FORMATS: tuple[str, ...] = ("bigbio", "brat", "bioc", "pubtator", "jsonl", "csv")
RELATION_TARGET_FORMATS: tuple[str, ...] = ("rel-is", "svo", "is-of", "structured", "study")
MENTIONS: tuple[str, ...] = ("first", "longest", "study")
UNITS: tuple[str, ...] = ("document", "passage")
LOWERCASE: tuple[str, ...] = ("none", "names", "all")
MATCHES: tuple[str, ...] = ("exact", "lower")
CUSTOM_SPLITS: tuple[str, ...] = ("train", "valid", "test")
# What a required key of the config still holds when the command line left it unset (OmegaConf's "???").
MISSING = "???"
# The study's generic relation clause and its instruction (DS-PT-IFT's ChemProt and DDI wording).
STUDY_CLAUSE = "the relation between {head} and {tail} is {label}"
STUDY_INSTRUCTION = "Find all instances of relations in the following passage:"


def _choice(option: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"task.{option}={value!r}: expected one of {', '.join(valid)}")


def _strings(option: str, value: Any) -> tuple[str, ...] | None:
    """A list option as a tuple of strings (Hydra gives lists; a bare string is one item)."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"task.{option}={value!r}: expected a list of strings")
    return tuple(items)


@dataclass(frozen=True, kw_only=True)
class CustomTaskSettings:
    """A user's corpus: where its splits are, how to read them and how to render their examples.

    ``kind``: relation extraction, document classification or question answering. ``format``: the
    exchange format (None: detected from the files). ``train``/``valid``/``test``: a file, a directory
    or a glob each; a missing ``valid`` is ``valid_fraction`` of the training records drawn with
    ``split_seed``. Relations: ``target_format`` (the paper's ``rel-is``, ``svo``, ``is-of``,
    ``structured`` or the study's ``study`` template with ``instruction`` and ``clause``), ``verbalize``
    (type -> words; default the type lower-cased with ``_`` as a space), ``mention`` (which mention
    names a concept), ``relation_types``/``entity_types`` (filters), ``symmetric`` (undirected types),
    ``empty_target`` (the target of a unit without relations), ``unit`` (document or passage),
    ``lowercase`` (``names``: argument names, ``all``: names and text, as the release's relation tasks),
    ``deduplicate`` (drop a repeated (head, type, tail) of a unit). Classification and QA: the fields
    of a JSONL or CSV record (``id_field``, ``text_field``, ``label_field``, ``label_separator``) and
    the closed label or answer set (``labels``, ``answers``; None: every gold one of the corpus).
    ``match``: how scoring compares names and labels (``exact``, or ``lower``: case and whitespace
    folded), set from ``eval.match``. ``data_dir`` is the run's data directory, kept so that every
    task's settings name where its data are; the corpus paths themselves are ``train``/``valid``/``test``.
    """

    kind: str
    train: str
    name: str = "custom"
    data_dir: str = ""
    format: str | None = None
    valid: str | None = None
    test: str | None = None
    splits: tuple[str, ...] = CUSTOM_SPLITS
    valid_fraction: float = 0.2
    split_seed: int = 0
    target_format: str = "rel-is"
    verbalize: dict[str, str] | None = None
    instruction: str = STUDY_INSTRUCTION
    clause: str = STUDY_CLAUSE
    mention: str = "first"
    relation_types: tuple[str, ...] | None = None
    entity_types: tuple[str, ...] | None = None
    symmetric: tuple[str, ...] = ()
    empty_target: str = "there are no relations."
    unit: str = "document"
    lowercase: str = "none"
    deduplicate: bool = False
    id_field: str = "id"
    text_field: str = "text"
    label_field: str = "label"
    label_separator: str | None = None
    labels: tuple[str, ...] | None = None
    answers: tuple[str, ...] | None = None
    match: str = "exact"

    def normalize(self, text: str) -> str:
        """``text`` as ``match`` compares it: as it is, or lower-cased with whitespace runs folded."""
        return " ".join(text.lower().split()) if self.match == "lower" else text

    def __post_init__(self) -> None:
        if self.name != "custom":
            raise ValueError(f"CustomTaskSettings is the settings of task 'custom', not {self.name!r}")
        if self.kind == MISSING:
            raise ValueError(f"task.kind is not set: one of {', '.join(KINDS)}")
        _choice("kind", self.kind, KINDS)
        if self.format is not None:
            _choice("format", self.format, CORPUS_FORMATS)
        for split in self.splits:
            _choice("splits", split, CUSTOM_SPLITS)
        if self.kind == "relation":
            _choice("target_format", self.target_format, RELATION_TARGET_FORMATS)
        _choice("mention", self.mention, MENTIONS)
        _choice("unit", self.unit, UNITS)
        _choice("lowercase", self.lowercase, LOWERCASE)
        _choice("match", self.match, MATCHES)
        if not 0 < self.valid_fraction < 1:
            raise ValueError(f"task.valid_fraction={self.valid_fraction}: expected a fraction in (0, 1)")
        if not self.train or self.train == MISSING:
            raise ValueError("task.train is not set: name the training file, directory or glob")
        for option in ("relation_types", "entity_types", "symmetric", "labels", "answers"):
            object.__setattr__(self, option, _strings(option, getattr(self, option)))
        if self.symmetric is None:
            object.__setattr__(self, "symmetric", ())
        verbalize = dict(self.verbalize or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in verbalize.items()):
            raise ValueError(f"task.verbalize={self.verbalize!r}: expected a mapping of type -> words")
        object.__setattr__(self, "verbalize", verbalize)

    def words(self, relation_type: str) -> str:
        """How a relation type reads in a target: ``verbalize``'s words, else lower case with spaces."""
        return (self.verbalize or {}).get(relation_type, relation_type.lower().replace("_", " "))

    def path(self, split: str) -> str | None:
        """The configured path of ``split`` (None: not given)."""
        return {"train": self.train, "valid": self.valid, "test": self.test}[split]
