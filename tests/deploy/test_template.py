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
            found: dict[str, Any] = operation
            return found
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
    assert ecs and all(template["Resources"][k].get("Condition") in ("Ecs", "EcsHttps", "EcsOnEc2") for k in ecs)
    assert template["Conditions"]["Ecs"] == {"Fn::Equals": [{"Ref": "EnableEcs"}, "true"]}
    assert template["Parameters"]["EnableEcs"]["Default"] == "false"


def test_ecs_service_fargate_circuit_breaker_and_alb_health_check(bundle_dir: Path) -> None:
    service = props("Service")
    assert service["LaunchType"] == {"Fn::If": ["EcsOnEc2", {"Ref": "AWS::NoValue"}, "FARGATE"]}
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    task = props("TaskDefinition")
    assert task["RequiresCompatibilities"] == ["FARGATE", "EC2"] and task["NetworkMode"] == "awsvpc"
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
        ("AWS/Lambda", "Errors"),  # of the version being rolled out
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


# --- rollout


def test_lambda_rolls_out_through_codedeploy_with_the_hook_and_alarms() -> None:
    fn = props("ScoreFunction")
    preference = fn["DeploymentPreference"]
    assert preference["Type"] == {"Ref": "DeploymentType"}
    deployment_type = sam_template()["Parameters"]["DeploymentType"]
    assert deployment_type["Default"].startswith("Canary") and "AllAtOnce" in deployment_type["AllowedValues"]
    alarms = {a["Ref"] for a in preference["Alarms"]}
    assert {"Api5xxAlarm", "ApiLatencyAlarm", "NewVersionErrorsAlarm"} == alarms
    assert preference["Hooks"] == {"PreTraffic": {"Ref": "PreTrafficHook"}}
    # A new ModelUri with the same image must still make a new version (and so a rollout).
    assert fn["AutoPublishAliasAllProperties"] is True

    resources = transformed({"LambdaImageUri": LAMBDA_IMAGE, "DeploymentType": "AllAtOnce"})["Resources"]
    (group,) = (r["Properties"] for r in resources.values() if r["Type"] == "AWS::CodeDeploy::DeploymentGroup")
    assert group["DeploymentConfigName"]["Fn::Sub"][1] == {"ConfigName": "AllAtOnce"}
    assert {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"} <= set(group["AutoRollbackConfiguration"]["Events"])
    (alias,) = (r for r in resources.values() if r["Type"] == "AWS::Lambda::Alias")
    assert alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["BeforeAllowTrafficHook"] == {"Ref": "PreTrafficHook"}


def test_the_canary_windows_outlast_the_alarms_that_stop_them() -> None:
    """A canary that ends before its alarms can fire rolls nothing back."""
    minutes = {
        name: a["Properties"]["Period"] * a["Properties"]["EvaluationPeriods"] / 60
        for name, a in resources("AWS::CloudWatch::Alarm").items()
        if name.startswith("Api")
    }
    default = sam_template()["Parameters"]["DeploymentType"]["Default"]
    canary_minutes = int(re.fullmatch(r"Canary10Percent(\d+)Minutes", default)[1])  # type: ignore[index]
    assert canary_minutes >= max(minutes.values())


def test_pre_traffic_hook_is_the_same_image_with_the_hook_handler() -> None:
    from lambda_app.runtime import pre_traffic

    hook = props("PreTrafficHook")
    assert hook["ImageUri"] == {"Ref": "LambdaImageUri"} and hook["PackageType"] == "Image"
    (command,) = hook["ImageConfig"]["Command"]
    module, _, name = command.rpartition(".")
    assert module == pre_traffic.__name__ and callable(getattr(pre_traffic, name))
    # The role SAM makes for CodeDeploy may invoke only functions named CodeDeployHook_*.
    assert hook["FunctionName"]["Fn::Sub"].startswith("CodeDeployHook_")
    variables = hook["Environment"]["Variables"]
    assert set(variables) <= SETTINGS
    assert variables["PRE_TRAFFIC_TARGET"] == {"Ref": "ScoreFunction.Version"}  # the new version, not the alias
    assert variables["MODEL_URI"] == props("ScoreFunction")["Environment"]["Variables"]["MODEL_URI"]


def test_pre_traffic_hook_role_invokes_versions_and_reports_only() -> None:
    (policy,) = props("PreTrafficHookRole")["Policies"]
    statements = unconditional(policy["PolicyDocument"]["Statement"])
    by_action = {
        a: s["Resource"] for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert by_action["lambda:InvokeFunction"] == {"Fn::Sub": "${ScoreFunction.Arn}:*"}
    report = by_action["codedeploy:PutLifecycleEventHookExecutionStatus"]["Fn::Sub"]
    assert report.endswith(":deploymentgroup:${ServerlessDeploymentApplication}/*")
    assert set(by_action) == {
        "lambda:InvokeFunction",
        "codedeploy:PutLifecycleEventHookExecutionStatus",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }


def test_ecs_rolls_back_on_the_alb_alarms_beside_the_circuit_breaker() -> None:
    config = props("Service")["DeploymentConfiguration"]
    assert config["Alarms"] == {
        "AlarmNames": [{"Ref": "Alb5xxAlarm"}, {"Ref": "AlbLatencyAlarm"}],
        "Enable": True,
        "Rollback": True,
    }
    assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


# --- shield


def test_plain_http_never_faces_the_internet() -> None:
    assert props("LoadBalancer")["Scheme"] == {"Fn::If": ["EcsHttps", "internet-facing", "internal"]}
    actions = props("HttpListener")["DefaultActions"]["Fn::If"]
    assert actions[0] == "EcsHttps" and [a["Type"] for a in actions[1]] == ["redirect"]
    assert props("HttpsListener")["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert sam_template()["Resources"]["AlbHttpsIngress"]["Condition"] == "EcsHttps"


def test_waf_rate_limits_per_ip_and_runs_the_managed_rules_on_both_entry_points() -> None:
    acl = props("WebAcl")
    assert sam_template()["Resources"]["WebAcl"]["Condition"] == "Waf"
    assert sam_template()["Parameters"]["EnableWaf"]["Default"] == "true"
    rules = {r["Name"]: r for r in acl["Rules"]}
    rate = rules["rate-per-ip"]
    assert rate["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP" and "Block" in rate["Action"]
    assert rate["Priority"] == min(r["Priority"] for r in acl["Rules"])
    groups = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in rules.values()
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert groups == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    # Batches and CSV uploads are bigger than the common rule set's 8 KB body limit.
    common = rules["aws-common"]["Statement"]["ManagedRuleGroupStatement"]
    assert common["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]

    cfn = transformed({"LambdaImageUri": LAMBDA_IMAGE})["Resources"]
    stage = next(name for name, r in cfn.items() if r["Type"] == "AWS::ApiGateway::Stage")
    assert cfn["ApiWebAclAssociation"]["Properties"]["ResourceArn"]["Fn::Sub"].endswith(
        f"/restapis/${{Api}}/stages/${{{stage}}}"
    )
    assert props("AlbWebAclAssociation")["ResourceArn"] == {"Ref": "LoadBalancer"}
    assert sam_template()["Resources"]["AlbWebAclAssociation"]["Condition"] == "EcsWaf"


# --- EC2


def test_ec2_instances_have_no_ssh_imdsv2_and_the_ecs_and_ssm_policies_only() -> None:
    role = props("InstanceRole")
    assert [a["Fn::Sub"].rsplit("/", 1)[1] for a in role["ManagedPolicyArns"]] == [
        "AmazonEC2ContainerServiceforEC2Role",
        "AmazonSSMManagedInstanceCore",
    ]
    assert "Policies" not in role
    data = props("LaunchTemplate")["LaunchTemplateData"]
    assert "KeyName" not in data
    assert (
        data["MetadataOptions"]["HttpTokens"] == "required" and data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    )
    assert all(d["Ebs"]["Encrypted"] for d in data["BlockDeviceMappings"])
    group = props("InstanceSecurityGroup")
    assert "SecurityGroupIngress" not in group
    assert [(e["FromPort"], e["ToPort"]) for e in group["SecurityGroupEgress"]] == [(443, 443)]
    image = sam_template()["Parameters"]["Ec2ImageId"]
    assert image["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert image["Default"].startswith("/aws/service/ecs/optimized-ami/")
    user_data = data["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert "ECS_CLUSTER=${Cluster}" in user_data and "ECS_AWSVPC_BLOCK_IMDS=true" in user_data


def test_service_uses_the_capacity_provider_on_ec2_and_fargate_otherwise() -> None:
    service = props("Service")
    strategy = service["CapacityProviderStrategy"]["Fn::If"]
    assert strategy[0] == "EcsOnEc2" and strategy[1][0]["CapacityProvider"] == {"Ref": "CapacityProvider"}
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"]["Fn::If"][1] == "DISABLED"
    provider = props("CapacityProvider")["AutoScalingGroupProvider"]
    assert provider["AutoScalingGroupArn"] == {"Ref": "AutoScalingGroup"}
    assert provider["ManagedScaling"]["Status"] == "ENABLED"
    assert sam_template()["Conditions"]["EcsOnEc2"] == {
        "Fn::And": [{"Condition": "Ecs"}, {"Fn::Equals": [{"Ref": "EcsLaunchType"}, "EC2"]}]
    }
