"""The LitServe API: the extraction engine behind ``POST /extract``, with dynamic batching.

Each inference worker (a process LitServe spawns) loads the :class:`Extractor` once in :meth:`setup`.
LitServe gathers up to ``serve.max_batch_size`` requests (waiting ``serve.batch_timeout`` seconds for
them); :meth:`ExtractionAPI.predict` hands all their texts to the engine at once per decoding setting
(the engine batches them by length, as ``evaluate.py`` and ``biogpt-extract`` do), so an answer is
exactly what ``biogpt-extract`` gives for the same text and settings. Bodies reach the worker already
checked (:mod:`biogpt.serving.guard`): :meth:`decode_request` only types them.

What the worker knows and the HTTP side shows (``/health``'s model, task, device and dtype, and the
page's example text) is sent back once on ``status``, a queue the API carries into the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import litserve as ls

from biogpt.extraction.corpus import extraction_row
from biogpt.extraction.engine import Extraction, ExtractionSettings, Extractor
from biogpt.generation import GenerationSettings
from biogpt.serving.examples import example_text
from biogpt.serving.requests import ExtractRequest, parse_request
from biogpt.serving.settings import ServeSettings

logger = logging.getLogger(__name__)


# A result is biogpt-extract's row of the text (one serialization), less the row's place in its corpus.
RESULT_FIELDS = ("generated", "relations", "label", "parse_failed", "truncated")


def extraction_json(extraction: Extraction) -> dict[str, Any]:
    """One text's answer: the generated text, its relations (or label) and its flags."""
    row = extraction_row(extraction, position=0)
    return {field: row[field] for field in RESULT_FIELDS}


class ExtractionAPI(ls.LitAPI):
    """``POST /extract`` over one :class:`Extractor` per worker."""

    def __init__(self, extraction: ExtractionSettings, serve: ServeSettings, status: Any) -> None:
        super().__init__(
            max_batch_size=serve.max_batch_size, batch_timeout=serve.batch_timeout, api_path="/extract"
        )
        self.extraction = extraction
        self.serve = serve
        self.status = status
        self.extractor: Extractor | None = None

    def setup(self, device: str) -> None:
        self.extractor = Extractor.load(self.extraction)
        description = self.extractor.describe()
        example = example_text(self.extractor.task.task, self.serve.data_dir)
        self.status.put({"describe": description, "example": example})
        logger.info("serving %s on %s", description, device)

    @property
    def base_generation(self) -> GenerationSettings:
        return self.extraction.generation

    # LitServe reads decode_request's parameter annotation as the endpoint's body type and
    # encode_response's return annotation as its response model: left out, it hands over the request's
    # JSON (already checked by the guard) and sends the dict as it is. LitAPI's own batch and unbatch
    # keep the requests as a list, one answer per request.
    def decode_request(self, request):
        return parse_request(request, self.base_generation, self.serve)

    def predict(self, x: ExtractRequest | list[ExtractRequest]) -> Any:
        batched = isinstance(x, list)
        answers = self._extract(x if batched else [x])
        return answers if batched else answers[0]

    def _extract(self, requests: Sequence[ExtractRequest]) -> list[list[Extraction]]:
        """The requests' extractions, in order: the texts of all requests that share their decoding
        settings go to the engine in one call."""
        assert self.extractor is not None, "setup() loads the extractor"
        answers: list[list[Extraction]] = [[] for _ in requests]
        groups: dict[GenerationSettings, list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault(request.generation, []).append(index)
        for generation, members in groups.items():
            texts = [text for index in members for text in requests[index].texts]
            extractions = iter(self.extractor.extract(texts, generation=generation))
            for index in members:
                answers[index] = [next(extractions) for _ in requests[index].texts]
        return answers

    def encode_response(self, output):
        """One request's answer: the envelope of its texts' results."""
        return {"results": [extraction_json(extraction) for extraction in output]}
