"""What the images rely on: the handler and the server command exist, every ENV is a setting,
only runtime dependencies go in, the build context holds what the COPYs need."""

from __future__ import annotations

import importlib
import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

from lambda_app.settings import Settings
from tests.deploy.infra import ROOT, dockerfile, env_vars, exec_form, sam_template

LAMBDA = dockerfile(ROOT / "Dockerfile.lambda")
ECS = dockerfile(ROOT / "Dockerfile.ecs")
SETTINGS = {name.upper() for name in Settings.model_fields}
# Set by the image for the interpreter, not read by the app.
INTERPRETER_ENV = {"PATH"}


def last(instructions: list[tuple[str, str]], word: str) -> str:
    return [rest for w, rest in instructions if w == word][-1]


def test_lambda_cmd_is_the_handler(bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (handler_path,) = exec_form(last(LAMBDA, "CMD"))
    module_name, _, attribute = handler_path.rpartition(".")
    assert module_name == "lambda_app.handler"
    monkeypatch.setenv("MODEL_URI", str(bundle_dir))  # the handler module loads the model at import
    from lambda_app.settings import get_settings

    get_settings.cache_clear()
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    finally:
        get_settings.cache_clear()
    assert callable(handler)


def test_ecs_cmd_is_the_asgi_server_command() -> None:
    assert exec_form(last(ECS, "CMD")) == ["python", "-m", "lambda_app"]
    spec = importlib.util.find_spec("lambda_app.__main__")
    assert spec is not None
    main = importlib.import_module("lambda_app.__main__").main
    assert callable(main)


@pytest.mark.parametrize("instructions", [LAMBDA, ECS], ids=["lambda", "ecs"])
def test_every_env_is_a_setting(instructions: list[tuple[str, str]]) -> None:
    names = set(env_vars(instructions))
    assert "MODEL_URI" in names
    assert names <= SETTINGS | INTERPRETER_ENV, names - SETTINGS - INTERPRETER_ENV


def test_ecs_image_listens_where_the_template_expects() -> None:
    env = env_vars(ECS)
    assert env["HOST"] == "0.0.0.0" and env["WORKERS"] == "0"
    (container,) = sam_template()["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert int(env["PORT"]) == container["PortMappings"][0]["ContainerPort"] == int(last(ECS, "EXPOSE"))
    assert "/health" in last(ECS, "HEALTHCHECK")


def test_ecs_image_runs_as_a_non_root_user() -> None:
    user = last(ECS, "USER")
    assert user not in ("root", "0")
    assert f"--uid {user}" in last(ECS, "RUN")  # the runtime stage creates that user
    assert len([w for w, _ in ECS if w == "FROM"]) == 2  # build stage + runtime stage


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=~! ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


@pytest.mark.parametrize("instructions", [LAMBDA, ECS], ids=["lambda", "ecs"])
def test_installs_runtime_dependencies_only(instructions: list[tuple[str, str]]) -> None:
    """The images install requirements/serve.txt with --no-deps: every [project] dependency is
    pinned there, and no dev tool or CatBoost plotting package is."""
    runs = " ".join(rest for w, rest in instructions if w == "RUN")
    assert "--no-deps -r /tmp/serve.txt" in runs and "--no-cache-dir" in runs
    assert ("COPY", "requirements/serve.txt /tmp/serve.txt") in instructions
    lines = (ROOT / "requirements" / "serve.txt").read_text().splitlines()
    pinned = {_name(line) for line in lines if line.strip() and not line.startswith("#")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert {_name(d) for d in project["dependencies"]} <= pinned
    dev_tools = {_name(d) for d in project["optional-dependencies"]["dev"]}
    assert not (dev_tools | {"matplotlib", "plotly", "graphviz"}) & pinned


@pytest.mark.parametrize("instructions", [LAMBDA, ECS], ids=["lambda", "ecs"])
def test_base_image_and_model_are_build_args(instructions: list[tuple[str, str]]) -> None:
    args = dict(rest.split("=", 1) for w, rest in instructions if w == "ARG" and "=" in rest)
    base = next(k for k in args if k.endswith("BASE_IMAGE"))
    assert any(w == "FROM" and rest.startswith(f"${{{base}}}") for w, rest in instructions)
    assert args["MODEL_DIR"] == "models/current"
    assert ("COPY", "${MODEL_DIR} /opt/model") in instructions
    assert env_vars(instructions)["MODEL_URI"] == "/opt/model"


def test_build_context_keeps_what_the_copies_need() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for needed in ("requirements", "lambda_app", "models"):
        assert needed not in ignored
    for excluded in (".git", ".venv*", "data", "tests", "training"):
        assert excluded in ignored
    sources = {rest.split()[-2] for w, rest in LAMBDA + ECS if w == "COPY" and not rest.startswith("--from")}
    assert sources == {"requirements/serve.txt", "lambda_app", "${MODEL_DIR}"}


def test_lambda_image_links_the_settings_default_to_the_baked_bundle() -> None:
    """SAM local hands the container an empty MODEL_URI; the settings read that as their default,
    which must then name the baked bundle from the task root (the Lambda working directory)."""
    from lambda_app.settings import DEFAULT_MODEL_URI

    runs = " ".join(rest for w, rest in LAMBDA if w == "RUN")
    assert f'ln -s /opt/model "${{LAMBDA_TASK_ROOT}}/{DEFAULT_MODEL_URI}"' in runs
