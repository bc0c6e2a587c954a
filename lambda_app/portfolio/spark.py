"""Portfolio re-scoring on Apache Spark: `score_dataframe` scores a DataFrame with mapInPandas,
through the same chunk scoring as `loan-risk score` (so the same scores, bands and errors).

Each executor's Python process loads the bundle once (a module-level cache; Spark reuses its
Python workers between tasks) from a local directory or an s3:// MODEL_URI, which every
executor fetches into its own cache directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from lambda_app.core.model_source import resolve
from lambda_app.core.schema import FEATURES
from lambda_app.core.scoring import Scorer
from lambda_app.portfolio.chunk import score_chunk
from lambda_app.portfolio.source import ID

CACHE_DIR = "/tmp/model-cache"
_scorers: dict[str, Scorer] = {}


def scorer_for(model_uri: str) -> Scorer:
    """This process's scorer for the bundle, loaded on first use."""
    if model_uri not in _scorers:
        _scorers[model_uri] = Scorer.load(resolve(model_uri, CACHE_DIR))
    return _scorers[model_uri]


def result_ddl(keys: list[tuple[str, str]], explain: bool) -> str:
    columns = [f"`{name}` {kind}" for name, kind in keys]
    columns += ["risk_score double", "risk_band string", "percentile double"]
    columns += ["reasons string"] if explain else []
    return ", ".join([*columns, "errors string"])


def score_dataframe(df: Any, model_uri: str, explain: bool = False) -> Any:
    """The input's key columns (`id` when it has one, else every column it has outside the
    schema; the schema's own columns when it has none) with risk_score, risk_band, percentile,
    reasons (explain) and errors. String columns are validated as text (a CSV read without
    schema inference: the CLI's CSV rules, an empty or null cell is empty text); typed columns
    (Parquet) as typed values."""
    present = [c for c in FEATURES if c in df.columns]
    if not present:
        raise ValueError(f"the DataFrame has none of the applicant schema's columns ({', '.join(FEATURES[:3])}, ...)")
    others = [c for c in df.columns if c not in FEATURES]
    keys = [ID] if ID in df.columns else others or present
    types = dict(df.dtypes)
    text = all(types[c] == "string" for c in present)
    ddl = result_ddl([(k, types[k]) for k in keys], explain)

    def score_batches(frames: Iterator[Any]) -> Iterator[Any]:
        scorer = scorer_for(model_uri)
        for frame in frames:
            table = pa.Table.from_pandas(frame[present], preserve_index=False)
            if text:
                table = pa.table({c: table.column(c).cast(pa.string()).fill_null("") for c in present})
            scored = score_chunk(scorer, table, typed=not text, explain=explain).to_pandas()
            for position, key in enumerate(keys):
                scored.insert(position, key, frame[key].to_numpy())
            yield scored

    return df.select(*dict.fromkeys(keys + present)).mapInPandas(score_batches, schema=ddl)


def read(spark: Any, uri: str) -> Any:
    """A portfolio as a DataFrame: Parquet typed, CSV as text (header, no inference)."""
    if uri.rstrip("/").lower().endswith((".parquet", ".pq")) or Path(uri).is_dir():
        return spark.read.parquet(uri)
    return spark.read.option("header", True).option("inferSchema", False).csv(uri)


def write(df: Any, uri: str) -> None:
    if uri.rstrip("/").lower().endswith((".parquet", ".pq")):
        df.write.mode("overwrite").parquet(uri)
    else:
        df.write.mode("overwrite").option("header", True).csv(uri)
