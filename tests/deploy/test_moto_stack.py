"""template.yaml, transformed by the SAM translator, created as a CloudFormation stack in moto.

moto's CloudFormation implements a subset of resource types, so the stack holds those and
references to the rest become placeholders; the types left out are listed (and checked) below
so a template change that moto can't see is a visible decision, not an accident.
"""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from tests.deploy.infra import ECS_IMAGE, LAMBDA_IMAGE, REGION, transformed

moto = pytest.importorskip("moto", reason="moto[cloudformation] is in the dev extra: make install")
from moto.cloudformation.parsing import NULL_MODELS, get_model_map  # noqa: E402

# moto warns about each WaitConditionHandle it treats as a no-op, as CloudFormation does.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle:UserWarning")

# Types the template uses that moto's CloudFormation cannot create (as of moto 5.1).
NOT_IN_MOTO = {
    "AWS::ApiGateway::ApiKey",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::UsagePlanKey",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::Lambda::Alias",
    "AWS::SecretsManager::Secret",
    # Decision records: test_decision_records.py creates the stream through the Firehose API from
    # the template's own properties; the TLS-only bucket policy is checked in the template.
    "AWS::KinesisFirehose::DeliveryStream",
    "AWS::S3::BucketPolicy",
    # The rollout, the shield and the EC2 capacity provider: test_template.py checks them.
    "AWS::CodeDeploy::Application",
    "AWS::CodeDeploy::DeploymentGroup",
    "AWS::ECS::CapacityProvider",
    "AWS::ECS::ClusterCapacityProviderAssociations",
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::WebACLAssociation",
    # moto has this type but ignores the RestApi's OpenAPI Body, which is where SAM puts the
    # routes; a deployment of an API without methods is refused. test_template.py checks the Body.
    "AWS::ApiGateway::Deployment",
}


def moto_subset(template: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    supported = (set(get_model_map()) | set(NULL_MODELS)) - {"AWS::ApiGateway::Deployment"}
    resources = template["Resources"]
    dropped = {name for name, r in resources.items() if r["Type"] not in supported}

    # A Lambda alias stands in as its function (permissions and integrations name the alias).
    aliases = {
        name: resources[name]["Properties"]["FunctionName"]["Ref"]
        for name in dropped
        if resources[name]["Type"] == "AWS::Lambda::Alias"
    }

    # moto's Lambda version has no Ref value (CloudFormation's is the version's ARN); the first
    # version a new stack publishes is 1.
    versions = {
        name: r["Properties"]["FunctionName"]["Ref"]
        for name, r in resources.items()
        if r["Type"] == "AWS::Lambda::Version"
    }

    def scrub(node: Any) -> Any:
        if isinstance(node, list):
            return [scrub(v) for v in node]
        if not isinstance(node, dict):
            return node
        replaced = _ref_replacement(node.get("Ref"), versions, aliases, dropped)
        if replaced is not None:
            return replaced
        if "Fn::GetAtt" in node and node["Fn::GetAtt"][0] in dropped:
            return f"placeholder-{node['Fn::GetAtt'][0]}"
        if isinstance(node.get("Fn::Sub"), str):  # ${Name} and ${Name.Attribute} inside Fn::Sub
            return {"Fn::Sub": _scrub_sub(node["Fn::Sub"], aliases, dropped)}
        return {k: scrub(v) for k, v in node.items()}

    kept = {}
    for name, resource in resources.items():
        if name in dropped:
            continue
        resource = scrub(resource)
        depends = resource.get("DependsOn")
        if depends is not None:
            depends = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in dropped]
            resource["DependsOn"] = depends or None
            if not depends:
                del resource["DependsOn"]
        kept[name] = resource
    outputs = {k: scrub(v) for k, v in template.get("Outputs", {}).items()}
    subset = {**template, "Resources": kept, "Outputs": outputs}
    return subset, {resources[name]["Type"] for name in dropped}


def _ref_replacement(ref: Any, versions: dict[str, str], aliases: dict[str, str], dropped: set[str]) -> Any:
    """What a `Ref` to a version, an alias or a dropped resource becomes; None for any other."""
    if ref in versions:
        return {"Fn::Join": [":", [{"Fn::GetAtt": [versions[ref], "Arn"]}, "1"]]}
    if ref in aliases:
        return {"Fn::GetAtt": [aliases[ref], "Arn"]}
    if ref in dropped:
        return f"placeholder-{ref}"
    return None


def _scrub_sub(text: str, aliases: dict[str, str], dropped: set[str]) -> str:
    return re.sub(
        r"\$\{(\w+)(\.\w+)?\}",
        lambda m: (
            f"${{{aliases[m[1]]}.Arn}}" if m[1] in aliases else f"placeholder-{m[1]}" if m[1] in dropped else m[0]
        ),
        text,
    )


def create_stack(parameters: dict[str, str]) -> tuple[dict[str, Any], set[str]]:
    template, dropped_types = moto_subset(transformed(parameters))
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(
        StackName="loan-risk",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = cfn.describe_stacks(StackName="loan-risk")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return stack, dropped_types


def resources_by_type() -> dict[str, list[str]]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    found: dict[str, list[str]] = {}
    for r in cfn.describe_stack_resources(StackName="loan-risk")["StackResources"]:
        if "ResourceType" in r:  # moto also lists the resources whose Condition is false, without a type
            found.setdefault(r["ResourceType"], []).append(r["LogicalResourceId"])
    return found


def test_lambda_stack_is_created(aws: None) -> None:
    stack, dropped_types = create_stack({"LambdaImageUri": LAMBDA_IMAGE})
    assert dropped_types <= NOT_IN_MOTO
    found = resources_by_type()
    # EnableEcs defaults to false: nothing of the ECS part is created.
    assert not any(t.startswith(("AWS::ECS", "AWS::ElasticLoadBalancingV2")) for t in found)
    assert "AWS::ApiGateway::RestApi" in found and "AWS::Lambda::Version" in found

    fn = boto3.client("lambda", region_name=REGION).get_function(FunctionName="loan-risk-score")["Configuration"]
    # (moto records neither PackageType Image nor active tracing; test_template.py checks both.)
    assert fn["MemorySize"] == 1024 and fn["Timeout"] <= 29
    # API_KEYS stays unset: API Gateway checks keys
    assert fn["Environment"]["Variables"] == {"LOG_LEVEL": "INFO", "DECISION_RECORDS": "off"}

    groups = boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"]
    retention = {g["logGroupName"]: g.get("retentionInDays") for g in groups}
    assert retention == {
        "/aws/lambda/loan-risk-score": 365,
        "/aws/apigateway/loan-risk-access": 365,
        "/aws/lambda/CodeDeployHook_loan-risk-pre-traffic": 365,
        "/aws/lambda/loan-risk-portfolio": 365,
        "/aws/vendedlogs/states/loan-risk-portfolio": 365,
    }

    # The pre-traffic hook: the same image, told which published version of the function to ask.
    lam = boto3.client("lambda", region_name=REGION)
    hook = lam.get_function(FunctionName="CodeDeployHook_loan-risk-pre-traffic")["Configuration"]
    (version,) = (
        v
        for v in lam.list_versions_by_function(FunctionName="loan-risk-score")["Versions"]
        if v["Version"] != "$LATEST"
    )
    assert hook["Environment"]["Variables"] == {"LOG_LEVEL": "INFO", "PRE_TRAFFIC_TARGET": version["FunctionArn"]}
    assert hook["Timeout"] == 300

    iam = boto3.client("iam", region_name=REGION)
    role = fn["Role"].rsplit("/", 1)[1]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["logs-and-traces"]  # its actions: test_template.py

    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    api_id = boto3.client("apigateway", region_name=REGION).get_rest_apis()["items"][0]["id"]
    assert outputs["ApiUrl"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/prod"
    assert outputs["LambdaImageUri"] == LAMBDA_IMAGE
    assert "EcsUrl" not in outputs


def test_ecs_stack_is_created(aws: None) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    stack, dropped_types = create_stack(
        {
            "LambdaImageUri": LAMBDA_IMAGE,
            "EnableEcs": "true",
            "EcsImageUri": ECS_IMAGE,
            "VpcId": vpc,
            "AlbSubnetIds": ",".join(subnets[:2]),
            "TaskSubnetIds": ",".join(subnets[:2]),
            "EcsTaskSize": "medium",
        }
    )
    assert dropped_types <= NOT_IN_MOTO
    found = resources_by_type()
    for kind in ("AWS::ECS::Cluster", "AWS::ECS::Service", "AWS::ECS::TaskDefinition"):
        assert kind in found, kind
    assert "HttpsListener" not in found["AWS::ElasticLoadBalancingV2::Listener"]  # no certificate given

    ecs = boto3.client("ecs", region_name=REGION)
    cluster = ecs.list_clusters()["clusterArns"][0]
    (service,) = ecs.describe_services(cluster=cluster, services=ecs.list_services(cluster=cluster)["serviceArns"])[
        "services"
    ]
    # (moto records every service as EC2 and drops task-level cpu; test_template.py checks those.)
    assert service["desiredCount"] == 1
    task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert task["memory"] == "4096"
    (container,) = task["containerDefinitions"]
    assert container["image"] == ECS_IMAGE and container["readonlyRootFilesystem"] is True
    # (moto keeps an AWS::NoValue list item, here the MODEL_URI of an S3 bundle, as null)
    assert {e["name"]: e["value"] for e in container["environment"] if e} == {
        "WORKERS": "2",
        "LOG_LEVEL": "INFO",
        "DECISION_RECORDS": "off",
    }
    assert container["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp"}]
    assert [s["name"] for s in container["secrets"]] == ["API_KEYS"]
    assert "taskRoleArn" not in task  # the app calls no AWS API: no credentials in the container

    elb = boto3.client("elbv2", region_name=REGION)
    (tg,) = elb.describe_target_groups()["TargetGroups"]
    assert (tg["HealthCheckPath"], tg["Port"], tg["TargetType"]) == ("/health", 8080, "ip")

    groups = {g["Description"]: g for g in ec2.describe_security_groups()["SecurityGroups"]}
    tasks_sg, alb_sg = groups["Scoring tasks, reachable from the ALB only"], groups["Public entry to the scoring ALB"]
    (ingress,) = tasks_sg["IpPermissions"]
    assert ingress["FromPort"] == ingress["ToPort"] == 8080 and not ingress.get("IpRanges")
    assert [p["GroupId"] for p in ingress["UserIdGroupPairs"]] == [alb_sg["GroupId"]]

    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    (lb,) = elb.describe_load_balancers()["LoadBalancers"]
    assert outputs["EcsUrl"] == f"http://{lb['DNSName']}"
    assert outputs["EcsClusterName"] == cluster.rsplit("/", 1)[1]


def test_s3_bundle_reaches_the_function(aws: None) -> None:
    uri = "s3://models-bucket/loan-risk/20261125-abc"
    create_stack({"LambdaImageUri": LAMBDA_IMAGE, "ModelUri": uri})
    fn = boto3.client("lambda", region_name=REGION).get_function(FunctionName="loan-risk-score")["Configuration"]
    assert fn["Environment"]["Variables"] == {"LOG_LEVEL": "INFO", "MODEL_URI": uri, "DECISION_RECORDS": "off"}


def default_network() -> dict[str, str]:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    return {"VpcId": vpc, "AlbSubnetIds": ",".join(subnets[:2]), "TaskSubnetIds": ",".join(subnets[:2])}


ECS = {"LambdaImageUri": LAMBDA_IMAGE, "EnableEcs": "true", "EcsImageUri": ECS_IMAGE}


def test_without_a_certificate_the_alb_is_internal(aws: None) -> None:
    create_stack({**ECS, **default_network()})
    elb = boto3.client("elbv2", region_name=REGION)
    (lb,) = elb.describe_load_balancers()["LoadBalancers"]
    assert lb["Scheme"] == "internal"
    (listener,) = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert listener["Port"] == 80 and listener["DefaultActions"][0]["Type"] == "forward"
    ec2 = boto3.client("ec2", region_name=REGION)
    (group,) = ec2.describe_security_groups(
        Filters=[{"Name": "description", "Values": ["Public entry to the scoring ALB"]}]
    )["SecurityGroups"]
    assert [p["FromPort"] for p in group["IpPermissions"]] == [80]  # no 443 without a listener on it


def test_with_a_certificate_the_public_alb_only_redirects_http(aws: None) -> None:
    certificate = boto3.client("acm", region_name=REGION).request_certificate(DomainName="score.example.com")[
        "CertificateArn"
    ]
    stack, _ = create_stack({**ECS, **default_network(), "CertificateArn": certificate})
    elb = boto3.client("elbv2", region_name=REGION)
    (lb,) = elb.describe_load_balancers()["LoadBalancers"]
    assert lb["Scheme"] == "internet-facing"
    listeners = {x["Port"]: x for x in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    assert set(listeners) == {80, 443}
    (redirect,) = listeners[80]["DefaultActions"]
    assert redirect["Type"] == "redirect" and redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert listeners[443]["Protocol"] == "HTTPS" and listeners[443]["Certificates"][0]["CertificateArn"] == certificate
    ec2 = boto3.client("ec2", region_name=REGION)
    (group,) = ec2.describe_security_groups(
        Filters=[{"Name": "description", "Values": ["Public entry to the scoring ALB"]}]
    )["SecurityGroups"]
    assert sorted(p["FromPort"] for p in group["IpPermissions"]) == [80, 443]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["EcsUrl"] == f"https://{lb['DNSName']}"


def test_ecs_on_ec2_instances_reached_by_ssm_only(aws: None) -> None:
    network = default_network()
    _, dropped = create_stack({**ECS, **network, "EcsLaunchType": "EC2"})
    assert dropped <= NOT_IN_MOTO
    found = resources_by_type()
    assert {"AWS::AutoScaling::AutoScalingGroup", "AWS::EC2::LaunchTemplate", "AWS::IAM::InstanceProfile"} <= set(found)

    ec2 = boto3.client("ec2", region_name=REGION)
    (template,) = ec2.describe_launch_templates()["LaunchTemplates"]
    data = ec2.describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"])[
        "LaunchTemplateVersions"
    ][0]["LaunchTemplateData"]
    assert "KeyName" not in data  # no SSH key pair
    assert (
        data["MetadataOptions"]["HttpTokens"] == "required" and data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    )
    # The ECS-optimized AMI, read from the public SSM parameter (moto holds a copy of it).
    ami = boto3.client("ssm", region_name=REGION).get_parameter(
        Name="/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    )["Parameter"]["Value"]
    assert data["ImageId"] == ami
    (group,) = ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": data["SecurityGroupIds"]}])[
        "SecurityGroups"
    ]
    assert group["IpPermissions"] == []  # no inbound rule at all: no port 22
    # (moto keeps the default allow-all egress of a group made by CloudFormation; test_template.py checks it)

    (asg,) = boto3.client("autoscaling", region_name=REGION).describe_auto_scaling_groups()["AutoScalingGroups"]
    assert set(asg["VPCZoneIdentifier"].split(",")) == set(network["TaskSubnetIds"].split(","))
    assert asg["LaunchTemplate"]["LaunchTemplateId"] == template["LaunchTemplateId"]

    iam = boto3.client("iam", region_name=REGION)
    (profile,) = iam.list_instance_profiles()["InstanceProfiles"]
    (role,) = profile["Roles"]
    # (moto ignores a role's ManagedPolicyArns; test_template.py checks the two policies)
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == []

    # The same task definition as on Fargate, with its health check.
    ecs = boto3.client("ecs", region_name=REGION)
    cluster = ecs.list_clusters()["clusterArns"][0]
    (service,) = ecs.describe_services(cluster=cluster, services=ecs.list_services(cluster=cluster)["serviceArns"])[
        "services"
    ]
    task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    # (moto drops requiresCompatibilities and networkMode from CloudFormation; test_template.py checks them)
    assert task["containerDefinitions"][0]["image"] == ECS_IMAGE
    assert "/health" in " ".join(task["containerDefinitions"][0]["healthCheck"]["command"])
