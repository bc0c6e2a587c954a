"""The ASGI server command (`python -m lambda_app`): what `make run` and the ECS image run."""

from __future__ import annotations

import gc
import sys

import uvicorn

from lambda_app.core.bundle import BundleError
from lambda_app.runtime.server import serve, server_options
from lambda_app.settings import cpu_workers, get_settings


def main() -> int:
    gc.disable()  # until the app is built: see lambda_app.app.freeze_start_up_objects
    settings = get_settings()
    workers = settings.workers or cpu_workers()
    try:
        # Verify the bundle once up front so a bad one stops here with a readable
        # message, instead of every worker process failing in turn.
        from lambda_app.app import create_app, load_scorer

        scorer = load_scorer(settings)
    except BundleError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if workers == 1:  # the server's lifespan freezes what start-up built
        uvicorn.run(create_app(settings, scorer), **server_options(settings))
        return 0
    del scorer
    gc.enable()  # this process only supervises the workers
    return serve("lambda_app.app:create_app", settings, workers)


if __name__ == "__main__":
    sys.exit(main())
