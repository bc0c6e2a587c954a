"""The Spark path in local[2]: the same scores, bands and errors as `loan-risk score` on the same rows."""

from __future__ import annotations

import csv
import io
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_app.portfolio.cli import main as score_file
from tests.lambda_app.servers import ROOT

pyspark = pytest.importorskip("pyspark", reason="pyspark is in the dev extra: make install")
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("no Java runtime (make java installs Debian's openjdk-17-jre-headless)", allow_module_level=True)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    # The executors' Python is this one, importing this checkout.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("loan-risk-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _cli_results(path: Path, bundle_dir: Path, tmp_path: Path) -> dict[str, tuple[str, str, str, str]]:
    out = tmp_path / "cli.csv"
    assert score_file(["--in", str(path), "--out", str(out), "--model", str(bundle_dir), "--workers", "1"]) == 0
    return {
        r["id"]: (r["risk_score"], r["risk_band"], r["percentile"], r["errors"])
        for r in csv.DictReader(io.StringIO(out.read_text()))
        if r["id"]
    }


def _number(x: Any) -> str:
    return "" if x is None else repr(float(x))


def test_spark_scores_a_csv_as_the_cli_does(spark: Any, portfolio_csv: Path, bundle_dir: Path, tmp_path: Path) -> None:
    from lambda_app.portfolio.spark import read, score_dataframe

    # The CLI reports the malformed line without an id; Spark reads it as a row of empty cells.
    frame = read(spark, str(portfolio_csv)).filter("id != 'A-bad'")
    rows = score_dataframe(frame.repartition(3), str(bundle_dir)).collect()
    got = {
        r["id"]: (_number(r["risk_score"]), r["risk_band"] or "", _number(r["percentile"]), r["errors"]) for r in rows
    }
    expected = {
        k: (_number(s or None), b, _number(p or None), e)
        for k, (s, b, p, e) in _cli_results(portfolio_csv, bundle_dir, tmp_path).items()
    }
    assert got == expected
    assert sum(1 for v in got.values() if v[3]) == 3  # the broken rows, each with its reason


def test_spark_submit_script_writes_parquet(spark: Any, portfolio_csv: Path, bundle_dir: Path, tmp_path: Path) -> None:
    from lambda_app.portfolio.spark_job import main

    out = tmp_path / "scores.parquet"
    assert main(["--in", str(portfolio_csv), "--out", str(out), "--model", str(bundle_dir), "--explain"]) == 0
    result = spark.read.parquet(str(out))
    assert result.columns == ["id", "risk_score", "risk_band", "percentile", "reasons", "errors"]
    scored = result.filter("risk_score IS NOT NULL")
    assert scored.count() == 1500 - 3 and scored.filter("reasons IS NULL OR reasons = ''").count() == 0
