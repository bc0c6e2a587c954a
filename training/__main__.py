"""`loan-risk synth|train|evaluate|publish` (also `python -m training ...`): the training command line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from lambda_app.core.bundle import BundleError
from lambda_app.core.commandline import Parser
from lambda_app.core.schema import TARGET
from lambda_app.core.scoring import Scorer
from training import synth
from training.dataset import DataError, read_applicants
from training.metrics import regression_metrics
from training.pipeline import ConfigError, TrainConfig
from training.publish import PublishError, publish
from training.train import train_bundle


def _parser(prog: str) -> Parser:
    p = Parser(prog=prog, description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    s = sub.add_parser("synth", help="generate demo applicants")
    s.add_argument("--rows", type=int, default=10_000)
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--out", type=Path, required=True)
    t = sub.add_parser("train", help="train a model bundle from a labelled CSV")
    t.add_argument("--data", type=Path, required=True)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--exclude", default="", help="comma-separated fields the model must not use")
    t.add_argument("--cv", type=int, default=5, help="cross-validation folds (default 5)")
    t.add_argument(
        "--no-compare-exclusion",
        action="store_true",
        help="skip cross-validating the recipe without the protected fields (or, with --exclude, with every "
        "field) on the same folds, which the model card reports as the cost of excluding them; halves the time",
    )
    t.add_argument("--iterations", type=int, help="boosting rounds (default from the recipe; fewer is faster, coarser)")
    t.add_argument("--no-monotone", action="store_true", help="drop the monotone constraints (for comparison)")
    t.add_argument("--no-report", action="store_true", help="skip the model card and plots")
    u = sub.add_parser("publish", help="upload a bundle to S3 under its version id")
    u.add_argument("--model", type=Path, required=True)
    u.add_argument("--to", required=True, help="s3://bucket/prefix")
    e = sub.add_parser("evaluate", help="metrics of a bundle on a labelled CSV, as JSON")
    e.add_argument("--model", type=Path, required=True)
    e.add_argument("--data", type=Path, required=True)
    return p


def main(argv: list[str] | None = None, prog: str = "python -m training") -> int:
    args = _parser(prog).parse_args(argv)
    try:
        if args.command == "synth":
            path = synth.write(args.rows, args.out, args.seed)
            print(f"wrote {args.rows} synthetic applicants to {path}")
        elif args.command == "train":
            start = time.perf_counter()
            exclude = tuple(x.strip() for x in args.exclude.split(",") if x.strip())
            defaults = TrainConfig()
            params = {**defaults.params, **({"iterations": args.iterations} if args.iterations else {})}
            config = TrainConfig(
                params=params,
                seed=args.seed,
                cv=args.cv,
                exclude=exclude,
                monotone=not args.no_monotone,
                compare_exclusion=not args.no_compare_exclusion,
                report=not args.no_report,
            )
            manifest = train_bundle(read_applicants(args.data), args.out, config)
            print(
                json.dumps(
                    {
                        "version": manifest.version,
                        "out": str(args.out),
                        "data": manifest.data.source,
                        "cv": manifest.metrics.cv.model_dump(exclude={"folds"}),
                        "holdout": manifest.metrics.holdout.model_dump(),
                        "approval_index": manifest.metrics.approval_index.status,
                        "seconds": round(time.perf_counter() - start, 1),
                    },
                    indent=2,
                )
            )
        elif args.command == "publish":
            uri = publish(args.model, args.to)
            print(f"published {args.model} to {uri}\nserve it with MODEL_URI={uri}")
        elif args.command == "evaluate":
            scorer = Scorer.load(args.model)
            frame = read_applicants(args.data).frame
            scores = scorer.score(frame.drop(columns=[TARGET]).to_dict("records"))  # type: ignore[arg-type]
            print(json.dumps({"model_version": scorer.version, **regression_metrics(frame[TARGET], scores)}, indent=2))
    except (DataError, BundleError, PublishError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
