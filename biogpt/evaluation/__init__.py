"""Scoring of generated texts with the official evaluation procedures of each downstream task.

``score_predictions(config, generations)`` parses one generation per test example as the BioGPT
release's postprocess.py scripts do and computes the release's (or, for BC5CDR, the BioCreative V
CDR kit's) metrics; ``write_scores`` saves them with per-example records and release-format files.
"""

from biogpt.evaluation.base import Scores
from biogpt.evaluation.scoring import score_predictions, write_scores

__all__ = ["Scores", "score_predictions", "write_scores"]
