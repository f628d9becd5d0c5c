"""CSV and TSV (``.tsv``: tab-separated) with a header row: one record a row.

Classification rows have ``task.id_field`` (optional: the row's 0-based index is its id),
``task.text_field`` and ``task.label_field``, several labels in one cell split on
``task.label_separator``; QA rows have ``question``, ``context`` and ``answer`` columns.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from biogpt.data.custom.document import CorpusRead, Defect, LabelledText, Location, Question
from biogpt.data.custom.settings import CustomTaskSettings
from biogpt.errors import DataFileError
from biogpt.textfiles import read_text


def read_delimited(files: list[Path], config: CustomTaskSettings) -> CorpusRead:
    """Every row of every ``.csv``/``.tsv`` file; a row with an empty required cell is skipped, a file
    without the required columns raises naming them."""
    if config.kind == "relation":
        raise DataFileError(
            "task.format=csv holds classification or QA records; relations need brat, BioC, PubTator, "
            "BigBIO or JSONL"
        )
    required = (
        (config.text_field, config.label_field)
        if config.kind == "classification"
        else ("question", "context", "answer")
    )
    result = CorpusRead()
    for path in files:
        if path.suffix.lower() not in (".csv", ".tsv"):
            continue
        with io.StringIO(read_text(path, "UTF-8 text"), newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            columns = reader.fieldnames or []
            missing = [name for name in required if name not in columns]
            if missing:
                raise DataFileError.at(
                    path, 1, f"header {columns} lacks {missing}", f"columns {', '.join(required)}"
                )
            for index, row in enumerate(reader):
                location = Location(str(path), reader.line_num)
                empty = [name for name in required if not (row.get(name) or "").strip()]
                if empty:
                    result.skipped.append(Defect(location, f"empty {', '.join(empty)}"))
                    continue
                doc_id = row.get(config.id_field) or str(index)
                if config.kind == "classification":
                    raw = row[config.label_field]
                    parts = raw.split(config.label_separator) if config.label_separator else [raw]
                    labels = tuple(part.strip() for part in parts)
                    result.records.append(LabelledText(doc_id, row[config.text_field], labels, location))
                else:
                    result.records.append(
                        Question(doc_id, row["question"], (row["context"],), row["answer"], location)
                    )
    return result
