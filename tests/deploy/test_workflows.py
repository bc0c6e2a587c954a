"""The workflows, the deploy script and the two templates agree on names: parameters, outputs,
repositories, roles. A rename in one place without the others fails here, not in a deploy."""

from __future__ import annotations

import re
from typing import cast

from tests.deploy.infra import DEPLOY_SCRIPT, ROOT, WORKFLOWS, bootstrap_template, run_scripts, sam_template, workflow

DEPLOY = workflow("deploy.yml")
CI = workflow("ci.yml")
DEPLOY_TEXT = (WORKFLOWS / "deploy.yml").read_text()
SCRIPT = DEPLOY_SCRIPT.read_text()


def test_deploy_script_passes_only_template_parameters_and_all_required_ones() -> None:
    passed = set(re.findall(r"\b([A-Z]\w+)=\"\$", SCRIPT))
    parameters = sam_template()["Parameters"]
    assert passed and passed <= set(parameters), passed - set(parameters)
    required = {name for name, p in parameters.items() if "Default" not in p}
    assert required <= passed


def test_outputs_the_workflow_reads_exist() -> None:
    read = set(re.findall(r"deploy\.sh output (\w+)", DEPLOY_TEXT))
    assert {"ApiUrl", "ApiKeyId", "EcsUrl", "EcsClusterName", "EcsServiceName", "LambdaImageUri"} <= read
    assert read <= set(sam_template()["Outputs"]), read - set(sam_template()["Outputs"])


def test_images_go_to_the_bootstrap_repositories() -> None:
    names = {
        r["Properties"]["RepositoryName"]["Fn::Sub"]
        for r in bootstrap_template()["Resources"].values()
        if r["Type"] == "AWS::ECR::Repository"
    }
    assert names == {"${AppStackName}-lambda", "${AppStackName}-ecs"}
    assert 'repo="$STACK_NAME-$kind"' in DEPLOY_TEXT and "for kind in lambda ecs" in DEPLOY_TEXT
    assert bootstrap_template()["Parameters"]["AppStackName"]["Default"] == "loan-risk"
    assert "STACK_NAME: ${{ vars.STACK_NAME || 'loan-risk' }}" in DEPLOY_TEXT
    for kind in ("lambda", "ecs"):
        assert "Dockerfile.$kind" in DEPLOY_TEXT and (ROOT / f"Dockerfile.{kind}").is_file()


def test_deploy_uses_oidc_and_no_stored_keys() -> None:
    everything = "\n".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))
    assert "secrets." not in everything  # no AWS keys, nor any other secret
    assert not re.search(r"AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)", everything)
    job = DEPLOY["jobs"]["deploy"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert DEPLOY["permissions"] == {"contents": "read"} and CI["permissions"] == {"contents": "read"}
    creds = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert creds["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert "${{ vars.AWS_CFN_EXECUTION_ROLE_ARN }}" in DEPLOY_TEXT


def test_bootstrap_outputs_name_the_variables_the_workflow_reads() -> None:
    outputs = bootstrap_template()["Outputs"]
    assert "AWS_DEPLOY_ROLE_ARN" in outputs["DeployRoleArn"]["Description"]
    assert "AWS_CFN_EXECUTION_ROLE_ARN" in outputs["CloudFormationExecutionRoleArn"]["Description"]


def test_deploy_role_trusts_one_branch_of_one_repository() -> None:
    role = bootstrap_template()["Resources"]["DeployRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition = statement["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert condition["token.actions.githubusercontent.com:sub"] == {
        "Fn::Sub": "repo:${GitHubRepository}:ref:refs/heads/${DeployBranch}"
    }
    assert DEPLOY["on"]["push"]["branches"] == [bootstrap_template()["Parameters"]["DeployBranch"]["Default"]]


def test_deploy_role_can_pass_only_the_execution_role_to_cloudformation() -> None:
    statements = bootstrap_template()["Resources"]["DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    passes = [s for s in statements if "iam:PassRole" in s["Action"]]
    (only,) = passes
    assert only["Resource"] == {"Fn::GetAtt": ["CloudFormationExecutionRole", "Arn"]}
    assert not any(a.startswith(("iam:Create", "iam:Put", "iam:Attach")) for s in statements for a in _actions(s))


def _actions(statement: dict[str, object]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(cast(list[str], actions))


def test_deploy_waits_smoke_tests_and_rolls_back() -> None:
    scripts = run_scripts(DEPLOY)
    assert "aws ecs wait services-stable" in scripts
    assert scripts.count("python3 .ci/smoke.py url") == 2
    rollback = next(s for s in DEPLOY["jobs"]["deploy"]["steps"] if s.get("name", "").startswith("Roll back"))
    assert rollback["if"].startswith("failure()")
    assert rollback["env"]["LAMBDA_IMAGE"] == "${{ steps.previous.outputs.lambda }}"
    assert "--provenance=false" in scripts  # Lambda refuses multi-platform manifests


def test_ci_builds_and_smoke_tests_both_images_and_runs_every_check() -> None:
    scripts = run_scripts(CI)
    for command in (
        "make lint",
        "make test",
        "make check-infra",
        "docker build -f Dockerfile.lambda",
        "docker build -f Dockerfile.ecs",
        ".ci/smoke.py images --engine docker",
    ):
        assert command in scripts, command


def test_sam_deploy_sends_the_template_through_the_bootstrap_bucket() -> None:
    """CloudFormation takes at most 51,200 bytes of template inline; template.yaml is larger, so
    deploy.sh must upload it (sam deploy --s3-bucket) into the bootstrap's bucket, under the
    stack's name: the one prefix the deploy role may write."""
    deploy_command = SCRIPT[SCRIPT.index("sam deploy \\") :]
    assert '--s3-bucket "$TEMPLATE_BUCKET"' in deploy_command
    assert '--s3-prefix "$STACK_NAME"' in deploy_command
    assert ': "${TEMPLATE_BUCKET:?' in SCRIPT  # required: without it sam would send the template inline
    deploys = [s for s in DEPLOY["jobs"]["deploy"]["steps"] if re.search(r"^\.ci/deploy\.sh$", s.get("run", ""), re.M)]
    assert [s["name"].split()[0] for s in deploys] == ["sam", "Roll"]  # the deploy and the rollback
    assert all(s["env"]["TEMPLATE_BUCKET"] == "${{ vars.TEMPLATE_BUCKET }}" for s in deploys)
    bootstrap = bootstrap_template()
    assert "TEMPLATE_BUCKET" in bootstrap["Outputs"]["TemplateBucketName"]["Description"]
    assert bootstrap["Outputs"]["TemplateBucketName"]["Value"] == {"Ref": "TemplateBucket"}
    (write,) = bootstrap["Resources"]["TemplateBucketWrite"]["Properties"]["PolicyDocument"]["Statement"]
    assert write["Resource"] == {"Fn::Sub": "${TemplateBucket.Arn}/${AppStackName}/*"}


def test_the_templates_fit_the_way_each_is_deployed() -> None:
    """From S3 CloudFormation takes a template of at most 1 MB; the bootstrap is deployed by hand
    with `aws cloudformation deploy` and no bucket (it creates the bucket), so inline: 51,200."""
    assert len((ROOT / "template.yaml").read_bytes()) <= 1_048_576
    assert len((ROOT / ".github" / "bootstrap.yaml").read_bytes()) <= 51_200


def test_the_templates_bucket_is_private_encrypted_tls_only_and_expires_objects() -> None:
    resources = bootstrap_template()["Resources"]
    bucket = resources["TemplateBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == {"Ref": "TemplateRetentionDays"}
    (deny,) = resources["TemplateBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # CloudFormation reads TemplateURL with the caller's credentials: the execution role needs
    # no S3 access, and has none.
    execution = resources["CloudFormationExecutionRole"]["Properties"]["Policies"]
    statements = [s for p in execution for s in p["PolicyDocument"]["Statement"]]
    assert not any(a.startswith("s3:") for s in statements for a in _actions(s))
