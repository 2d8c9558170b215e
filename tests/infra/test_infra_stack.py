"""What the synthesized templates must contain (one synthesis per session, see conftest)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from juki_infra.app import build
from juki_infra.description import describe
from synth_support import TEST_CONTEXT, Synth, ref_to, resources


def test_resources_follow_the_description(synth: Synth) -> None:
    system = describe("221007")
    template = synth.template
    assert len(resources(template, "AWS::DynamoDB::GlobalTable")) == len(system.tables)
    assert len(resources(template, "AWS::StepFunctions::StateMachine")) == len(system.state_machines)
    names = {
        props["Properties"]["FunctionName"] for props in resources(template, "AWS::Lambda::Function").values()
    }
    assert names == {system.name(spec.id) for spec in system.functions}
    handlers = {
        props["Properties"]["Handler"] for props in resources(template, "AWS::Lambda::Function").values()
    }
    assert handlers == {spec.handler for spec in system.functions}


def test_data_resources_are_exactly_the_description(synth: Synth) -> None:
    """The same list the local emulator provisions from (tests/integration/test_provisioning.py)."""
    system = describe("221007")
    tables = {
        props["Properties"]["TableName"]: sorted(
            i["IndexName"] for i in props["Properties"].get("GlobalSecondaryIndexes", [])
        )
        for props in resources(synth.template, "AWS::DynamoDB::GlobalTable").values()
    }
    assert tables == {system.name(t.id): sorted(i.name for i in t.indexes) for t in system.tables}
    queues = {
        props["Properties"]["QueueName"] for props in resources(synth.template, "AWS::SQS::Queue").values()
    }
    assert queues == {system.name(n) for q in system.queues for n in (q.id, q.dead_letter_id)}
    machines = {
        props["Properties"]["StateMachineName"]
        for props in resources(synth.template, "AWS::StepFunctions::StateMachine").values()
    }
    assert machines == {system.name(m.id) for m in system.state_machines}
    aliases = {
        props["Properties"]["AliasName"] for props in resources(synth.template, "AWS::KMS::Alias").values()
    }
    assert {system.key_alias(k.id) for k in system.keys} <= aliases  # plus the backup vault's own key


def test_no_internet_gateway_and_no_nat_gateway(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::EC2::InternetGateway", 0)
    synth.template.resource_count_is("AWS::EC2::NatGateway", 0)
    synth.template.resource_count_is("AWS::EC2::EgressOnlyInternetGateway", 0)


def test_subnets_never_map_public_ips(synth: Synth) -> None:
    subnets = resources(synth.template, "AWS::EC2::Subnet")
    assert subnets
    for subnet in subnets.values():
        assert subnet["Properties"].get("MapPublicIpOnLaunch") in (False, None)


def test_gateway_and_interface_endpoints(synth: Synth) -> None:
    endpoints = resources(synth.template, "AWS::EC2::VPCEndpoint").values()
    services = json.dumps([endpoint["Properties"]["ServiceName"] for endpoint in endpoints])
    for service in ("s3", "dynamodb", "execute-api", "states", "kms", "logs", "sts", "sqs", "xray", "lambda"):
        assert f".{service}" in services, service


def test_api_is_private(synth: Synth) -> None:
    (api,) = resources(synth.template, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["EndpointConfiguration"]["Types"] == ["PRIVATE"]


def test_api_policy_denies_calls_not_from_our_endpoint(synth: Synth) -> None:
    (api,) = resources(synth.template, "AWS::ApiGateway::RestApi").values()
    our_endpoint = ref_to(synth.primary, synth.primary.network.api_endpoint)
    statements = api["Properties"]["Policy"]["Statement"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert any(s["Condition"]["StringNotEquals"]["aws:SourceVpce"] == our_endpoint for s in denies)
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows
    assert all(s["Condition"]["StringEquals"]["aws:SourceVpce"] == our_endpoint for s in allows)


def test_every_method_requires_sigv4(synth: Synth) -> None:
    methods = resources(synth.template, "AWS::ApiGateway::Method")
    assert len(methods) >= 2
    for method in methods.values():
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM"
        assert "RequestValidatorId" in method["Properties"]


def test_stage_has_access_logs_throttling_and_tracing(synth: Synth) -> None:
    (stage,) = resources(synth.template, "AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert "DestinationArn" in props["AccessLogSetting"]
    assert props["TracingEnabled"] is True
    (setting,) = props["MethodSettings"]
    assert setting["ThrottlingRateLimit"] > 0 and setting["ThrottlingBurstLimit"] > 0
    assert setting["DataTraceEnabled"] is False


def test_tables_use_cmk_pitr_and_deletion_protection(synth: Synth) -> None:
    key_ids = {synth.logical_id(key) for key in synth.primary.data.keys.values()}
    tables = resources(synth.template, "AWS::DynamoDB::GlobalTable")
    for table in tables.values():
        props = table["Properties"]
        assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert table["DeletionPolicy"] == "Retain"
        for replica in props["Replicas"]:
            assert replica["SSESpecification"]["KMSMasterKeyId"]["Fn::GetAtt"][0] in key_ids
            assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
            assert replica["DeletionProtectionEnabled"] is True


def test_buckets_use_cmk_block_public_access_and_versioning(synth: Synth) -> None:
    access_log_bucket = synth.logical_id(synth.primary.data.access_log_bucket)
    key_ids = {synth.logical_id(key) for key in synth.primary.data.keys.values()}
    key_ids.add(synth.logical_id(synth.primary.data.ops_key))
    buckets = resources(synth.template, "AWS::S3::Bucket")
    assert len(buckets) >= 3
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        if logical_id == access_log_bucket:
            continue
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        default = rule["ServerSideEncryptionByDefault"]
        assert default["SSEAlgorithm"] == "aws:kms"
        assert default["KMSMasterKeyID"]["Fn::GetAtt"][0] in key_ids
        assert rule["BucketKeyEnabled"] is True
        assert "LoggingConfiguration" in props


def test_every_bucket_policy_denies_plain_http(synth: Synth) -> None:
    buckets = set(resources(synth.template, "AWS::S3::Bucket"))
    tls_only = set()
    for policy in resources(synth.template, "AWS::S3::BucketPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                tls_only.add(policy["Properties"]["Bucket"]["Ref"])
    assert tls_only == buckets


def test_backup_copies_to_an_osaka_vault(synth: Synth) -> None:
    (plan,) = resources(synth.template, "AWS::Backup::BackupPlan").values()
    (rule,) = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    (copy,) = rule["CopyActions"]
    destination = json.dumps(copy["DestinationBackupVaultArn"])
    assert ":backup:ap-northeast-3:" in destination
    assert "backup-vault:juki-221007-backup-ap-northeast-3" in destination
    synth.copy_template.has_resource_properties(
        "AWS::Backup::BackupVault", {"BackupVaultName": "juki-221007-backup-ap-northeast-3"}
    )


def test_backup_selects_every_table_and_bucket(synth: Synth) -> None:
    (selection,) = resources(synth.template, "AWS::Backup::BackupSelection").values()
    selected = json.dumps(selection["Properties"]["BackupSelection"]["Resources"])
    for construct in (*synth.primary.data.tables.values(), *synth.primary.data.buckets.values()):
        assert synth.logical_id(construct) in selected


def test_stack_regions(synth: Synth) -> None:
    assert synth.copy_stack.region == "ap-northeast-3"
    assert synth.primary.region == "ap-northeast-1"


def test_lambdas_are_arm64_python312_in_the_vpc(synth: Synth) -> None:
    functions = resources(synth.template, "AWS::Lambda::Function")
    assert functions
    for function in functions.values():
        props = function["Properties"]
        assert props["Architectures"] == ["arm64"]
        assert props["Runtime"] == "python3.12"
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["VpcConfig"]["SubnetIds"]
        assert props["VpcConfig"]["SecurityGroupIds"]
        assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "juki"


def test_state_machines_log_everything_but_data_and_trace(synth: Synth) -> None:
    machines = resources(synth.template, "AWS::StepFunctions::StateMachine")
    assert machines
    for machine in machines.values():
        props = machine["Properties"]
        assert props["StateMachineType"] == "STANDARD"
        assert props["LoggingConfiguration"]["Level"] == "ALL"
        assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
        assert props["TracingConfiguration"] == {"Enabled": True}


def _definition(synth: Synth, props: dict[str, Any]) -> str:
    if "DefinitionString" in props:
        return json.dumps(props["DefinitionString"])
    key = props["DefinitionS3Location"]["Key"]
    return (Path(synth.app.outdir) / f"asset.{key}").read_text(encoding="utf-8")


def test_state_machine_definitions_get_every_function_arn(synth: Synth) -> None:
    functions = set(resources(synth.template, "AWS::Lambda::Function"))
    for machine in resources(synth.template, "AWS::StepFunctions::StateMachine").values():
        props = machine["Properties"]
        substitutions = props.get("DefinitionSubstitutions", {})
        definition = _definition(synth, props)
        for placeholder, value in substitutions.items():
            assert value["Fn::GetAtt"][0] in functions and value["Fn::GetAtt"][1] == "Arn"
            definition = definition.replace("${" + placeholder + "}", json.dumps(value))
        assert "${" not in definition, re.findall(r"\$\{[^}]*\}", definition)


def test_alarms_cover_functions_machines_api_and_dlq(synth: Synth) -> None:
    metrics = [
        alarm["Properties"].get("MetricName")
        for alarm in resources(synth.template, "AWS::CloudWatch::Alarm").values()
    ]
    system = describe("221007")
    assert metrics.count("Errors") == len(system.functions)
    assert metrics.count("ExecutionsFailed") == len(system.state_machines)
    assert metrics.count("5XXError") == 1
    assert metrics.count("ApproximateNumberOfMessagesVisible") == len(system.queues)


def test_trail_covers_dynamodb_and_s3_data_events(synth: Synth) -> None:
    (trail,) = resources(synth.template, "AWS::CloudTrail::Trail").values()
    props = trail["Properties"]
    assert props["EnableLogFileValidation"] is True
    assert "KMSKeyId" in props
    selectors = json.dumps(props["AdvancedEventSelectors"])
    assert "AWS::DynamoDB::Table" in selectors and "AWS::S3::Object" in selectors
    synth.template.resource_count_is("AWS::GuardDuty::Detector", 1)


def test_toggles_off_leave_out_trail_and_detector(synth_without_baseline: Synth) -> None:
    synth_without_baseline.template.resource_count_is("AWS::CloudTrail::Trail", 0)
    synth_without_baseline.template.resource_count_is("AWS::GuardDuty::Detector", 0)
    assert synth_without_baseline.nag_findings == []


@pytest.mark.parametrize("region", ["us-east-1", "ap-northeast-3"])
def test_region_guard_refuses_other_primary_regions(region: str, tmp_path: Path) -> None:
    app = App(context={**TEST_CONTEXT, "region": region}, outdir=str(tmp_path))
    with pytest.raises(ValueError, match="ap-northeast-1"):
        build(app)


def test_region_guard_refuses_other_copy_regions(tmp_path: Path) -> None:
    app = App(context={**TEST_CONTEXT, "backup_region": "us-west-2"}, outdir=str(tmp_path))
    with pytest.raises(ValueError, match="ap-northeast-3"):
        build(app)


def test_no_unacknowledged_nag_findings(synth: Synth) -> None:
    assert synth.nag_findings == [], "\n".join(synth.nag_findings)


def test_a_low_resident_code_pool_raises_an_alarm(synth: Synth) -> None:
    filters = resources(synth.template, "AWS::Logs::MetricFilter")
    patterns = [f["Properties"]["FilterPattern"] for f in filters.values()]
    assert any("RESIDENT_CODE_POOL_LOW" in pattern for pattern in patterns)
    alarms = resources(synth.template, "AWS::CloudWatch::Alarm")
    assert any(a["Properties"].get("MetricName") == "RESIDENT_CODE_POOL_LOW" for a in alarms.values())


def test_files_in_the_inbound_drop_zone_start_the_receive_job(synth: Synth) -> None:
    """The exchange bucket sends object events to EventBridge (set on the bucket, no custom
    resource), and a rule on the inbound prefix starts linkage-receive besides its schedule."""
    buckets = resources(synth.template, "AWS::S3::Bucket").values()
    with_events = [
        b for b in buckets
        if b["Properties"].get("NotificationConfiguration", {}).get("EventBridgeConfiguration")
        == {"EventBridgeEnabled": True}
    ]  # fmt: skip
    assert len(with_events) == 1
    rules = [
        rule["Properties"] for rule in resources(synth.template, "AWS::Events::Rule").values()
        if "EventPattern" in rule["Properties"]
    ]  # fmt: skip
    (rule,) = rules
    assert rule["EventPattern"]["detail-type"] == ["Object Created"]
    assert rule["EventPattern"]["detail"]["object"] == {"key": [{"prefix": "inbound/"}]}
    assert rule["Name"] == "juki-221007-linkage-receive-objects"
    assert not resources(synth.template, "Custom::S3BucketNotifications")


def test_a_distributed_map_may_list_its_source_and_run_its_children(synth: Synth) -> None:
    system = describe("221007")
    mapped = {system.name(m.id) for m in system.state_machines if m.distributed_map}
    assert mapped == {"juki-221007-consistency-check", "juki-221007-platform-extract"}
    policies = json.dumps(resources(synth.template, "AWS::IAM::Policy"))
    for name in mapped:
        assert f"execution:{name}:*" in policies and f"stateMachine:{name}" in policies
    assert '"s3:ListBucket"' in policies  # the consistency check lists its parts
    assert "/ids/parts.json" in policies  # the extract reads the one object listing its parts
