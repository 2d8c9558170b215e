"""AWS Backup: a Tokyo vault and daily plan over every table and bucket, copied to an Osaka vault.

The Osaka vault lives in its own stack (ap-northeast-3). The primary stack refers to it by an ARN
built from its fixed name and the account, so no cross-region reference is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

if TYPE_CHECKING:
    from juki_infra.config import JukiConfig
    from juki_infra.constructs.data import DataStore
    from juki_infra.description import SystemDescription

BACKUP_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Backup",
    "AWSBackupServiceRolePolicyForS3Restore",
)


def vault_name(description: SystemDescription, region: str) -> str:
    return description.name(f"backup-{region}")


def backup_vault(
    scope: Construct, description: SystemDescription, region: str, key: kms.IKey
) -> backup.BackupVault:
    return backup.BackupVault(
        scope,
        "Vault",
        backup_vault_name=vault_name(description, region),
        encryption_key=key,
        removal_policy=RemovalPolicy.RETAIN,
    )


def vault_key(scope: Construct, description: SystemDescription, region: str) -> kms.Key:
    return kms.Key(
        scope,
        "VaultKey",
        alias=description.key_alias(f"backup-{region}"),
        description=f"{description.prefix}: encrypts the AWS Backup vault in {region}",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN,
    )


class BackupCopyVault(Construct):
    """The off-site copy vault (Osaka), with its own key."""

    def __init__(
        self, scope: Construct, construct_id: str, *, description: SystemDescription, region: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = vault_key(self, description, region)
        self.vault = backup_vault(self, description, region, self.key)


class Backup(Construct):
    """Daily backups kept ``backup_retention_days`` in Tokyo and copied to Osaka for as long."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: SystemDescription,
        config: JukiConfig,
        data: DataStore,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = vault_key(self, description, config.region)
        self.vault = backup_vault(self, description, config.region, self.key)
        copy_vault_arn = Stack.of(self).format_arn(
            service="backup",
            region=config.backup_region,
            resource="backup-vault",
            resource_name=vault_name(description, config.backup_region),
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        copy_vault = backup.BackupVault.from_backup_vault_arn(self, "CopyVault", copy_vault_arn)
        retention = Duration.days(config.backup_retention_days)
        self.plan = backup.BackupPlan(
            self,
            "Plan",
            backup_plan_name=description.name("daily"),
            backup_vault=self.vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="daily-0200-jst",
                    # 17:00 UTC = 02:00 JST, after the nightly batch window.
                    schedule_expression=events.Schedule.cron(minute="0", hour="17"),
                    start_window=Duration.hours(1),
                    completion_window=Duration.hours(6),
                    delete_after=retention,
                    copy_actions=[
                        backup.BackupPlanCopyActionProps(
                            destination_backup_vault=copy_vault, delete_after=retention
                        )
                    ],
                )
            ],
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in BACKUP_POLICIES
            ],
        )
        for key in data.keys.values():
            key.grant_encrypt_decrypt(self.role)
        self.plan.add_selection(
            "Selection",
            backup_selection_name=description.name("tables-and-buckets"),
            role=self.role,
            resources=[
                *(backup.BackupResource.from_arn(table.table_arn) for table in data.tables.values()),
                *(backup.BackupResource.from_arn(bucket.bucket_arn) for bucket in data.buckets.values()),
            ],
        )
