"""`loan-risk drift` (population stability of a bundle over decision records) and
`loan-risk outcomes` (the back-test of champion and challenger against observed outcomes)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from lambda_app.core.bundle import BundleError, read_manifest
from lambda_app.core.commandline import Parser
from lambda_app.core.model_source import resolve
from lambda_app.monitoring.drift import NoReference, drift_report, within
from lambda_app.monitoring.outcomes import OutcomesError, backtest, read_outcomes
from lambda_app.monitoring.psi import MIN_RECORDS
from lambda_app.monitoring.report import text_summary, write_report
from lambda_app.records.read import RecordsError, iter_records


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _period(p: Parser) -> None:
    p.add_argument("--since", type=day, help="first day of decisions to include (YYYY-MM-DD, UTC)")
    p.add_argument("--until", type=day, help="last day of decisions to include (inclusive)")


def drift_main(argv: list[str], prog: str = "loan-risk drift") -> int:
    p = Parser(
        prog=prog,
        description="Population stability (PSI of the score, CSI of each field) of decision records against the bundle's training reference.",
    )
    p.add_argument("--model", required=True, help="bundle directory or s3:// URI (MODEL_URI)")
    p.add_argument(
        "--records", required=True, help="decision records: a .jsonl[.gz] file, a directory or s3://bucket/prefix"
    )
    _period(p)
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--out", type=Path, help="also write report.json, report.html and PNG charts to this directory")
    p.add_argument(
        "--min-records",
        type=int,
        default=MIN_RECORDS,
        help=f"fewer records are reported as insufficient (default {MIN_RECORDS})",
    )
    args = p.parse_args(argv)
    if args.since and args.until and args.since > args.until:
        p.error(f"--since {args.since} is after --until {args.until}")
    if args.min_records < 1:
        p.error("--min-records must be at least 1")
    try:
        from lambda_app.settings import get_settings

        manifest = read_manifest(resolve(args.model, get_settings().model_cache_dir))
        report = drift_report(manifest, args.records, args.since, args.until, args.min_records)
    except (BundleError, NoReference, RecordsError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else text_summary(report))
    if args.out:
        files, note = write_report(report, args.out)
        print(f"{prog}: wrote {', '.join(str(f) for f in files)}", file=sys.stderr)
        if note:
            print(f"{prog}: {note}", file=sys.stderr)
    return 0


def outcomes_main(argv: list[str], prog: str = "loan-risk outcomes") -> int:
    p = Parser(
        prog=prog,
        description="Back-test: decision records joined with observed outcomes by decision_id, per model and month.",
    )
    p.add_argument(
        "--records", required=True, help="decision records: a .jsonl[.gz] file, a directory or s3://bucket/prefix"
    )
    p.add_argument(
        "--outcomes", type=Path, required=True, help="CSV with decision_id and RiskScore (or a 0/1 `default` column)"
    )
    p.add_argument("--column", help="the outcome column, when it is not RiskScore or default")
    _period(p)
    args = p.parse_args(argv)
    try:
        outcomes = read_outcomes(args.outcomes, args.column)
        report = backtest(within(iter_records(args.records, args.since, args.until), args.since, args.until), outcomes)
    except (OutcomesError, RecordsError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    if report["matched"] == 0:
        print(
            f"{prog}: none of the {len(outcomes.values):,} outcomes matches a decision record in {args.records}",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(report, indent=2))
    return 0


def main(argv: list[str], prog: str = "loan-risk drift") -> int:
    """Either command, by the last word of its name (`loan-risk drift`, `loan-risk outcomes`)."""
    return outcomes_main(argv, prog) if prog.endswith("outcomes") else drift_main(argv, prog)
