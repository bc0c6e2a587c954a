"""`python -m benchmarks.floor_server`: the floor app under the service's own uvicorn options."""

import uvicorn

from lambda_app.server import server_options
from lambda_app.settings import cpu_workers, get_settings

if __name__ == "__main__":
    settings = get_settings()
    uvicorn.run("benchmarks.floor_app:app", workers=settings.workers or cpu_workers(), **server_options(settings))
