"""`python -m benchmarks.floor_server`: the floor app run exactly as the service is."""

import sys

from lambda_app.runtime.server import serve
from lambda_app.settings import cpu_workers, get_settings

if __name__ == "__main__":
    settings = get_settings()
    sys.exit(serve("benchmarks.floor_app:app", settings, settings.workers or cpu_workers(), factory=False))
