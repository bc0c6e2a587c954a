"""Installed size of the serving image's Python dependencies: `pip install .` as declared,
and the trimmed set in requirements/serve.txt, each in a fresh venv. The trimmed one must
still serve a score, and everything in it should be imported while serving."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import MODEL_DIR, ROOT

# The venv's own tools, not dependencies of the service.
_TOOLING = {"pip", "setuptools", "pkg_resources", "_distutils_hack", "wheel"}

_PROBE = """
import importlib.metadata as md, json, os, sys
os.environ["MODEL_URI"] = sys.argv[1]
saved = os.dup(1); os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
import lambda_app.__main__, lambda_app.runtime.server, uvicorn.main  # the ECS entry point's imports
from lambda_app.handler import handler  # the Lambda one's, and a score through it
event = json.load(open(sys.argv[2]))
class C: function_name = "f"; memory_limit_in_mb = 1024; aws_request_id = "r"; invoked_function_arn = "arn:aws:lambda:us-east-1:1:function:f"
status = handler(event, C())["statusCode"]
# Any other request goes through Mangum and the app, built on first use (lambda_app.handler).
other = dict(event, rawPath="/health", body="", isBase64Encoded=False)
other["requestContext"] = dict(event["requestContext"], http=dict(event["requestContext"]["http"], path="/health", method="GET"))
status = max(status, handler(other, C())["statusCode"])
config = uvicorn.Config("lambda_app.app:create_app", factory=True, **lambda_app.runtime.server.server_options(lambda_app.runtime.server.get_settings()))
config.load()  # imports the protocol and the app as a worker does
config.get_loop_factory()()  # and the event loop
from lambda_app.core.model_source import _s3
_s3()  # the S3 client that MODEL_URI=s3://... uses (no request is made)
import boto3.s3.transfer  # what it downloads a bundle with
os.dup2(saved, 1)
imported = {m.split(".")[0] for m in sys.modules}
dists = {d for top, ds in md.packages_distributions().items() if top in imported for d in ds}
installed = {d.metadata["Name"] for d in md.distributions()}
print(json.dumps({"status": status, "unused": sorted(installed - dists)}))
"""


@dataclass
class Env:
    megabytes: float
    packages: int
    serves: bool = False
    unused: list[str] = field(default_factory=list)


def _size(site: Path) -> tuple[float, int]:
    total, packages = 0, 0
    for entry in site.iterdir():
        if entry.name.split("-")[0] in _TOOLING or entry.name.startswith(tuple(_TOOLING)):
            continue
        packages += entry.name.endswith(".dist-info")
        paths = [entry] if entry.is_file() else list(entry.rglob("*"))
        total += sum(p.stat().st_size for p in paths if p.is_file() and not p.is_symlink())
    return total / 1e6, packages


def _venv(where: Path, *installs: list[str]) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    pip = [str(where / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for args in installs:
        subprocess.run([*pip, *args], check=True, cwd=ROOT)  # compiled to .pyc, as an image build does
    [site] = (where / "lib").glob("python*/site-packages")
    return site


@contextmanager
def environments() -> Iterator[tuple[Env, Env, Path]]:
    """Both environments, measured, and the trimmed one's python (until the block ends)."""
    with tempfile.TemporaryDirectory() as tmp:
        # Installed from a copy, so a stray build/ or egg-info never lands in the work tree.
        src = Path(tmp) / "src"
        _copy_source(src)
        full = Env(*_size(_venv(Path(tmp) / "full", [str(src)])))
        site = _venv(
            Path(tmp) / "trim",
            ["--no-deps", "-r", str(ROOT / "requirements" / "serve.txt")],
            ["--no-deps", str(src)],
        )
        trimmed = Env(*_size(site))
        event = ROOT / "tests" / "events" / "http_api_v2_score.json"
        out = subprocess.run(
            [str(Path(tmp) / "trim" / "bin" / "python"), "-c", _PROBE, str(MODEL_DIR.resolve()), str(event)],
            capture_output=True,
            text=True,
            cwd=tmp,  # not the work tree: import lambda_app from the trimmed venv only
            check=False,
        )
        if out.returncode == 0:
            probe = json.loads(out.stdout.strip().splitlines()[-1])
            trimmed.serves = probe["status"] == 200
            trimmed.unused = [d for d in probe["unused"] if d not in ("loan-risk", *_TOOLING)]
        else:
            print(out.stderr[-2000:], file=sys.stderr)
        yield full, trimmed, Path(tmp) / "trim" / "bin" / "python"


def _copy_source(dest: Path) -> None:
    """pyproject, README and the packages only: what `pip install .` needs."""
    import shutil

    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    for package in ("lambda_app", "training"):
        shutil.copytree(ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__"))
