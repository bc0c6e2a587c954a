"""Portfolio re-scoring: whole files of applicants (CSV or Parquet, local or S3) through the one scoring core."""
