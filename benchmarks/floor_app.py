"""The framework's floor: the same FastAPI and uvicorn, a route that returns a constant."""

from fastapi import FastAPI, Response

# Configured as the service's app is (lambda_app.app), so the floor is the framework's own cost.
app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
_BODY = b'{"risk_score":53.2824,"risk_band":"medium","percentile":61.2,"model_version":"constant"}'


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/score")
async def score() -> Response:
    return Response(_BODY, media_type="application/json")
