"""The local system's AWS: an in-process moto server holding exactly what the CDK app deploys.

``provision`` walks the same ``SystemDescription`` as the CDK app: KMS keys, tables (with their
indexes, encrypted with the customer-managed key), buckets (SSE-KMS, public access blocked,
versioned), queues, one Lambda function per ``FunctionSpec`` (same handler string) and one
state machine per ``StateMachineSpec`` (the same ASL file, with the same substitutions).
"""

from __future__ import annotations

import io
import json
import logging
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3
import requests
from juki_infra.description import ACCESS_LOG_BUCKET, ENV_MUNICIPALITY_CODE, BucketSpec, SystemDescription
from moto.server import ThreadedMotoServer

from juki_local import lambda_runtime, moto_dynamodb

ACCOUNT = "123456789012"  # moto's default account
REGION = "ap-northeast-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass
class Provisioned:
    key_arns: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # id → ARN
    state_machines: dict[str, str] = field(default_factory=dict)  # id → ARN


class Emulator:
    """Starts moto on 127.0.0.1 and points this process's AWS clients at it."""

    def __init__(self, port: int = 0, region: str = REGION) -> None:
        self.region = region
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._saved_env: dict[str, str | None] = {}
        self.url = ""

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request lines: they name record ids
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self._set_env(
            {
                **FAKE_CREDENTIALS,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "AWS_ENDPOINT_URL": self.url,
                # moto's Step Functions interpreter calls Lambda through the server on this port.
                "MOTO_PORT": str(port),
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_SERVICE_NAME": "juki",
            }
        )
        response = requests.post(
            f"{self.url}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}},
            timeout=10,
        )
        response.raise_for_status()
        lambda_runtime.install()
        moto_dynamodb.install()

    def stop(self) -> None:
        moto_dynamodb.uninstall()
        lambda_runtime.uninstall()
        self._server.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region, endpoint_url=self.url)  # type: ignore[call-overload]

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def set_function_env(self, values: dict[str, str]) -> None:
        """All functions share this process, so their environments are merged here."""
        self._set_env(values)


def _zip_placeholder() -> bytes:
    """moto needs a deployment package; the handler itself runs from this checkout."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "Handlers run in-process from functions/ and layers/juki/python.")
    return buffer.getvalue()


def provision(
    emulator: Emulator, description: SystemDescription, token_settings: dict[str, str]
) -> Provisioned:
    done = Provisioned()
    kms = emulator.client("kms")
    for key in description.keys:
        arn = kms.create_key(Description=key.description, KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["Arn"]
        kms.enable_key_rotation(KeyId=arn)
        kms.create_alias(AliasName=description.key_alias(key.id), TargetKeyId=arn)
        done.key_arns[key.id] = arn

    dynamodb = emulator.client("dynamodb")
    for table in description.tables:
        name = description.name(table.id)
        key_attributes = {table.partition_key, table.sort_key}
        for index in table.indexes:
            key_attributes |= {index.partition_key, index.sort_key}
        indexes = [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in table.indexes
        ]
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in sorted(key_attributes)],
            KeySchema=[
                {"AttributeName": table.partition_key, "KeyType": "HASH"},
                {"AttributeName": table.sort_key, "KeyType": "RANGE"},
            ],
            **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
            SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": done.key_arns[table.key]},
            DeletionProtectionEnabled=True,
        )
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        done.tables[table.id] = name

    s3 = emulator.client("s3")
    for bucket in description.buckets:
        name = description.bucket_name(bucket.id, ACCOUNT)
        s3.create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": emulator.region},
            ObjectLockEnabledForBucket=bucket.object_lock_days is not None,
        )
        if bucket.object_lock_days is not None:
            s3.put_object_lock_configuration(
                Bucket=name,
                ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": bucket.object_lock_days}},
                },
            )
        if bucket.has_lifecycle:
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=_lifecycle(bucket))
        encryption: dict[str, str] = (
            {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": done.key_arns[bucket.key]}
            if bucket.key
            else {"SSEAlgorithm": "AES256"}
        )
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": encryption, "BucketKeyEnabled": bool(bucket.key)}
                ]
            },
        )
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        done.buckets[bucket.id] = name
    access_logs = done.buckets[ACCESS_LOG_BUCKET]
    s3.put_bucket_policy(Bucket=access_logs, Policy=_access_log_policy(access_logs))
    for bucket in description.data_buckets:
        s3.put_bucket_logging(
            Bucket=done.buckets[bucket.id],
            BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": access_logs, "TargetPrefix": f"{bucket.id}/"}
            },
        )

    sqs = emulator.client("sqs")
    for queue in description.queues:
        key_arn = done.key_arns[queue.key]
        dead_letter_url = sqs.create_queue(
            QueueName=description.name(queue.dead_letter_id), Attributes={"KmsMasterKeyId": key_arn}
        )["QueueUrl"]
        dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        redrive = {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": str(queue.max_receive_count)}
        done.queues[queue.dead_letter_id] = dead_letter_url
        done.queues[queue.id] = sqs.create_queue(
            QueueName=description.name(queue.id),
            Attributes={"KmsMasterKeyId": key_arn, "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]

    iam = emulator.client("iam")
    role_arn = iam.create_role(
        RoleName=f"{description.prefix}-local-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]

    env = _function_env(description, done, token_settings)
    lambda_client = emulator.client("lambda")
    package = _zip_placeholder()
    for function in description.functions:
        done.functions[function.id] = lambda_client.create_function(
            FunctionName=description.name(function.id),
            Runtime="python3.12",
            Architectures=["arm64"],
            Role=role_arn,
            Handler=function.handler,
            Code={"ZipFile": package},
            Timeout=function.timeout_seconds,
            MemorySize=function.memory_mb,
            Environment={"Variables": env},
        )["FunctionArn"]

    sfn = emulator.client("stepfunctions")
    for machine in description.state_machines:
        definition = machine.definition_path.read_text(encoding="utf-8")
        for placeholder, function_id in machine.functions.items():
            definition = definition.replace(f"${{{placeholder}}}", done.functions[function_id])
        done.state_machines[machine.id] = sfn.create_state_machine(
            name=description.name(machine.id), definition=definition, roleArn=role_arn, type="STANDARD"
        )["stateMachineArn"]

    emulator.set_function_env(_function_env(description, done, token_settings))
    return done


def _lifecycle(bucket: BucketSpec) -> Any:
    rules: list[dict[str, Any]] = []
    if bucket.cold_after_days is not None or bucket.expire_days is not None:
        rule: dict[str, Any] = {"ID": "retention", "Status": "Enabled", "Filter": {"Prefix": ""}}
        if bucket.cold_after_days is not None:
            rule["Transitions"] = [{"Days": bucket.cold_after_days, "StorageClass": "GLACIER_IR"}]
        if bucket.expire_days is not None:
            rule["Expiration"] = {"Days": bucket.expire_days}
        rules.append(rule)
    rules.extend(
        {
            "ID": f"expire-{prefix.strip('/')}",
            "Status": "Enabled",
            "Filter": {"Prefix": prefix},
            "Expiration": {"Days": days},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        }
        for prefix, days in bucket.expire_prefixes
    )
    return {"Rules": rules}


def _access_log_policy(bucket: str) -> str:
    """S3's log delivery may write, as the deployed bucket policy allows."""
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _function_env(
    description: SystemDescription, done: Provisioned, token_settings: dict[str, str]
) -> dict[str, str]:
    env = {ENV_MUNICIPALITY_CODE: description.municipality_code, **token_settings}
    env.update(
        {k.env_var: done.key_arns[k.id] for k in description.keys if k.env_var and k.id in done.key_arns}
    )
    env.update(
        {table.env_var: done.tables[table.id] for table in description.tables if table.id in done.tables}
    )
    env.update(
        {b.env_var: done.buckets[b.id] for b in description.buckets if b.env_var and b.id in done.buckets}
    )
    env.update({q.env_var: done.queues[q.id] for q in description.queues if q.id in done.queues})
    env.update(
        {
            m.env_var: done.state_machines[m.id]
            for m in description.state_machines
            if m.id in done.state_machines
        }
    )
    return env
