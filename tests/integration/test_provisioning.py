"""The emulator holds exactly what the system description lists, built the way CDK builds it."""

import json

from juki_local.system import LocalSystem


def test_tables_indexes_and_encryption(local_system: LocalSystem) -> None:
    dynamodb = local_system.emulator.client("dynamodb")
    description = local_system.description
    ours = [
        name for name in dynamodb.list_tables()["TableNames"] if name.startswith(f"{description.prefix}-")
    ]
    assert sorted(ours) == sorted(description.name(t.id) for t in description.tables)
    for table in description.tables:
        described = dynamodb.describe_table(TableName=description.name(table.id))["Table"]
        assert sorted(i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])) == sorted(
            i.name for i in table.indexes
        )
        assert described["SSEDescription"]["SSEType"] == "KMS"
        assert described["SSEDescription"]["KMSMasterKeyArn"] == local_system.resources.key_arns[table.key]
        assert described["DeletionProtectionEnabled"] is True
        backups = dynamodb.describe_continuous_backups(TableName=description.name(table.id))
        pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


def test_buckets_are_kms_encrypted_private_versioned_and_access_logged(local_system: LocalSystem) -> None:
    s3 = local_system.emulator.client("s3")
    access_logs = local_system.resources.buckets["access-logs"]
    for bucket in local_system.description.buckets:
        name = local_system.resources.buckets[bucket.id]
        rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
        default = rule["ApplyServerSideEncryptionByDefault"]
        if bucket.key is None:  # only the access-log bucket: S3 cannot log into SSE-KMS
            assert (bucket.id, default["SSEAlgorithm"]) == ("access-logs", "AES256")
        else:
            assert default["SSEAlgorithm"] == "aws:kms"
            assert default["KMSMasterKeyID"] == local_system.resources.key_arns[bucket.key]
            logging = s3.get_bucket_logging(Bucket=name)["LoggingEnabled"]
            assert (logging["TargetBucket"], logging["TargetPrefix"]) == (access_logs, f"{bucket.id}/")
        assert all(s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"].values())
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"


def test_queues_have_their_dead_letter_queues(local_system: LocalSystem) -> None:
    sqs = local_system.emulator.client("sqs")
    for queue in local_system.description.queues:
        attributes = sqs.get_queue_attributes(
            QueueUrl=local_system.resources.queues[queue.id], AttributeNames=["All"]
        )["Attributes"]
        assert attributes["KmsMasterKeyId"] == local_system.resources.key_arns[queue.key]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"].endswith(
            f":{local_system.description.name(queue.dead_letter_id)}"
        )
        assert int(redrive["maxReceiveCount"]) == queue.max_receive_count


def test_functions_run_the_deployed_handlers(local_system: LocalSystem) -> None:
    lambda_client = local_system.emulator.client("lambda")
    for function in local_system.description.functions:
        config = lambda_client.get_function(FunctionName=local_system.description.name(function.id))[
            "Configuration"
        ]
        assert config["Handler"] == function.handler
        assert config["Runtime"] == "python3.12"
        assert config["Architectures"] == ["arm64"]


def test_state_machines_are_the_asl_files_with_function_arns(local_system: LocalSystem) -> None:
    sfn = local_system.emulator.client("stepfunctions")
    for machine in local_system.description.state_machines:
        definition = sfn.describe_state_machine(
            stateMachineArn=local_system.resources.state_machines[machine.id]
        )["definition"]
        assert "${" not in definition
        for function_id in machine.functions.values():
            assert local_system.resources.functions[function_id] in definition
        source = machine.definition_path.read_text(encoding="utf-8")
        for placeholder, function_id in machine.functions.items():
            source = source.replace(f"${{{placeholder}}}", local_system.resources.functions[function_id])
        assert definition == source


def test_keys_rotate(local_system: LocalSystem) -> None:
    kms = local_system.emulator.client("kms")
    for arn in local_system.resources.key_arns.values():
        assert kms.get_key_rotation_status(KeyId=arn)["KeyRotationEnabled"] is True
