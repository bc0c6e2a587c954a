"""Scoring a chunk in whichever process holds it: a worker process of `loan-risk score`, or the
reading process itself when the workers are busy. Each process loads the bundle once, on its
first chunk, with CatBoost imported without pandas (lambda_app.core.catboost_lean): a worker
process starts with what scoring needs and nothing else (no S3 client, no file writers)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from lambda_app.core.catboost_lean import import_catboost_without_pandas

if TYPE_CHECKING:
    from lambda_app.core.scoring import Scorer

_scorers: dict[str, Scorer] = {}


def score(model_dir: str, table: pa.Table, typed: bool, explain: bool) -> pa.Table:
    """lambda_app.portfolio.chunk.score_chunk with this process's scorer for the bundle."""
    if model_dir not in _scorers:
        import_catboost_without_pandas()
        from lambda_app.core.scoring import Scorer

        _scorers[model_dir] = Scorer.load(Path(model_dir))
    from lambda_app.portfolio.chunk import score_chunk

    return score_chunk(_scorers[model_dir], table, typed=typed, explain=explain)
