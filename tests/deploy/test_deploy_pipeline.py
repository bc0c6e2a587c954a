"""The deploy workflow's steps, run in order with their own scripts, against moto in server mode
on loopback (AWS_ENDPOINT_URL): the aws CLI, .ci/deploy.sh and `sam deploy` talk to it as they
would to AWS, so a typo in a command, an output name or the order of the steps fails here.

What moto cannot do is stood in for, and said so:
- the `uses:` steps (checkout, setup, OIDC credentials, ECR login) set what they would set;
- `docker buildx build --push` is a `docker` on PATH that registers the tag in moto's ECR (the
  image itself is built and run by `make images` / `make smoke-images` / `make sam-local`);
- `sam deploy` gets template.yaml after the SAM transform, less the types moto's CloudFormation
  cannot create (TEMPLATE_FILE; the same subset as test_moto_stack.py);
- S3 is reached as localhost rather than 127.0.0.1 (AWS_ENDPOINT_URL_S3, path-style addressing):
  moto's CloudFormation finds the bucket in a TemplateURL by that name, and `sam deploy` builds the
  URL from the S3 endpoint (the upload and the change set are otherwise as on AWS).
moto's CloudFormation creates no API key and there is no execute-api endpoint, so the smoke step
fails here every time: that is the failed smoke test whose rollback path is checked below (the
smoke script itself passes and fails on the real app in test_smoke_script.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.deploy.infra import ACCOUNT, REGION, ROOT, transformed, workflow
from tests.lambda_app.servers import free_port

moto_server = pytest.importorskip("moto.server", reason="moto[server] is in the dev extra: make install")
from moto.cloudformation.models import ChangeSet  # noqa: E402

from tests.deploy.test_moto_stack import moto_subset  # noqa: E402

_MOTO_APPLY = ChangeSet.apply

TOOLS = Path(os.environ.get("TOOLS") or ROOT / ".venv-tools" / "bin")  # as .ci/check-infra.sh
TEMPLATE_BUCKET = f"loan-risk-templates-{ACCOUNT}-{REGION}"  # the bootstrap's TemplateBucket
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
pytestmark = [
    pytest.mark.skipif(
        not ((TOOLS / "sam").is_file() and (TOOLS / "aws").is_file()),
        reason="the SAM and AWS CLIs are in .venv-tools: make tools",
    ),
    # moto warns about each WaitConditionHandle it treats as a no-op, as CloudFormation does.
    pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle:UserWarning"),
]

# The docker a GitHub runner has, as far as the deploy needs it: `buildx build --push -t URI`
# leaves the tag in the registry. Here the tag goes into moto's ECR with a stand-in manifest.
DOCKER = r"""#!/usr/bin/env bash
set -euo pipefail
[ "$1 $2" = "buildx build" ] || { echo "docker stand-in: only buildx build --push" >&2; exit 2; }
shift 2; file= tag= push=
while [ $# -gt 0 ]; do
  case $1 in -f) file=$2; shift;; -t) tag=$2; shift;; --push) push=1;; esac; shift
done
[ -f "$file" ] && [ -n "$push" ] && [ -n "$tag" ] || { echo "docker stand-in: need -f FILE -t URI --push" >&2; exit 2; }
repo=${tag#*/}; repo=${repo%:*}
manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"sha256:%s"},"layers":[]}' "$(printf %s "$tag" | sha256sum | cut -c1-64)")
aws ecr put-image --repository-name "$repo" --image-tag "${tag##*:}" --image-manifest "$manifest" >/dev/null
echo "pushed $tag ($file)"
"""


def _apply_like_cloudformation(self: Any) -> None:
    """moto 5 executes a change set's resources but leaves the stack's template, parameters and
    outputs as they were; CloudFormation updates all of them (deploy.sh reads the outputs). And
    for a parameter `sam deploy` passes as UsePreviousValue, moto hands back the resolved value
    (a list for CommaDelimitedList, the AMI id for an SSM parameter) where it expects the input."""
    slots = self.template_dict.get("Parameters", {})
    for key, value in list(self.parameters.items()):
        if isinstance(value, list):
            self.parameters[key] = ",".join(value)
        elif slots.get(key, {}).get("Type", "").startswith("AWS::SSM::Parameter::") and not str(value).startswith("/"):
            self.parameters[key] = slots[key]["Default"]
    _MOTO_APPLY(self)
    self.stack.template, self.stack.template_dict = self.template, self.template_dict
    if self.parameters:
        self.stack.parameters = self.parameters
    self.stack.output_map = self.stack._create_output_map()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ChangeSet, "apply", _apply_like_cloudformation)
        mp.setenv("MOTO_ECS_SERVICE_RUNNING", "1")  # moto's services start no tasks unless told
        server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
        server.stop()


@dataclass
class Runner:
    """The deploy job of deploy.yml, step by step, as GitHub Actions runs it."""

    endpoint: str
    workdir: Path
    variables: dict[str, str]
    sha: str
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    outcomes: list[tuple[str, str]] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)

    def expression(self, text: str, env: dict[str, str], failed: bool) -> Any:
        """A GitHub expression: contexts, ==, !=, &&, ||, quoted strings, failure()."""

        def context(match: re.Match[str]) -> str:
            parts = match[0].split(".")
            value: Any = {
                "vars": self.variables,
                "env": env,
                "steps": {k: {"outputs": v} for k, v in self.outputs.items()},
                "github": {"sha": self.sha, "run_id": "4242"},
            }[parts[0]]
            for part in parts[1:]:
                value = value.get(part, "") if isinstance(value, dict) else ""
            return repr(value)

        python = re.sub(r"\b(vars|env|steps|github)(\.[\w-]+)+", context, text.strip())
        python = python.replace("failure()", repr(failed)).replace("&&", " and ").replace("||", " or ")
        return eval(python, {"__builtins__": {}})  # the workflow's own expressions

    def substitute(self, text: str, env: dict[str, str], failed: bool) -> str:
        return re.sub(r"\$\{\{(.+?)\}\}", lambda m: str(self.expression(m[1], env, failed)), text)

    def run(self) -> bool:
        job = workflow("deploy.yml")["jobs"]["deploy"]
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_"))},
            "PATH": f"{self.workdir}:{TOOLS}:{os.environ['PATH']}",
            "SAM_CLI_TELEMETRY": "0",
            "TEMPLATE_FILE": str(self.workdir / "template.json"),
        }
        wf_env = workflow("deploy.yml")["env"]
        env |= {k: self.substitute(str(v), {}, False) for k, v in wf_env.items()}
        failed = False
        for step in job["steps"]:
            name = step.get("name") or step.get("uses") or step.get("id")
            condition = step.get("if")
            if not (self.expression(condition, env, failed) if condition else not failed):
                self.outcomes.append((name, "skipped"))
                continue
            if "uses" in step:
                env |= self.action(step)
                self.outcomes.append((name, "success"))
                continue
            output = self.workdir / "github_output"
            output.write_text("")
            step_env = {k: self.substitute(str(v), env, failed) for k, v in step.get("env", {}).items()}
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", self.substitute(step["run"], env, failed)],
                env={**env, **step_env, "GITHUB_OUTPUT": str(output)},
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=600,
            )
            self.logs[name] = proc.stdout + proc.stderr
            if "id" in step:
                lines = output.read_text().splitlines()
                self.outputs[step["id"]] = dict(line.split("=", 1) for line in lines if "=" in line)
            self.outcomes.append((name, "success" if proc.returncode == 0 else "failure"))
            failed = failed or proc.returncode != 0
        return not failed

    def action(self, step: dict[str, Any]) -> dict[str, str]:
        uses = step["uses"]
        if uses.startswith("aws-actions/configure-aws-credentials"):
            config = self.workdir / "aws-config"
            config.write_text("[default]\ns3 =\n  addressing_style = path\n")
            return {
                "AWS_ENDPOINT_URL_S3": self.endpoint.replace("127.0.0.1", "localhost"),
                "AWS_CONFIG_FILE": str(config),
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ENDPOINT_URL": self.endpoint,
            }
        if uses.startswith("aws-actions/amazon-ecr-login"):
            self.outputs[step["id"]] = {"registry": REGISTRY}
        return {}


def client(endpoint: str, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]  # the service is a variable here
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def conditions_met(template: dict[str, Any], parameters: dict[str, str]) -> set[str]:
    """The template's conditions that hold for these parameter values (else the defaults)."""
    values = {k: parameters.get(k, p.get("Default", "")) for k, p in template["Parameters"].items()}

    def value(node: Any) -> Any:
        if isinstance(node, dict) and "Ref" in node:
            return values.get(node["Ref"], node["Ref"])
        return node

    def holds(node: Any) -> bool:
        ((fn, args),) = node.items()
        if fn == "Condition":
            return holds(template["Conditions"][args])
        if fn == "Fn::Equals":
            return str(value(args[0])) == str(value(args[1]))
        if fn == "Fn::Not":
            return not holds(args[0])
        if fn == "Fn::And":
            return all(holds(a) for a in args)
        if fn == "Fn::Or":
            return any(holds(a) for a in args)
        raise ValueError(fn)

    return {name for name, node in template.get("Conditions", {}).items() if holds(node)}


def for_parameters(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """Without the resources whose Condition is false: moto 5 tries to update those too, and
    fails (CloudFormation leaves them alone)."""
    met = conditions_met(template, parameters)
    kept = {n: r for n, r in template["Resources"].items() if "Condition" not in r or r["Condition"] in met}
    return {**template, "Resources": kept}


@pytest.fixture()
def account(endpoint: str, tmp_path: Path) -> Path:
    """A fresh moto account after the bootstrap: the two repositories and the templates bucket;
    the stand-ins on PATH."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).close()
    for kind in ("lambda", "ecs"):
        client(endpoint, "ecr").create_repository(repositoryName=f"loan-risk-{kind}", imageTagMutability="IMMUTABLE")
    client(endpoint, "s3").create_bucket(Bucket=TEMPLATE_BUCKET)
    docker = tmp_path / "docker"
    docker.write_text(DOCKER)
    docker.chmod(0o755)
    # The model bundle step trains one when no bucket is set; the images are not built here.
    (tmp_path / "models").mkdir()
    return tmp_path


VARIABLES = {
    "AWS_REGION": REGION,
    "AWS_DEPLOY_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/loan-risk-deploy",
    "AWS_CFN_EXECUTION_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/loan-risk-cfn",
    "TEMPLATE_BUCKET": TEMPLATE_BUCKET,
    # A bundle "on S3" (moto's), so the model step downloads instead of training for minutes.
    "MODEL_BUNDLE_S3_URI": "s3://loan-risk-models/loan-risk/v1",
}


def publish_bundle(endpoint: str, bundle_dir: Path) -> None:
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket="loan-risk-models")
    for path in bundle_dir.iterdir():
        if path.is_file():
            s3.upload_file(str(path), "loan-risk-models", f"loan-risk/v1/{path.name}")


def stack_output(endpoint: str, key: str) -> str:
    stack = client(endpoint, "cloudformation").describe_stacks(StackName="loan-risk")["Stacks"][0]
    outputs = stack.get("Outputs", [])
    assert outputs, f"{stack['StackStatus']}: {stack.get('StackStatusReason')}"
    value: str = next(o["OutputValue"] for o in outputs if o["OutputKey"] == key)
    return value


@pytest.fixture()
def models_dir() -> Iterator[None]:
    """The model step writes models/current in the checkout; keep a developer's bundle safe."""
    current = ROOT / "models" / "current"
    saved = current.with_name("current.before-pipeline-test")
    if current.exists():
        current.rename(saved)
    yield
    shutil.rmtree(current, ignore_errors=True)
    if saved.exists():
        saved.rename(current)


def deploy(endpoint: str, workdir: Path, sha: str, **variables: str) -> Runner:
    template, _ = moto_subset(transformed({"LambdaImageUri": f"{REGISTRY}/loan-risk-lambda:0"}))
    parameters = {"EnableEcs": variables.get("ENABLE_ECS", "false")}
    (workdir / "template.json").write_text(json.dumps(for_parameters(template, parameters)))
    runner = Runner(endpoint, workdir, {**VARIABLES, **variables}, sha)
    runner.run()
    return runner


def uploaded_templates(endpoint: str) -> dict[str, Any]:
    """The templates `sam deploy` put in the bootstrap's bucket, by key, parsed."""
    s3 = client(endpoint, "s3")
    listing = s3.list_objects_v2(Bucket=TEMPLATE_BUCKET).get("Contents", [])
    return {o["Key"]: yaml.safe_load(s3.get_object(Bucket=TEMPLATE_BUCKET, Key=o["Key"])["Body"]) for o in listing}


def outcome(runner: Runner, prefix: str) -> str:
    return next(o for name, o in runner.outcomes if name.startswith(prefix))


SAM_DEPLOY = "sam deploy (CloudFormation rolls the stack back by itself if any resource fails)"
PUSH = "Build and push images (tag = commit SHA; tags are immutable, so a re-run reuses them)"


def test_a_failed_smoke_test_rolls_back_to_the_images_that_ran_before(
    endpoint: str, account: Path, bundle_dir: Path, models_dir: None
) -> None:
    publish_bundle(endpoint, bundle_dir)
    first = deploy(endpoint, account, "a" * 40)
    assert outcome(first, "Model bundle") == "success", first.logs["Model bundle"]
    assert (ROOT / "models/current/manifest.json").is_file()  # synced from the bucket
    assert outcome(first, "Build and push") == "success", first.logs[PUSH]
    assert outcome(first, "sam deploy") == "success", first.logs[SAM_DEPLOY][-3000:]
    assert outcome(first, "Network for ECS") == outcome(first, "Wait for the ECS service") == "skipped"
    # moto makes no API key and serves no execute-api URL: the smoke test fails, as it would
    # against a broken deployment. The first deploy has nothing to roll back to.
    assert outcome(first, "Smoke test") == "failure"
    assert outcome(first, "Roll back") == "skipped"
    image_a = f"{REGISTRY}/loan-risk-lambda:{'a' * 40}"
    assert stack_output(endpoint, "LambdaImageUri") == image_a
    # The template went through the bucket, under the stack's name (CloudFormation read it from
    # there: moto's change set fails on a TemplateURL whose object is missing).
    ((key, uploaded),) = uploaded_templates(endpoint).items()
    assert key.startswith("loan-risk/") and key.endswith(".template")
    sent = json.loads((account / "template.json").read_text())  # sam adds only Metadata to each resource
    assert uploaded["Parameters"] == sent["Parameters"] and uploaded["Outputs"] == sent["Outputs"]
    assert {n: r["Type"] for n, r in uploaded["Resources"].items()} == {
        n: r["Type"] for n, r in sent["Resources"].items()
    }

    second = deploy(endpoint, account, "b" * 40)
    assert second.outputs["previous"]["lambda"] == image_a  # read from the stack before deploying
    assert outcome(second, "sam deploy") == "success", second.logs[SAM_DEPLOY][-3000:]
    assert f"loan-risk-lambda:{'b' * 40}" in second.logs[SAM_DEPLOY]  # B was deployed before the smoke test
    assert outcome(second, "Smoke test") == "failure"
    assert outcome(second, "Roll back") == "success", second.logs["Roll back to the previous images"][-3000:]
    assert stack_output(endpoint, "LambdaImageUri") == image_a

    # Both commits' images stay in the registry (a rollback only redeploys), and a re-run of
    # a commit reuses its tags (they are immutable) instead of pushing again.
    tags = {i["imageTag"] for i in client(endpoint, "ecr").list_images(repositoryName="loan-risk-lambda")["imageIds"]}
    assert tags == {"a" * 40, "b" * 40}
    # The same template each time: named by its MD5, it was uploaded once.
    assert list(uploaded_templates(endpoint)) == [key]
    again = deploy(endpoint, account, "b" * 40)
    assert again.logs[PUSH].count("already pushed") == 2, again.logs[PUSH]


def test_with_ecs_the_network_is_looked_up_and_the_service_waited_for(
    endpoint: str, account: Path, bundle_dir: Path, models_dir: None
) -> None:
    """(The rollback redeploy with ECS is not run here: moto 5 fails a second update of the ECS
    resources with "GetAtt references undefined resource TaskLogGroup"; CloudFormation does not.)"""
    publish_bundle(endpoint, bundle_dir)
    run = deploy(endpoint, account, "a" * 40, ENABLE_ECS="true")
    assert outcome(run, "Network for ECS") == "success", run.logs[
        "Network for ECS (repository variables, else the default VPC)"
    ]
    default_vpc = client(endpoint, "ec2").describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    assert run.outputs["network"]["vpc"] == default_vpc["VpcId"]
    assert outcome(run, "sam deploy") == "success", run.logs[SAM_DEPLOY][-3000:]
    assert outcome(run, "Wait for the ECS service") == "success", run.logs["Wait for the ECS service to be stable"]
    assert stack_output(endpoint, "EcsImageUri") == f"{REGISTRY}/loan-risk-ecs:{'a' * 40}"
    ecs_tags = {i["imageTag"] for i in client(endpoint, "ecr").list_images(repositoryName="loan-risk-ecs")["imageIds"]}
    assert ecs_tags == {"a" * 40}


def test_a_failed_stack_update_stops_the_pipeline_before_the_smoke_test(
    endpoint: str, account: Path, bundle_dir: Path, models_dir: None
) -> None:
    """A deploy CloudFormation refuses ends the job there: no smoke test, nothing to roll back."""
    publish_bundle(endpoint, bundle_dir)
    runner = deploy(endpoint, account, "c" * 40, ENABLE_ECS="true", VPC_ID="vpc-doesnotexist")
    # A VPC that is not there: CloudFormation refuses the security groups, the deploy fails and
    # nothing runs after it but the rollback step (which has no previous images to go back to).
    assert outcome(runner, "sam deploy") == "failure"
    assert outcome(runner, "Smoke test") == "skipped" and outcome(runner, "Roll back") == "skipped"


def test_without_the_templates_bucket_the_deploy_stops_with_a_message(
    endpoint: str, account: Path, bundle_dir: Path, models_dir: None
) -> None:
    """No TEMPLATE_BUCKET: deploy.sh says which variable is missing before calling sam, which
    would otherwise send the template inline and have CloudFormation refuse it for its size."""
    publish_bundle(endpoint, bundle_dir)
    runner = deploy(endpoint, account, "d" * 40, TEMPLATE_BUCKET="")
    assert outcome(runner, "sam deploy") == "failure"
    (last_line,) = runner.logs[SAM_DEPLOY].strip().splitlines()[-1:]
    assert "TEMPLATE_BUCKET: is not set: the bucket for the template, output TemplateBucketName" in last_line
    assert not client(endpoint, "cloudformation").list_stacks()["StackSummaries"]
    assert outcome(runner, "Smoke test") == "skipped"
