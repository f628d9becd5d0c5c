"""The serving job (``biogpt-serve``): the composed ``serve.yaml`` as typed settings, then the service.

The model, its task and the decoding settings are the extraction engine's
(:class:`~biogpt.extraction.engine.ExtractionSettings`, built from the same keys as ``biogpt-extract``'s,
by its function); how the service batches, what a request may ask and where it listens are
:class:`~biogpt.serving.settings.ServeSettings`.
"""

from __future__ import annotations

from omegaconf import DictConfig

from biogpt.experiment.config.settings import extraction_settings, plain, settings
from biogpt.extraction.engine import Extractor
from biogpt.optional import require_litserve
from biogpt.serving.settings import ServeSettings


def serve_settings(cfg: DictConfig) -> ServeSettings:
    return settings(ServeSettings, plain(cfg.serve), host=cfg.host, port=cfg.port, data_dir=str(cfg.data_dir))


def serve(cfg: DictConfig) -> None:
    """Serve the model until interrupted; a source that holds no model, or a model without a task to
    apply, ends the command here, in one line, before the workers start."""
    require_litserve("biogpt-serve")
    from biogpt.serving.app import serve as run

    extraction = extraction_settings(cfg)
    Extractor.check(extraction)
    run(extraction, serve_settings(cfg))
