"""The decision records store in template.yaml: encrypted, private, TLS-only, locked for the
retention period, written by the service and read only through the reader role."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from lambda_app.records.read import PARTITION, iter_records
from lambda_app.records.sinks import FirehoseSink, make_sink
from tests.deploy.infra import LAMBDA_IMAGE, REGION, sam_template
from tests.deploy.test_moto_stack import create_stack

RECORDS = [
    "DecisionRecordsKey",
    "DecisionRecordsBucket",
    "DecisionRecordsBucketPolicy",
    "DecisionRecordsDeliveryRole",
    "DecisionRecordsStream",
    "DecisionRecordsWritePolicy",
    "DecisionRecordsReaderRole",
    "DecisionRecordsLostAlarm",
    "DecisionRecordsDeliveryAlarm",
]


def resource(name: str) -> dict[str, Any]:
    found: dict[str, Any] = sam_template()["Resources"][name]
    return found


def props(name: str) -> dict[str, Any]:
    found: dict[str, Any] = resource(name)["Properties"]
    return found


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in policy["PolicyDocument"]["Statement"] if isinstance(s, dict) and "Fn::If" not in s]


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_records_are_off_by_default_and_the_store_exists_only_when_on() -> None:
    parameters = sam_template()["Parameters"]
    assert parameters["DecisionRecords"]["Default"] == "off"
    assert parameters["DecisionRecords"]["AllowedValues"] == ["off", "best-effort", "required"]
    assert parameters["DecisionRetentionDays"]["Default"] == 762  # 25 months
    assert all(resource(name)["Condition"] == "HasDecisionRecords" for name in RECORDS)


def test_key_is_customer_managed_with_rotation() -> None:
    assert props("DecisionRecordsKey")["EnableKeyRotation"] is True
    assert resource("DecisionRecordsKey")["DeletionPolicy"] == "Retain"


def test_bucket_is_encrypted_private_versioned_locked_and_expires_after_retention() -> None:
    bucket = props("DecisionRecordsBucket")
    assert resource("DecisionRecordsBucket")["DeletionPolicy"] == "Retain"
    (sse,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["DecisionRecordsKey", "Arn"]},
    }
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["ObjectLockEnabled"] is True
    retention = bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention == {"Mode": {"Ref": "DecisionLockMode"}, "Days": {"Ref": "DecisionRetentionDays"}}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "DecisionRetentionDays"} and rule["Status"] == "Enabled"


def test_bucket_refuses_anything_but_tls() -> None:
    (deny,) = props("DecisionRecordsBucketPolicy")["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert len(deny["Resource"]) == 2  # the bucket and every object in it


def test_stream_is_encrypted_and_delivers_under_a_dt_partition() -> None:
    stream = props("DecisionRecordsStream")
    assert stream["DeliveryStreamEncryptionConfigurationInput"]["KeyType"] == "CUSTOMER_MANAGED_CMK"
    s3 = stream["ExtendedS3DestinationConfiguration"]
    assert s3["BucketARN"] == {"Fn::GetAtt": ["DecisionRecordsBucket", "Arn"]}
    # Firehose's prefix expression, evaluated as Firehose does, gives the partition the reader uses.
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    key = s3["Prefix"].replace("!{timestamp:yyyy-MM-dd}", today) + "stream-1-x.jsonl.gz"
    match = PARTITION.search(key)
    assert match is not None and match.group(1) == today
    # Gzipped objects carry .gz, which is how the reader knows to decompress them.
    assert s3["CompressionFormat"] == "GZIP" and s3["FileExtension"].endswith(".gz")


def test_the_service_may_only_put_records_into_the_stream() -> None:
    policy = props("DecisionRecordsWritePolicy")
    (put,) = statements(policy)
    assert actions(put) == ["firehose:PutRecordBatch"]
    assert put["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:firehose:${AWS::Region}:${AWS::AccountId}:deliverystream/${DecisionRecordsStream}"
    }
    assert policy["Roles"] == {
        "Fn::If": [
            "EcsDecisionRecords",
            [{"Ref": "ScoreFunctionRole"}, {"Ref": "TaskRole"}],
            [{"Ref": "ScoreFunctionRole"}],
        ]
    }
    # No other policy of the service's roles names the records bucket or key.
    for role in ("ScoreFunctionRole", "TaskRole"):
        assert "DecisionRecords" not in str(props(role).get("Policies")), role


def test_only_the_reader_role_reads_and_it_cannot_write() -> None:
    (reader,) = props("DecisionRecordsReaderRole")["Policies"]
    granted = sorted(a for s in statements(reader) for a in actions(s))
    assert granted == ["kms:Decrypt", "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"]
    readers = [
        name
        for name, r in sam_template()["Resources"].items()
        if r["Type"] in ("AWS::IAM::Role", "AWS::IAM::Policy")
        and "s3:GetObject" in str(r)
        and "DecisionRecords" in str(r)
    ]
    # Besides the reader role (replay, people), only the scheduled monitoring job reads records,
    # and it writes nothing but its reports and metrics.
    assert readers == ["DecisionRecordsReaderRole", "MonitoringFunctionRole"]
    (job,) = props("MonitoringFunctionRole")["Policies"]
    writes = [s for s in statements(job) if any(a.endswith(("PutObject", "PutRecordBatch")) for a in actions(s))]
    assert [s["Resource"] for s in writes] == [{"Fn::Sub": "${MonitoringReportsBucket.Arn}/stability/*"}]


def test_function_and_tasks_get_the_mode_and_the_stream() -> None:
    env = props("ScoreFunction")["Environment"]["Variables"]
    assert env["DECISION_RECORDS"] == {"Ref": "DecisionRecords"}
    assert env["DECISION_SINK"]["Fn::If"][1] == {"Fn::Sub": "firehose://${DecisionRecordsStream}"}
    (container,) = props("TaskDefinition")["ContainerDefinitions"]
    names = {e["Name"] for e in container["Environment"] if "Name" in e} | {
        e["Fn::If"][1]["Name"] for e in container["Environment"] if "Fn::If" in e
    }
    assert {"DECISION_RECORDS", "DECISION_SINK"} <= names
    assert isinstance(make_sink("firehose://loan-risk-decisions"), FirehoseSink)


def test_stack_with_records_on_creates_the_store_and_records_arrive_in_s3(aws: None) -> None:
    stack, _ = create_stack({"LambdaImageUri": LAMBDA_IMAGE, "DecisionRecords": "best-effort"})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    uri = outputs["DecisionRecordsUri"]
    bucket = re.match(r"s3://([^/]+)/decisions/$", uri)[1]  # type: ignore[index]
    s3 = boto3.client("s3", region_name=REGION)
    # (moto's CloudFormation applies a bucket's encryption and tags only: Object Lock, versioning
    # and the lifecycle are checked on the template above.)
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    key_id = rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    kms = boto3.client("kms", region_name=REGION)
    assert kms.get_key_rotation_status(KeyId=key_id.rsplit("/", 1)[-1])["KeyRotationEnabled"] is True

    fn = boto3.client("lambda", region_name=REGION).get_function(FunctionName="loan-risk-score")["Configuration"]
    env = fn["Environment"]["Variables"]
    assert env["DECISION_RECORDS"] == "best-effort" and env["DECISION_SINK"].startswith("firehose://")
    iam = boto3.client("iam", region_name=REGION)
    role = fn["Role"].rsplit("/", 1)[1]
    write = iam.get_role_policy(RoleName=role, PolicyName="write-decision-records")["PolicyDocument"]
    assert [s["Action"] for s in write["Statement"]] == ["firehose:PutRecordBatch"]

    # moto's CloudFormation has no Firehose streams: create the template's stream through the
    # Firehose API, with the template's destination settings and the stack's bucket and role.
    destination = dict(
        sam_template()["Resources"]["DecisionRecordsStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    )
    for unresolved in ("BucketARN", "RoleARN", "EncryptionConfiguration", "CompressionFormat", "FileExtension"):
        destination.pop(unresolved)  # (moto neither encrypts nor compresses; the rest is as deployed)
    delivery_role = iam.list_roles()["Roles"]
    (delivery,) = [r for r in delivery_role if "DecisionRecordsDeliveryRole" in r["RoleName"]]
    boto3.client("firehose", region_name=REGION).create_delivery_stream(
        DeliveryStreamName="loan-risk-decisions",
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            **destination,  # type: ignore[typeddict-item]  # the template's own keys
            "BucketARN": f"arn:aws:s3:::{bucket}",
            "RoleARN": delivery["Arn"],
        },
    )
    lines = [f'{{"decision_id": "{i:04d}", "risk_score": 50.0}}'.encode() for i in range(25)]
    make_sink("firehose://loan-risk-decisions").write(lines)
    assert sorted(r["decision_id"] for r in iter_records(uri)) == [f"{i:04d}" for i in range(25)]


@pytest.mark.parametrize("output", ["DecisionRecordsUri", "DecisionRecordsStreamName", "DecisionRecordsReaderRoleArn"])
def test_records_outputs_exist_only_when_on(output: str) -> None:
    assert sam_template()["Outputs"][output]["Condition"] == "HasDecisionRecords"
