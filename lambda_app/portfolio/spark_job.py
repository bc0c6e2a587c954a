"""spark-submit script: score a portfolio (CSV or Parquet, any path Spark reads: s3://, hdfs://, local).

  spark-submit lambda_app/portfolio/spark_job.py --in s3://bucket/book.parquet --out s3://bucket/scores.parquet \\
      --model s3://models/loan-risk/VERSION

Spark writes the output as a directory of part files (overwritten as a whole: a re-run
replaces it).
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spark_job", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--in", dest="source", required=True, help="CSV or Parquet portfolio")
    parser.add_argument("--out", required=True, help="output path (.parquet for Parquet, else CSV)")
    parser.add_argument(
        "--model", default=os.environ.get("MODEL_URI"), help="bundle directory or s3:// URI (MODEL_URI)"
    )
    parser.add_argument("--explain", action="store_true", help="add reason codes")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not args.model:
        parser.error("--model (or MODEL_URI) is required")

    from pyspark.sql import SparkSession

    from lambda_app.portfolio.spark import read, score_dataframe, write

    spark = SparkSession.builder.appName("loan-risk-score").getOrCreate()
    write(score_dataframe(read(spark, args.source), args.model, args.explain), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
