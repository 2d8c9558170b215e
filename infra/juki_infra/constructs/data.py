"""Keys, tables, buckets and queues: one loop per kind over the system description."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from juki_infra.description import ACCESS_LOG_BUCKET, OPS_KEY

if TYPE_CHECKING:
    from juki_infra.config import JukiConfig
    from juki_infra.description import BucketSpec, SystemDescription

LOGS_ARN_PATTERN = f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"


class DataStore(Construct):
    """Everything that holds data at rest, each encrypted with a customer-managed key."""

    def __init__(
        self, scope: Construct, construct_id: str, *, description: SystemDescription, config: JukiConfig
    ) -> None:
        super().__init__(scope, construct_id)
        self.description = description
        self.config = config

        self.keys: dict[str, kms.Key] = {
            spec.id: self._key(spec.id, spec.description) for spec in description.keys
        }
        self.ops_key = self.keys[OPS_KEY]
        self.allow_service(
            self.ops_key,
            f"logs.{Aws.REGION}.amazonaws.com",
            {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": LOGS_ARN_PATTERN}},
        )
        # CloudWatch alarms publish to the KMS-encrypted alarm topic.
        self.allow_service(self.ops_key, "cloudwatch.amazonaws.com", None)

        self.tables: dict[str, dynamodb.TableV2] = {}
        for table_spec in description.tables:
            self.tables[table_spec.id] = dynamodb.TableV2(
                self,
                f"Table-{table_spec.id}",
                table_name=description.name(table_spec.id),
                partition_key=dynamodb.Attribute(
                    name=table_spec.partition_key, type=dynamodb.AttributeType.STRING
                ),
                sort_key=dynamodb.Attribute(name=table_spec.sort_key, type=dynamodb.AttributeType.STRING),
                billing=dynamodb.Billing.on_demand(),
                encryption=dynamodb.TableEncryptionV2.customer_managed_key(self.keys[table_spec.key]),
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True,
                    recovery_period_in_days=config.pitr_recovery_period_days,
                ),
                deletion_protection=True,
                removal_policy=RemovalPolicy.RETAIN,
                time_to_live_attribute=table_spec.ttl_attribute,
                global_secondary_indexes=[
                    dynamodb.GlobalSecondaryIndexPropsV2(
                        index_name=index.name,
                        partition_key=dynamodb.Attribute(
                            name=index.partition_key, type=dynamodb.AttributeType.STRING
                        ),
                        sort_key=dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING),
                    )
                    for index in table_spec.indexes
                ],
            )

        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            bucket_name=self.physical_bucket_name(ACCESS_LOG_BUCKET),
            # S3 server access logging cannot deliver to an SSE-KMS bucket.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            versioned=True,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.buckets: dict[str, s3.Bucket] = {
            bucket_spec.id: self.secure_bucket(
                f"Bucket-{bucket_spec.id}", bucket_spec.id, self.keys[bucket_spec.key], spec=bucket_spec
            )
            for bucket_spec in description.data_buckets
            if bucket_spec.key is not None
        }

        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for queue_spec in description.queues:
            key = self.keys[queue_spec.key]
            dlq = sqs.Queue(
                self,
                f"Dlq-{queue_spec.id}",
                queue_name=description.name(queue_spec.dead_letter_id),
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=key,
                enforce_ssl=True,
                retention_period=Duration.days(14),
            )
            self.dead_letter_queues[queue_spec.id] = dlq
            self.queues[queue_spec.id] = sqs.Queue(
                self,
                f"Queue-{queue_spec.id}",
                queue_name=description.name(queue_spec.id),
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=key,
                enforce_ssl=True,
                dead_letter_queue=sqs.DeadLetterQueue(
                    queue=dlq, max_receive_count=queue_spec.max_receive_count
                ),
            )

    def physical_bucket_name(self, bucket_id: str) -> str | None:
        """A fixed bucket name needs the account; without it CDK generates a unique name."""
        if self.config.account is None:
            return None
        return self.description.bucket_name(bucket_id, self.config.account)

    def secure_bucket(
        self,
        construct_id: str,
        bucket_id: str,
        key: kms.IKey,
        scope: Construct | None = None,
        spec: BucketSpec | None = None,
    ) -> s3.Bucket:
        """SSE-KMS with a CMK, no public access, versioned, TLS only, access-logged; with Object
        Lock (compliance mode) and a lifecycle when the description asks for them."""
        lifecycle: list[s3.LifecycleRule] = []
        if spec is not None and (spec.cold_after_days is not None or spec.expire_days is not None):
            lifecycle.append(
                s3.LifecycleRule(
                    id="retention",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(spec.cold_after_days),
                        )
                    ]
                    if spec.cold_after_days is not None
                    else None,
                    expiration=Duration.days(spec.expire_days) if spec.expire_days is not None else None,
                )
            )
        for prefix, days in spec.expire_prefixes if spec is not None else ():
            lifecycle.append(
                s3.LifecycleRule(
                    id=f"expire-{prefix.strip('/')}",
                    prefix=prefix,
                    expiration=Duration.days(days),
                    noncurrent_version_expiration=Duration.days(1),
                )
            )
        lock_days = spec.object_lock_days if spec is not None else None
        bucket = s3.Bucket(
            scope or self,
            construct_id,
            bucket_name=self.physical_bucket_name(bucket_id),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix=f"{bucket_id}/",
            removal_policy=RemovalPolicy.RETAIN,
            object_lock_enabled=lock_days is not None or None,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(Duration.days(lock_days))
            if lock_days is not None
            else None,
            lifecycle_rules=lifecycle or None,
        )
        if spec is not None and spec.events_to_eventbridge:
            # Set on the bucket itself: CDK's event_bridge_enabled would add a custom-resource
            # Lambda (outside the VPC, with a managed policy) to write the same setting.
            cfn = bucket.node.default_child
            assert isinstance(cfn, s3.CfnBucket)
            cfn.add_property_override(
                "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
            )
        return bucket

    def log_group(self, scope: Construct, construct_id: str, name: str | None = None) -> logs.LogGroup:
        """A log group encrypted with the ops key and kept as long as the config says."""
        return logs.LogGroup(
            scope,
            construct_id,
            log_group_name=name,
            encryption_key=self.ops_key,
            retention=self.config.log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _key(self, key_id: str, text: str) -> kms.Key:
        return kms.Key(
            self,
            f"Key-{key_id}",
            alias=self.description.key_alias(key_id),
            description=f"{self.description.prefix}: {text}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    @staticmethod
    def allow_service(key: kms.Key, service: str, conditions: dict[str, dict[str, str]] | None) -> None:
        """Let an AWS service use the key on this account's behalf (key policy statement)."""
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(service)],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions=conditions,
            )
        )
