"""A saved model applied to texts and corpora: the one inference path ``biogpt-extract`` and
``biogpt-serve`` share (:mod:`~biogpt.extraction.engine`)."""

from biogpt.extraction.engine import Extraction, ExtractionSettings, Extractor, Relation

__all__ = ["Extraction", "ExtractionSettings", "Extractor", "Relation"]
