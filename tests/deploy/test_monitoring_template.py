"""template.yaml's monitoring part: the scheduled job of the same image, its least-privilege
role, its reports bucket and the alarm at the 0.25 PSI band, also created in moto."""

from __future__ import annotations

import importlib
from typing import Any

import boto3

from lambda_app.monitoring.psi import SHIFT_ABOVE
from lambda_app.runtime.monitoring_job import metric_data
from lambda_app.settings import Settings
from tests.deploy.infra import LAMBDA_IMAGE, REGION, sam_template, transformed

RECORDS_URI = "s3://decision-records-bucket/records"
SETTINGS = {name.upper() for name in Settings.model_fields}


def resource(name: str) -> dict[str, Any]:
    found: dict[str, Any] = sam_template()["Resources"][name]
    return found


def monitoring_resources() -> dict[str, dict[str, Any]]:
    return {k: v for k, v in sam_template()["Resources"].items() if k.startswith("Monitoring")}


def test_everything_of_monitoring_hangs_on_a_records_uri() -> None:
    template = sam_template()
    assert template["Parameters"]["DecisionRecordsUri"]["Default"] == ""
    assert template["Conditions"]["Monitoring"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DecisionRecordsUri"}, ""]}]}
    assert len(monitoring_resources()) == 7
    assert all(r["Condition"] == "Monitoring" for r in monitoring_resources().values())


def test_the_job_runs_the_lambda_image_with_another_handler_daily() -> None:
    fn = resource("MonitoringFunction")["Properties"]
    assert fn["ImageUri"] == resource("ScoreFunction")["Properties"]["ImageUri"] == {"Ref": "LambdaImageUri"}
    (command,) = fn["ImageConfig"]["Command"]
    module, _, name = command.rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))
    assert fn["Timeout"] == 900
    assert set(fn["Environment"]["Variables"]) <= SETTINGS
    schedule = fn["Events"]["Schedule"]
    assert schedule["Type"] == "Schedule" and schedule["Properties"]["Schedule"] == {"Ref": "MonitoringSchedule"}
    assert sam_template()["Parameters"]["MonitoringSchedule"]["Default"] == "cron(30 2 * * ? *)"  # daily, 02:30 UTC
    cfn = transformed({"LambdaImageUri": LAMBDA_IMAGE, "DecisionRecordsUri": RECORDS_URI})["Resources"]
    (rule,) = (r for r in cfn.values() if r["Type"] == "AWS::Events::Rule")
    assert rule["Condition"] == "Monitoring"
    assert rule["Properties"]["ScheduleExpression"] == {"Ref": "MonitoringSchedule"}


def test_the_role_reads_records_writes_reports_and_puts_metrics_in_its_namespace_only() -> None:
    (policy,) = resource("MonitoringFunctionRole")["Properties"]["Policies"]
    statements = policy["PolicyDocument"]["Statement"]
    plain = [s for s in statements if "Fn::If" not in s]
    assert sorted(s["Action"] if isinstance(s["Action"], str) else ",".join(s["Action"]) for s in plain) == [
        "cloudwatch:PutMetricData",
        "logs:CreateLogStream,logs:PutLogEvents",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
    ]
    by_action = {s["Action"]: s for s in plain if isinstance(s["Action"], str)}
    assert by_action["s3:PutObject"]["Resource"] == {"Fn::Sub": "${MonitoringReportsBucket.Arn}/stability/*"}
    namespace = resource("MonitoringFunction")["Properties"]["Environment"]["Variables"]["MONITORING_NAMESPACE"]
    assert by_action["cloudwatch:PutMetricData"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": namespace}}
    assert "s3:*" not in str(plain) and "ManagedPolicyArns" not in resource("MonitoringFunctionRole")["Properties"]
    conditional = [s["Fn::If"] for s in statements if "Fn::If" in s]
    assert {c for c, _, _ in conditional} == {"HasModelUri", "HasDecisionRecords"}
    (decrypt,) = [then for c, then, _ in conditional if c == "HasDecisionRecords"]  # the stack's own records
    assert decrypt["Action"] == "kms:Decrypt" and decrypt["Resource"] == {"Fn::GetAtt": ["DecisionRecordsKey", "Arn"]}


def test_the_alarm_reads_the_score_psi_the_job_publishes_at_the_shift_band() -> None:
    alarm = resource("MonitoringScorePsiAlarm")["Properties"]
    assert alarm["Threshold"] == SHIFT_ABOVE == 0.25 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert (
        alarm["Namespace"]
        == resource("MonitoringFunction")["Properties"]["Environment"]["Variables"]["MONITORING_NAMESPACE"]
    )
    fields = {name: {"psi": 0.01, "status": "stable"} for name in ("Age", "AnnualIncome")}
    published = metric_data({"n": 900, "status": "stable", "score": {"psi": 0.02}, "fields": fields})
    assert alarm["MetricName"] in {m["MetricName"] for m in published if "Dimensions" not in m}
    errors = resource("MonitoringJobErrorsAlarm")["Properties"]
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "MonitoringFunction"}}]


def test_the_api_function_reads_the_latest_report_only_with_monitoring() -> None:
    env = resource("ScoreFunction")["Properties"]["Environment"]["Variables"]
    assert env["MONITORING_REPORT_DIR"] == {
        "Fn::If": [
            "Monitoring",
            {"Fn::Sub": "s3://${MonitoringReportsBucket}/stability/latest"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    (policy,) = resource("ScoreFunctionRole")["Properties"]["Policies"]
    reads = [
        s["Fn::If"][1]
        for s in policy["PolicyDocument"]["Statement"]
        if "Fn::If" in s and s["Fn::If"][0] == "Monitoring"
    ]
    assert {s["Action"]: s["Resource"] for s in reads} == {
        "s3:GetObject": {"Fn::Sub": "${MonitoringReportsBucket.Arn}/stability/latest/*"},
        "s3:ListBucket": {"Fn::GetAtt": ["MonitoringReportsBucket", "Arn"]},
    }


def test_the_reports_bucket_is_private_encrypted_and_https_only() -> None:
    bucket = resource("MonitoringReportsBucket")["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    (deny,) = resource("MonitoringReportsBucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_monitoring_stack_is_created_in_moto(aws: None) -> None:
    from tests.deploy.test_moto_stack import create_stack

    stack, _ = create_stack(
        {"LambdaImageUri": LAMBDA_IMAGE, "DecisionRecordsUri": RECORDS_URI, "MonitoringPeriodDays": "7"}
    )
    fn = boto3.client("lambda", region_name=REGION).get_function(FunctionName="loan-risk-monitoring")["Configuration"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    bucket = outputs["MonitoringReportsBucketName"]
    assert fn["Environment"]["Variables"] == {
        "LOG_LEVEL": "INFO",
        "MONITORING_RECORDS_URI": RECORDS_URI,
        "MONITORING_REPORT_URI": f"s3://{bucket}/stability",
        "MONITORING_PERIOD_DAYS": "7",
        "MONITORING_NAMESPACE": "LoanRisk/Monitoring/loan-risk",
    }
    assert fn["Timeout"] == 900
    (rule,) = boto3.client("events", region_name=REGION).list_rules()["Rules"]
    assert rule["ScheduleExpression"] == "cron(30 2 * * ? *)"
    assert bucket in [b["Name"] for b in boto3.client("s3", region_name=REGION).list_buckets()["Buckets"]]
    # The API function's page reads the job's latest report.
    score = boto3.client("lambda", region_name=REGION).get_function(FunctionName="loan-risk-score")["Configuration"]
    assert score["Environment"]["Variables"]["MONITORING_REPORT_DIR"] == f"s3://{bucket}/stability/latest"
