"""The FastAPI application factory: the one scoring core both entry points serve."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from lambda_app.api import problems
from lambda_app.api.router import build_router
from lambda_app.core.model_source import resolve
from lambda_app.core.scoring import Scorer
from lambda_app.middleware.body_limit import BodySizeLimit
from lambda_app.middleware.deadlines import BodyTimeout
from lambda_app.middleware.fast_path import FastScore
from lambda_app.middleware.load_shed import LoadShed
from lambda_app.middleware.request_context import RequestContext
from lambda_app.middleware.root_path import RootPath
from lambda_app.records.recorder import make_recorder
from lambda_app.service import ScoringService
from lambda_app.settings import Settings, get_settings
from lambda_app.startup import freeze_start_up_objects
from lambda_app.telemetry import publish
from lambda_app.web.lazy import LazyPages


def load_scorer(settings: Settings) -> Scorer:
    return Scorer.load(resolve(settings.model_uri, settings.model_cache_dir))


def load_service(settings: Settings, scorer: Scorer | None = None) -> ScoringService:
    """The scoring service the settings describe: the champion (`scorer`, or MODEL_URI), the
    challenger when CHALLENGER_MODEL_URI names one, and the decision recorder. A bad bundle
    or an unusable sink raises here (BundleError, RecordsConfigError), before any request."""
    champion = scorer or load_scorer(settings)
    challenger = None
    if settings.challenger_model_uri:
        challenger = Scorer.load(resolve(settings.challenger_model_uri, settings.model_cache_dir))
    return ScoringService(
        champion,
        max_reasons=settings.max_reasons,
        coalesce_max_rows=settings.coalesce_max_rows,
        recorder=make_recorder(settings),
        challenger=challenger,
    )


def create_app(
    settings: Settings | None = None,
    scorer: Scorer | None = None,
    *,
    on_lambda: bool = False,
    service: ScoringService | None = None,
) -> FastAPI:
    """Build the app; the models are loaded here, before the first request, so a bad
    bundle stops start-up instead of failing requests. Metrics are published every
    `metrics_interval_s` while the server runs and once more when it stops, or, `on_lambda`
    (where no server lifespan runs), after each invocation; the handler writes buffered
    decision records then too."""
    settings = settings or get_settings()
    service = service or load_service(settings, scorer)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        freeze_start_up_objects()
        task = None if on_lambda else asyncio.create_task(_publish_every(settings.metrics_interval_s))
        if not on_lambda:
            service.recorder.start_flusher(settings.decision_flush_interval_s)
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            await service.finish()  # records of answers already given, before the last metrics
            publish()

    app = FastAPI(
        # FastAPI's own OpenTelemetry instrumentation: the service traces with X-Ray and
        # counts with EMF (lambda_app.telemetry), and with it on every request asked
        # whether an OpenTelemetry provider had been configured since the last one.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        lifespan=lifespan,
        title="Loan risk scoring",
        version=service.version,
        description="Predicts a loan applicant's risk score (higher is riskier), with its band and reason codes.",
    )
    app.state.service = service
    app.state.settings = settings
    problems.install(app)
    app.include_router(build_router(settings))
    pages = LazyPages(app)
    if on_lambda:  # see lambda_app.web.lazy
        pages.install()
    else:
        pages.load()
        service.scorer.prepare_explanations()  # here, before the server's workers fork, not in each
    app.add_middleware(FastScore)
    app.add_middleware(RequestContext, publish_each_request=on_lambda)
    app.add_middleware(BodyTimeout, seconds=settings.request_timeout_s)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, page=pages.too_large_page)
    app.add_middleware(LoadShed, max_in_flight=settings.in_flight_limit())
    app.add_middleware(RootPath, configured=settings.root_path)
    return app


async def _publish_every(seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        publish()
