"""template.yaml against the app it deploys: settings, routes, ports, health checks, IAM."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route

from lambda_app.app import create_app
from lambda_app.settings import Settings
from tests.deploy.infra import ECS_IMAGE, LAMBDA_IMAGE, sam_template, transformed

SETTINGS = {name.upper() for name in Settings.model_fields}


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in sam_template()["Resources"].items() if v["Type"] == kind}


def props(name: str) -> dict[str, Any]:
    result: dict[str, Any] = sam_template()["Resources"][name]["Properties"]
    return result


def unconditional(items: list[Any]) -> list[Any]:
    return [i for i in items if "Fn::If" not in i]


def when(condition: str, items: list[Any]) -> list[Any]:
    """The items present only under a condition (`!If [condition, item, !Ref AWS::NoValue]`)."""
    return [i["Fn::If"][1] for i in items if "Fn::If" in i and i["Fn::If"][0] == condition]


def test_every_environment_variable_is_a_setting() -> None:
    function_env = set(props("ScoreFunction")["Environment"]["Variables"])
    (container,) = props("TaskDefinition")["ContainerDefinitions"]
    environment = (
        unconditional(container["Environment"])
        + when("HasModelUri", container["Environment"])
        + when("HasDecisionRecords", container["Environment"])
    )
    assert len(environment) == len(container["Environment"])
    container_env = {e["Name"] for e in environment} | {s["Name"] for s in container["Secrets"]}
    assert function_env <= SETTINGS, function_env - SETTINGS
    assert container_env <= SETTINGS, container_env - SETTINGS
    # On Lambda API Gateway enforces the keys; the app's own check stays off.
    assert "API_KEYS" not in function_env
    # On ECS the keys come from Secrets Manager, never as plain environment.
    assert "API_KEYS" not in {e["Name"] for e in environment}


def test_model_uri_is_the_baked_bundle_unless_an_s3_uri_is_given() -> None:
    assert props("ScoreFunction")["Environment"]["Variables"]["MODEL_URI"] == {
        "Fn::If": ["HasModelUri", {"Ref": "ModelUri"}, {"Ref": "AWS::NoValue"}]
    }
    assert sam_template()["Parameters"]["ModelUri"]["Default"] == ""
    # Without an S3 bundle the tasks get no role, so no AWS credentials at all.
    assert props("TaskDefinition")["TaskRoleArn"] == {
        "Fn::If": ["EcsTaskRole", {"Fn::GetAtt": ["TaskRole", "Arn"]}, {"Ref": "AWS::NoValue"}]
    }
    assert sam_template()["Conditions"]["EcsTaskRole"] == {
        "Fn::Or": [{"Condition": "EcsModelFromS3"}, {"Condition": "EcsDecisionRecords"}]
    }
    (read_bundle,) = when("HasModelUri", props("TaskRole")["Policies"])
    task_role = read_bundle["PolicyDocument"]["Statement"]
    assert sorted(s["Action"] for s in task_role) == ["s3:GetObject", "s3:ListBucket"]


def test_lambda_function_runs_the_image_with_tracing_and_an_alias() -> None:
    fn = props("ScoreFunction")
    assert fn["PackageType"] == "Image" and fn["ImageUri"] == {"Ref": "LambdaImageUri"}
    assert fn["Tracing"] == "Active" and fn["AutoPublishAlias"] == "live"
    assert fn["Timeout"] <= 29  # API Gateway's REST integration limit
    memory = sam_template()["Parameters"]["LambdaMemoryMB"]
    assert memory["Default"] == 1024
    # The image's CMD names the handler; the template must not override it with another.
    assert "ImageConfig" not in fn
    metadata = sam_template()["Resources"]["ScoreFunction"]["Metadata"]
    assert metadata["Dockerfile"] == "Dockerfile.lambda" and metadata["DockerContext"] == "."


def test_provisioned_concurrency_is_optional() -> None:
    off = transformed({"LambdaImageUri": LAMBDA_IMAGE})["Resources"]
    on = transformed({"LambdaImageUri": LAMBDA_IMAGE, "ProvisionedConcurrency": "2"})["Resources"]
    (alias,) = (r for r in off.values() if r["Type"] == "AWS::Lambda::Alias")
    config = alias["Properties"]["ProvisionedConcurrencyConfig"]
    assert config["Fn::If"][0] == "HasProvisionedConcurrency"
    assert config["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert any(r["Type"] == "AWS::Lambda::Alias" for r in on.values())


def test_function_role_only_writes_its_logs_and_traces() -> None:
    (policy,) = props("ScoreFunctionRole")["Policies"]
    statements = unconditional(policy["PolicyDocument"]["Statement"])
    actions = sorted(a for s in statements for a in s["Action"])
    assert actions == ["logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    s3 = when("HasModelUri", policy["PolicyDocument"]["Statement"])
    assert sorted(s["Action"] for s in s3) == ["s3:GetObject", "s3:ListBucket"]
    logs = next(s for s in statements if "logs:PutLogEvents" in s["Action"])
    assert logs["Resource"] == {"Fn::Sub": "${ScoreFunctionLogGroup.Arn}"}
    assert "ManagedPolicyArns" not in props("ScoreFunctionRole")


def api_paths() -> dict[str, dict[str, Any]]:
    """OpenAPI paths of the REST API as SAM generates them from the function's events."""
    cfn = transformed({"LambdaImageUri": LAMBDA_IMAGE})
    (api,) = (r for r in cfn["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi")
    paths: dict[str, dict[str, Any]] = api["Properties"]["Body"]["paths"]
    return paths


def needs_key(operation: dict[str, Any]) -> bool:
    return any("api_key" in requirement for requirement in operation.get("security", []))


def gateway_route(paths: dict[str, dict[str, Any]], path: str, method: str) -> dict[str, Any] | None:
    """The operation API Gateway picks for a request: an exact path beats {param} beats {proxy+}."""

    def pattern(template: str) -> str:
        regex = re.escape(template).replace(r"\{proxy\+\}", ".+")
        return "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", regex) + "$"

    candidates = [p for p in paths if re.match(pattern(p), path)]
    for candidate in sorted(candidates, key=lambda p: ("{proxy+}" in p, "{" in p, -len(p))):
        operations = paths[candidate]
        operation = operations.get(method.lower()) or operations.get("x-amazon-apigateway-any-method")
        if operation:
            return operation
    return None


def example_path(route_path: str) -> str:
    return re.sub(r"\{\w+\}", "example", route_path)


def app_routes(bundle_dir: Path) -> list[tuple[str, str]]:
    """(method, path) of every route, UI pages (left out of the OpenAPI document) included."""
    app = create_app(Settings(model_uri=str(bundle_dir)))

    def flatten(routes: list[Any], prefix: str = "") -> list[tuple[str, str]]:
        found = []
        for route in routes:
            if isinstance(route, Route):
                found += [(m, prefix + route.path) for m in route.methods or {"GET"} if m != "HEAD"]
            elif hasattr(route, "original_router"):  # FastAPI >= 0.160 keeps included routers nested
                found += flatten(route.original_router.routes, prefix + route.include_context.prefix)
            else:
                raise TypeError(f"unknown route type {type(route)}")
        return found

    routes = flatten(app.routes)
    assert set(app.openapi()["paths"]) <= {path for _, path in routes}  # nothing missed
    return routes


def test_every_app_route_is_reachable_and_v1_needs_a_key(bundle_dir: Path) -> None:
    """Public UI/docs/probes, keyed /v1/*: a route the app gains without a template change fails here."""
    paths = api_paths()
    for method, path in app_routes(bundle_dir):
        operation = gateway_route(paths, example_path(path), method)
        assert operation is not None, f"{method} {path} is not routed by API Gateway"
        assert needs_key(operation) == path.startswith("/v1/"), f"{method} {path}"


def test_unknown_paths_never_reach_the_function() -> None:
    paths = api_paths()
    assert "/{proxy+}" not in paths
    assert gateway_route(paths, "/wp-login.php", "GET") is None
    assert needs_key(paths["/v1/{proxy+}"]["x-amazon-apigateway-any-method"])


def test_usage_plan_throttles_and_meters_the_key() -> None:
    resources = transformed({"LambdaImageUri": LAMBDA_IMAGE})["Resources"]
    kinds = {r["Type"] for r in resources.values()}
    assert {"AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::UsagePlanKey"} <= kinds
    (plan,) = (r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::UsagePlan")
    # (the translator resolves the parameters to their defaults)
    assert plan["Throttle"] == {"RateLimit": 50, "BurstLimit": 100}
    assert plan["Quota"] == {"Limit": 100000, "Period": "DAY"}


def test_ecs_part_is_switched_by_a_parameter() -> None:
    template = sam_template()
    ecs = {
        k for k, v in template["Resources"].items() if v["Type"].startswith(("AWS::ECS", "AWS::ElasticLoadBalancingV2"))
    }
    assert ecs and all(template["Resources"][k].get("Condition") in ("Ecs", "EcsHttps") for k in ecs)
    assert template["Conditions"]["Ecs"] == {"Fn::Equals": [{"Ref": "EnableEcs"}, "true"]}
    assert template["Parameters"]["EnableEcs"]["Default"] == "false"


def test_ecs_service_fargate_circuit_breaker_and_alb_health_check(bundle_dir: Path) -> None:
    service = props("Service")
    assert service["LaunchType"] == "FARGATE"
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    task = props("TaskDefinition")
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    (container,) = task["ContainerDefinitions"]
    assert container["ReadonlyRootFilesystem"] is True
    (port,) = container["PortMappings"]
    target = props("TargetGroup")
    assert port["ContainerPort"] == target["Port"] == 8080
    # The ALB health check and the container health check probe a route the app serves.
    app_paths = {path for _, path in app_routes(bundle_dir)}
    assert target["HealthCheckPath"] in app_paths
    probe = " ".join(container["HealthCheck"]["Command"])
    assert re.search(r"127\.0\.0\.1:8080(/\w+)", probe)[1] in app_paths  # type: ignore[index]
    # Workers per task size: one per vCPU of the task.
    for size in template_sizes().values():
        assert int(size["Workers"]) == int(size["Cpu"]) // 1024


def template_sizes() -> dict[str, dict[str, str]]:
    sizes: dict[str, dict[str, str]] = sam_template()["Mappings"]["TaskSize"]
    return sizes


def test_only_the_alb_reaches_the_tasks() -> None:
    (ingress,) = props("TaskSecurityGroup")["SecurityGroupIngress"]
    assert ingress["SourceSecurityGroupId"] == {"Ref": "AlbSecurityGroup"} and "CidrIp" not in ingress
    egress = props("AlbToTasksEgress")
    assert egress["DestinationSecurityGroupId"] == {"Ref": "TaskSecurityGroup"}
    assert egress["FromPort"] == egress["ToPort"] == 8080


def test_ecr_pull_is_scoped_to_the_repository_in_the_image_uri() -> None:
    """The task execution role derives the repository ARN from EcsImageUri; check the split on a real URI."""
    statements = props("TaskExecutionRole")["Policies"][0]["PolicyDocument"]["Statement"]
    pull = next(s for s in statements if "ecr:BatchGetImage" in s["Action"])
    _, variables = pull["Resource"]["Fn::Sub"]
    split = variables["Repo"]["Fn::Select"]
    # !Select [0, !Split [":", !Select [1, !Split ["/", uri]]]]
    assert split[1]["Fn::Split"][0] == ":" and split[1]["Fn::Split"][1]["Fn::Select"][1]["Fn::Split"][0] == "/"
    assert ECS_IMAGE.split("/")[1].split(":")[0] == "loan-risk-ecs"


def test_log_groups_have_retention_and_alarms_cover_5xx_and_latency() -> None:
    for name, group in resources("AWS::Logs::LogGroup").items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
    metrics = {
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"])
        for a in resources("AWS::CloudWatch::Alarm").values()
        if a.get("Condition") != "Monitoring"  # the monitoring job's own: tests/deploy/test_monitoring_template.py
    }
    assert metrics == {
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("LoanRisk", "DecisionRecordsLost"),
        ("AWS/Firehose", "DeliveryToS3.Success"),
    }
    # The API Gateway alarms name the API the template creates.
    api_name = props("Api")["Name"]
    for alarm in resources("AWS::CloudWatch::Alarm").values():
        dims = {d["Name"]: d["Value"] for d in alarm["Properties"].get("Dimensions", [])}
        if "ApiName" in dims:
            assert dims["ApiName"] == api_name


@pytest.mark.parametrize("output", ["ApiUrl", "ApiKeyId", "EcsUrl", "EcsClusterName", "EcsServiceName"])
def test_both_endpoints_are_outputs(output: str) -> None:
    assert output in sam_template()["Outputs"]
