"""The BioGPT pre-training corpus: titles and abstracts of PubMed items, one version per PMID.

``python -m biogpt.data.pubmed --out DIR INPUT...`` reads PubMed baseline and update files (``*.xml``,
``*.xml.gz``; a directory stands for the files directly in it) and writes a Hugging Face dataset with
the string columns ``pmid``, ``title``, ``abstract``, ``text`` (what the model reads, see
:attr:`Citation.text`) and ``date_revised`` (ISO date). :func:`iter_documents` yields the same
documents for the pre-training pipeline; :func:`write_dataset` stores any such iterable.

Which version wins. Input files are ordered by file name, which is NLM's release order
(``pubmed24n0001`` ... ``pubmed24n1219`` baseline, then the update files continue the numbering), and
records by their position in the file. The latest event of a PMID decides: a later citation replaces
earlier ones, a later ``DeleteCitation`` removes it, a citation after a deletion brings it back. PMID
``Version`` attributes are ignored. Only then is the paper's filter applied: an item whose latest
version has no abstract is dropped, not replaced by an older version that had one.

Revision cut-off. ``revised_before`` (the paper used items updated before 2021) removes citation
versions revised on or after that date before versions are compared, so an item revised after the
cut-off falls back to an earlier input version when one exists, as in a snapshot taken at the
cut-off; items without any date pass. Deletions carry no date and always apply, so for an exact
snapshot pass only the files released before the cut-off.

Counts (:class:`PubmedCounts`). ``read`` counts well-formed citation versions; each is either
``revised_after_cutoff``, or superseded by a later version of its PMID (``duplicates``), or the
latest version of a PMID whose latest event is a deletion (``deleted``), or the latest version of a
kept PMID, ``kept`` or ``without_abstract``; the five add up to ``read``. Deletions of PMIDs that no
input file contains are not counted. ``malformed`` counts skipped records and file tails.

Memory and scale (~1,200 baseline files, ~36M citations). Two passes, neither holding documents:
1. every file is parsed once, in order (memory flat per file, see :mod:`biogpt.data.pubmed.records`);
   citations that could be kept (within the cut-off, with an abstract) are appended in batches to
   one Arrow stream file in a temporary directory (``TMPDIR``; about the size of the final dataset),
   and every event updates ``latest``: a numpy int32 array indexed by PMID holding the row of the
   PMID's latest candidate in that file (rows follow input order, so this is the (file, position)
   order), or a code for "deleted", "latest version has no abstract", "unseen". PMIDs are dense
   integers below ~40M, so this costs 4 bytes a PMID, ~160-180 MB for all of PubMed (briefly twice
   that while the array grows), where a dict of Python ints would need several GB;
2. the Arrow file is read back batch by batch and a row is kept when ``latest[pmid]`` is its row
   number, which is vectorised and needs no re-parsing.
"""

from __future__ import annotations

import argparse
import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from biogpt.data.pubmed.records import Citation, Deletion, Malformed, MalformedXMLError, iter_records
from biogpt.errors import MissingFileError
from biogpt.textfiles import output_directory

__all__ = ["Citation", "PubmedCounts", "input_files", "iter_documents", "main", "write_dataset"]

logger = logging.getLogger(__name__)

_SUFFIXES = (".xml", ".xml.gz")
_BATCH_ROWS = 10_000
_UNSEEN, _DELETED, _NO_ABSTRACT = -1, -2, -3
_CITATION_COLUMNS = ("pmid", "title", "abstract", "date_revised")
_CANDIDATE_SCHEMA = pa.schema([(name, pa.string()) for name in _CITATION_COLUMNS])
_DATASET_SCHEMA = pa.schema(
    [(name, pa.string()) for name in ("pmid", "title", "abstract", "text", "date_revised")]
)


@dataclass
class PubmedCounts:
    """What happened to the citations read; see the module docstring for the exact definitions."""

    read: int = 0
    kept: int = 0
    without_abstract: int = 0
    deleted: int = 0
    duplicates: int = 0
    malformed: int = 0
    revised_after_cutoff: int = 0

    def summary(self) -> str:
        return "\n".join(
            f"{field.name.replace('_', ' ')}: {getattr(self, field.name)}" for field in fields(self)
        )


def input_files(inputs: Iterable[str | Path]) -> list[Path]:
    """The PubMed files named by ``inputs`` (directories expanded), in NLM release order (by name)."""
    files: list[Path] = []
    for path in map(Path, inputs):
        if path.is_dir():
            files.extend(child for child in path.iterdir() if child.name.endswith(_SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            raise MissingFileError(f"no such PubMed file or directory: {path}")
    return sorted(files, key=lambda file: (file.name, str(file)))


def iter_documents(
    inputs: Iterable[str | Path],
    *,
    keep_labels: bool = False,
    revised_before: date | None = None,
    skip_malformed: bool = False,
    counts: PubmedCounts | None = None,
) -> Iterator[Citation]:
    """Yield the latest version of every kept PubMed item, in input order.

    Parses every input file before the first document comes out (pass 1), then streams. ``counts``,
    when given, is filled in before the first document is yielded. ``keep_labels`` writes structured
    abstracts as ``LABEL: text``; ``skip_malformed`` counts malformed records instead of raising
    :class:`~biogpt.data.pubmed.records.MalformedXMLError`.
    """
    counts = PubmedCounts() if counts is None else counts
    cutoff = None if revised_before is None else revised_before.isoformat()
    with TemporaryDirectory(prefix="pubmed-") as tmp:
        candidates = Path(tmp) / "candidates.arrow"
        with pa.ipc.new_stream(str(candidates), _CANDIDATE_SCHEMA) as writer:
            latest = _index(input_files(inputs), writer, keep_labels, skip_malformed, cutoff, counts)
        yield from _latest_versions(candidates, latest)


def write_dataset(documents: Iterable[Citation], out_dir: str | Path) -> int:
    """Save ``documents`` as a Hugging Face dataset at ``out_dir`` (``save_to_disk``); returns its length.

    Rows go through an Arrow file in a temporary directory in batches, so memory stays flat. Without
    any document nothing is written and 0 is returned: datasets cannot load a saved empty dataset.
    """
    from datasets import Dataset  # deferred: importing datasets takes seconds, iterating needs none of it

    with TemporaryDirectory(prefix="pubmed-") as tmp:
        arrow_path = str(Path(tmp) / "corpus.arrow")
        written = 0
        with pa.ipc.new_stream(arrow_path, _DATASET_SCHEMA) as writer:
            rows = iter(documents)
            while batch := list(itertools.islice(rows, _BATCH_ROWS)):
                columns = [[getattr(document, name) for document in batch] for name in _DATASET_SCHEMA.names]
                writer.write_batch(pa.record_batch(columns, schema=_DATASET_SCHEMA))
                written += len(batch)
        if written:
            Dataset.from_file(arrow_path).save_to_disk(str(out_dir))
        return written


class _LatestIndex:
    """PMID -> row of its latest version in the candidates file, or one of the negative state codes."""

    def __init__(self) -> None:
        self.codes = np.full(0, _UNSEEN, dtype=np.int32)

    def set(self, pmid: int, code: int) -> None:
        if pmid >= len(self.codes):
            # 1/8 headroom: geometric growth for ascending PMIDs without doubling a 160 MB array.
            grown = np.full(pmid + pmid // 8 + 1, _UNSEEN, dtype=np.int32)
            grown[: len(self.codes)] = self.codes
            self.codes = grown
        self.codes[pmid] = code

    def delete(self, pmid: int) -> None:
        if pmid < len(self.codes) and self.codes[pmid] != _UNSEEN:
            self.codes[pmid] = _DELETED

    def count(self, code: int) -> int:
        return int(np.count_nonzero(self.codes == code))


def _index(
    files: Sequence[Path],
    writer: pa.ipc.RecordBatchStreamWriter,
    keep_labels: bool,
    skip_malformed: bool,
    cutoff: str | None,
    counts: PubmedCounts,
) -> _LatestIndex:
    """Pass 1: parse every file, write the candidate versions, record each PMID's latest event."""
    latest = _LatestIndex()
    pending: list[Citation] = []
    candidate_rows = 0
    for path in files:
        logger.info("reading %s", path)
        for record in iter_records(path, keep_labels=keep_labels, skip_malformed=skip_malformed):
            if isinstance(record, Malformed):
                counts.malformed += 1
                logger.warning("skipped: %s", record.message)
            elif isinstance(record, Deletion):
                for pmid in record.pmids:
                    latest.delete(int(pmid))
            else:
                counts.read += 1
                if cutoff is not None and record.date_revised is not None and record.date_revised >= cutoff:
                    counts.revised_after_cutoff += 1
                elif not record.abstract:
                    latest.set(int(record.pmid), _NO_ABSTRACT)
                else:
                    latest.set(int(record.pmid), candidate_rows)
                    candidate_rows += 1
                    pending.append(record)
                    if len(pending) == _BATCH_ROWS:
                        _write_candidates(writer, pending)
        _write_candidates(writer, pending)
    counts.kept = int(np.count_nonzero(latest.codes >= 0))
    counts.without_abstract = latest.count(_NO_ABSTRACT)
    counts.deleted = latest.count(_DELETED)
    distinct = counts.kept + counts.without_abstract + counts.deleted
    counts.duplicates = counts.read - counts.revised_after_cutoff - distinct
    return latest


def _write_candidates(writer: pa.ipc.RecordBatchStreamWriter, pending: list[Citation]) -> None:
    if pending:
        columns = [[getattr(citation, name) for citation in pending] for name in _CITATION_COLUMNS]
        writer.write_batch(pa.record_batch(columns, schema=_CANDIDATE_SCHEMA))
        pending.clear()


def _latest_versions(candidates: Path, latest: _LatestIndex) -> Iterator[Citation]:
    """Pass 2: the candidate rows that are their PMID's latest event."""
    first_row = 0
    with pa.memory_map(str(candidates)) as source:
        for batch in pa.ipc.open_stream(source):
            pmids = pc.cast(batch.column("pmid"), pa.int64()).to_numpy()
            rows = np.arange(first_row, first_row + batch.num_rows)
            first_row += batch.num_rows
            kept = batch.filter(pa.array(latest.codes[pmids] == rows))
            yield from itertools.starmap(
                Citation, zip(*(kept.column(name).to_pylist() for name in _CITATION_COLUMNS), strict=True)
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m biogpt.data.pubmed",
        description="Build the PubMed title+abstract pre-training corpus as a Hugging Face dataset.",
    )
    parser.add_argument(
        "inputs", nargs="+", type=Path, metavar="INPUT", help="PubMed .xml/.xml.gz files or directories"
    )
    parser.add_argument(
        "--out", required=True, type=output_directory, help="output directory (datasets save_to_disk)"
    )
    parser.add_argument(
        "--keep-labels", action="store_true", help="write structured abstracts as 'LABEL: text'"
    )
    parser.add_argument(
        "--revised-before",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="drop versions revised on/after",
    )
    parser.add_argument("--skip-malformed", action="store_true", help="skip and count malformed records")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    counts = PubmedCounts()
    documents = iter_documents(
        args.inputs,
        keep_labels=args.keep_labels,
        revised_before=args.revised_before,
        skip_malformed=args.skip_malformed,
        counts=counts,
    )
    try:
        written = write_dataset(documents, args.out)
    except (MalformedXMLError, FileNotFoundError) as error:
        parser.exit(1, f"{parser.prog}: error: {error}\n")
    print(counts.summary())
    if not written:
        parser.exit(1, f"{parser.prog}: error: no document kept, nothing written to {args.out}\n")
