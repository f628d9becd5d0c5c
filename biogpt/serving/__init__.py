"""``biogpt-serve``: the extraction engine (:mod:`biogpt.extraction`) behind HTTP, on LitServe.

A LitServe API (:mod:`biogpt.serving.api`) loads the :class:`~biogpt.extraction.engine.Extractor` once
per inference worker and answers ``POST /extract`` through it, batching concurrent requests (no second
inference path: the answers are the engine's). Requests are checked before they reach the batching
queue (:mod:`biogpt.serving.requests`, :mod:`biogpt.serving.guard`), so bad input gets a 4xx naming the
field and the limit and never reaches a worker. The app (:mod:`biogpt.serving.app`) adds ``GET
/health``, ``GET /example`` and the page at ``GET /`` (plain files under ``page/``, no build step, no CDN).
"""
