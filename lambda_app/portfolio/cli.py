"""`loan-risk score`: re-score a portfolio file (CSV or Parquet, local or s3://) with one process per core.

Writes the input's key column (`id` when it has one, else `row`, the row's number from 1),
risk_score, risk_band, percentile, reasons with --explain, and errors: a row that fails
validation has empty results and says why, and never stops the file. The output is written
to OUT.partial and renamed (or uploaded) once complete, so an interrupted run leaves OUT as it
was and the same command can simply be run again.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from lambda_app.portfolio.process import lean_start_up

with lean_start_up():  # before numpy and pyarrow load: lambda_app.portfolio.process says why
    from lambda_app.core.bundle import BundleError, read_manifest
    from lambda_app.core.commandline import Parser
    from lambda_app.core.model_source import resolve
    from lambda_app.portfolio import storage
    from lambda_app.portfolio.progress import Progress
    from lambda_app.portfolio.run import Summary, run
    from lambda_app.portfolio.sink import Sink
    from lambda_app.portfolio.source import CHUNK_ROWS, EXPLAINED_CHUNK_ROWS, InputError, Source
    from lambda_app.portfolio.worker import without_pandas
    from lambda_app.portfolio.workers import WorkerLost
    from lambda_app.settings import cpu_workers, get_settings


def main(argv: list[str] | None = None, prog: str = "loan-risk score") -> int:
    parser = Parser(prog=prog, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--in", dest="source", required=True, metavar="FILE_OR_S3_URI", help="CSV or Parquet input")
    parser.add_argument("--out", required=True, metavar="FILE_OR_S3_URI", help="results, .csv or .parquet")
    parser.add_argument("--explain", action="store_true", help="add reason codes (SHAP; several times slower)")
    parser.add_argument("--workers", type=int, metavar="N", help="scoring processes (default: one per CPU)")
    parser.add_argument("--model", metavar="DIR_OR_URI", help="bundle directory or s3:// URI (default: MODEL_URI)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    without_pandas()
    settings = get_settings()
    workers = args.workers or cpu_workers()
    try:
        model_dir = resolve(args.model or settings.model_uri, settings.model_cache_dir)
        read_manifest(model_dir)  # a bad bundle (missing, corrupt, other schema) stops here, not in every worker
        with tempfile.TemporaryDirectory(prefix="loan-risk-in-") as staging:
            local = storage.download(args.source, Path(staging)) if storage.is_s3(args.source) else Path(args.source)
            source = Source(local, EXPLAINED_CHUNK_ROWS if args.explain else CHUNK_ROWS)
            if source.missing:
                print(
                    f"warning: {local.name} lacks column(s) {', '.join(source.missing)}: every row will fail",
                    file=sys.stderr,
                )
            progress = Progress(sys.stderr, enabled=sys.stderr.isatty())
            with Sink(args.out) as sink:
                summary = run(source, sink, model_dir, workers, args.explain, progress.update)
            progress.update(summary.rows, 1.0, force=True)
            progress.close()
    except (InputError, storage.StorageError, BundleError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except WorkerLost as e:
        print(f"{prog}: error: {e}; {args.out} was not written", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted; {args.out} was not written (run the command again)", file=sys.stderr)
        return 130
    print(report(summary, args.out, workers))
    return 0


def report(summary: Summary, out: str, workers: int) -> str:
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    bands = ", ".join(f"{name} {count:,}" for name, count in sorted(summary.bands.items(), key=lambda x: -x[1]))
    return (
        f"{summary.rows:,} rows in {summary.seconds:.1f} s ({rate:,.0f} rows/s, {workers} worker{'s' if workers > 1 else ''}): "
        f"{summary.scored:,} scored, {summary.failed:,} failed (see the errors column)\n"
        f"bands: {bands or 'none'}\n"
        f"wrote {out}"
    )


if __name__ == "__main__":
    sys.exit(main())
