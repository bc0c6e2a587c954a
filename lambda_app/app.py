"""The FastAPI application factory: the one scoring core both entry points serve."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from lambda_app.api import problems
from lambda_app.api.routes import build_router
from lambda_app.core.coalesce import Coalescer
from lambda_app.core.model_source import resolve
from lambda_app.core.scoring import Scorer
from lambda_app.middleware.body_limit import BodySizeLimit
from lambda_app.middleware.deadlines import BodyTimeout
from lambda_app.middleware.fast_path import FastScore
from lambda_app.middleware.request_context import RequestContext
from lambda_app.middleware.root_path import RootPath
from lambda_app.settings import Settings, get_settings
from lambda_app.telemetry import publish
from lambda_app.web import monitoring
from lambda_app.web import pages as ui


def load_scorer(settings: Settings) -> Scorer:
    return Scorer.load(resolve(settings.model_uri, settings.model_cache_dir))


def create_app(settings: Settings | None = None, scorer: Scorer | None = None, *, on_lambda: bool = False) -> FastAPI:
    """Build the app; the model is loaded here, before the first request, so a bad
    bundle stops start-up instead of failing requests. Metrics are published every
    `metrics_interval_s` while the server runs and once more when it stops, or, `on_lambda`
    (where no server lifespan runs), after each invocation."""
    settings = settings or get_settings()
    scorer = scorer or load_scorer(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        freeze_start_up_objects()
        task = None if on_lambda else asyncio.create_task(_publish_every(settings.metrics_interval_s))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            publish()

    app = FastAPI(
        # FastAPI's own OpenTelemetry instrumentation: the service traces with X-Ray and
        # counts with EMF (lambda_app.telemetry), and with it on every request asked
        # whether an OpenTelemetry provider had been configured since the last one.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        lifespan=lifespan,
        title="Loan risk scoring",
        version=scorer.version,
        description="Predicts a loan applicant's risk score (higher is riskier), with its band and reason codes.",
    )
    app.state.scorer = scorer
    app.state.coalescer = Coalescer(scorer.score)
    app.state.settings = settings
    problems.install(app)
    app.include_router(build_router(settings))
    app.include_router(ui.router)
    app.include_router(monitoring.router)
    app.add_middleware(FastScore)
    app.add_middleware(RequestContext, publish_each_request=on_lambda)
    app.add_middleware(BodyTimeout, seconds=settings.request_timeout_s)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, page=ui.too_large_page)
    app.add_middleware(RootPath, configured=settings.root_path)
    return app


async def _publish_every(seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        publish()


def freeze_start_up_objects() -> None:
    """Move what start-up built (modules, the model, the app: ~200,000 objects) out of the
    cyclic garbage collector's reach, and turn collection on. Those objects live as long as
    the process, and each full collection walked all of them: a 40 ms pause every few
    batches, 8% of batch scoring's mean time. (gc.freeze, as Python's documentation suggests
    for long-lived servers.) The entry points turn collection off before they import the app:
    passes over those objects while start-up builds them find next to nothing, and they and
    a collection here (which would free under a megabyte) cost about 0.15 s of a cold start."""
    gc.freeze()
    gc.enable()
