"""Reading the deployment files the way the tools do: the templates through cfn-lint's decoder
(which understands !Ref and friends), the SAM template through the SAM translator, Dockerfiles
as instructions, workflows as YAML."""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
BOOTSTRAP = ROOT / ".github" / "bootstrap.yaml"
WORKFLOWS = ROOT / ".github" / "workflows"
DEPLOY_SCRIPT = ROOT / ".ci" / "deploy.sh"
REGION = "us-east-1"
ACCOUNT = "123456789012"
LAMBDA_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/loan-risk-lambda:0123abc"
ECS_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/loan-risk-ecs:0123abc"


def load_template(path: Path) -> dict[str, Any]:
    template, problems = decode(str(path))
    assert not problems, problems
    assert template is not None
    # Plain dicts and lists (cfn-lint's decoder returns node subclasses carrying line marks).
    result: dict[str, Any] = json.loads(json.dumps(template))
    return result


@cache
def sam_template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@cache
def bootstrap_template() -> dict[str, Any]:
    return load_template(BOOTSTRAP)


def transformed(parameters: dict[str, str]) -> dict[str, Any]:
    """The SAM template as CloudFormation sees it after the AWS::Serverless transform."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:  # the template names no managed policies; never ask IAM for them
        def load(self) -> dict[str, str]:
            return {}

    # The translator takes the region from a boto3 session, as `sam deploy` does.
    with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": REGION}):
        result: dict[str, Any] = transform(copy.deepcopy(sam_template()), dict(parameters), NoManagedPolicies())
    return result


def workflow(name: str) -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def run_scripts(wf: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for job in wf["jobs"].values() for step in job["steps"])


def dockerfile(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list), f"not exec form: {arguments}"
    return [str(v) for v in value]


def env_vars(instructions: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for word, rest in instructions:
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                found[key] = value
    return found
