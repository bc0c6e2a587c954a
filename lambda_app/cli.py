"""`loan-risk`: one command for what a person runs from a shell.

Each subcommand lives with the code it drives and is imported only when it runs, so
`loan-risk serve` never imports training's libraries and the serving image needs none.
A subcommand's module has `main(argv, prog) -> int`, or names its function as `module:function`.
"""

from __future__ import annotations

import importlib
import sys

from lambda_app.core.commandline import Parser

# name: (module, one line of help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("lambda_app.__main__", "serve the API and the pages (what `make run` and the ECS image run)"),
    "synth": ("training.__main__", "generate demo applicants with a plausible risk score"),
    "train": ("training.__main__", "train a model bundle from a labelled CSV"),
    "evaluate": ("training.__main__", "metrics of a bundle on a labelled CSV, as JSON"),
    "publish": ("training.__main__", "upload a bundle to S3 under its version id"),
    "replay": (
        "lambda_app.records.replay",
        "re-score stored decision records with their bundle; report any difference",
    ),
    "drift": (
        "lambda_app.monitoring.cli:drift_main",
        "population stability (PSI) of decision records against the bundle",
    ),
    "outcomes": ("lambda_app.monitoring.cli:outcomes_main", "back-test decision records against observed outcomes"),
    "score": (
        "lambda_app.portfolio.cli",
        "re-score a portfolio file (CSV or Parquet, local or S3), one process per core",
    ),
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    parser = Parser(prog="loan-risk", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, summary) in COMMANDS.items():
        sub.add_parser(name, help=summary, add_help=False)
    if not args:
        parser.error("name a command")
    if args[0] not in COMMANDS:
        parser.parse_args(args[:1])  # --help, or a usage error for an unknown command
        return 2
    module, _ = COMMANDS[args[0]]
    module, _, function = module.partition(":")
    run = getattr(importlib.import_module(module), function or "main")
    if module == "training.__main__":  # one parser for its four subcommands
        code: int = run(args, prog="loan-risk")
    else:
        code = run(args[1:], prog=f"loan-risk {args[0]}")
    return code


if __name__ == "__main__":
    sys.exit(main())
