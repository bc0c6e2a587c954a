"""The ASGI server command (`loan-risk serve`, `python -m lambda_app`): what `make run` and the
ECS image run. Settings come from the environment (lambda_app.settings); the options here
set the most common ones for one run."""

from __future__ import annotations

import gc
import os
import sys

import uvicorn

from lambda_app.core.bundle import BundleError
from lambda_app.core.catboost_lean import import_catboost_lean
from lambda_app.core.commandline import Parser
from lambda_app.records.sinks import RecordsConfigError
from lambda_app.runtime.server import serve, server_options
from lambda_app.settings import SettingsError, cpu_workers, get_settings
from lambda_app.startup import pause_collector


def main(argv: list[str] | None = None, prog: str = "python -m lambda_app") -> int:
    parser = Parser(prog=prog, description=__doc__)
    parser.add_argument("--model", metavar="DIR_OR_URI", help="bundle directory or s3:// URI (MODEL_URI)")
    parser.add_argument("--host", help="interface to bind (HOST)")
    parser.add_argument("--port", help="port to listen on (PORT)")
    parser.add_argument("--workers", help="worker processes, 0 for one per CPU (WORKERS)")
    args = parser.parse_args(argv or [])
    for name, value in (("MODEL_URI", args.model), ("HOST", args.host), ("PORT", args.port), ("WORKERS", args.workers)):
        if value is not None:
            os.environ[name] = value
    pause_collector()  # until the app is built: lambda_app.startup says why
    import_catboost_lean()  # before the app imports CatBoost: see that module
    try:
        settings = get_settings()
        # Verify the bundle once up front so a bad one stops here with a readable
        # message, instead of every worker process failing in turn.
        from lambda_app.app import create_app
        from lambda_app.service import load_service

        service = load_service(settings)
    except (SettingsError, BundleError, RecordsConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    workers = settings.workers or cpu_workers()
    if workers == 1:  # the server's lifespan freezes what start-up built
        uvicorn.run(create_app(settings, service=service), **server_options(settings))
        return 0
    del service
    gc.enable()  # this process only supervises the workers
    return serve("lambda_app.app:create_app", settings, workers)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
