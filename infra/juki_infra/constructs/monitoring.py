"""CloudTrail and GuardDuty (each switchable), the alarm topic and the alarms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

if TYPE_CHECKING:
    from collections.abc import Mapping

    from juki_infra.config import JukiConfig
    from juki_infra.constructs.api import PrivateApi
    from juki_infra.constructs.data import DataStore
    from juki_infra.description import SystemDescription

TRAIL_BUCKET_ID = "trail"


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: SystemDescription,
        config: JukiConfig,
        data: DataStore,
        api: PrivateApi,
        functions: Mapping[str, lambda_.IFunction],
        log_groups: Mapping[str, logs.ILogGroup],
        state_machines: Mapping[str, sfn.IStateMachine],
    ) -> None:
        super().__init__(scope, construct_id)
        self.description = description
        self.trail: cloudtrail.Trail | None = None
        self.trail_bucket: s3.Bucket | None = None
        if config.create_cloudtrail:
            self._trail(data)
        self.detector = (
            guardduty.CfnDetector(
                self,
                "GuardDuty",
                enable=True,
                finding_publishing_frequency="FIFTEEN_MINUTES",
                features=[
                    guardduty.CfnDetector.CFNFeatureConfigurationProperty(name=name, status="ENABLED")
                    for name in ("S3_DATA_EVENTS", "LAMBDA_NETWORK_LOGS")
                ],
            )
            if config.create_guardduty
            else None
        )

        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=description.name("alarms"),
            display_name="Juki alarms",
            master_key=data.ops_key,
            enforce_ssl=True,
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []
        for machine_id, machine in state_machines.items():
            self._alarm(
                f"ExecutionsFailed-{machine_id}", machine.metric_failed(), f"{machine_id}: executions failed"
            )
        self._alarm("Api5xx", api.rest_api.metric_server_error(), "API: 5xx responses")
        for function_id, function in functions.items():
            self._alarm(f"Errors-{function_id}", function.metric_errors(), f"{function_id}: function errors")
        for spec in description.functions:
            for code in spec.alarm_codes:
                self._log_alarm(spec.id, code, log_groups[spec.id])
        for queue_id, dlq in data.dead_letter_queues.items():
            self._alarm(
                f"DeadLetters-{queue_id}",
                dlq.metric_approximate_number_of_messages_visible(),
                f"{queue_id}: messages in the dead-letter queue",
            )

    def _log_alarm(self, function_id: str, code: str, log_group: logs.ILogGroup) -> None:
        """An alarm on log lines carrying a code (structured logs: {"code": …}), e.g. a pool running low."""
        log_filter = logs.MetricFilter(
            self,
            f"Filter-{function_id}-{code}",
            log_group=log_group,
            filter_pattern=logs.FilterPattern.string_value("$.code", "=", code),
            metric_namespace="Juki",
            metric_name=code,
            metric_value="1",
        )
        self._alarm(
            f"Log-{function_id}-{code}", log_filter.metric(statistic="Sum"), f"{function_id}: {code} logged"
        )

    def _alarm(self, construct_id: str, metric: cloudwatch.Metric, text: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=self.description.name(construct_id.lower()),
            alarm_description=text,
            metric=metric.with_(period=Duration.minutes(5)),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
        self.alarms.append(alarm)

    def _trail(self, data: DataStore) -> None:
        key = data.ops_key
        data.allow_service(
            key,
            "cloudtrail.amazonaws.com",
            {
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": (
                        f"arn:{Aws.PARTITION}:cloudtrail:*:{Aws.ACCOUNT_ID}:trail/*"
                    )
                }
            },
        )
        self.trail_bucket = data.secure_bucket("TrailBucket", TRAIL_BUCKET_ID, key, scope=self)
        self.trail_log_group = data.log_group(self, "TrailLogs")
        self.trail = cloudtrail.Trail(
            self,
            "Trail",
            trail_name=self.description.name("trail"),
            bucket=self.trail_bucket,
            encryption_key=key,
            enable_file_validation=True,
            include_global_service_events=True,
            is_multi_region_trail=False,
            send_to_cloud_watch_logs=True,
            cloud_watch_log_group=self.trail_log_group,
        )
        # Data events through advanced selectors: the L2 has no DynamoDB data-event selector.
        cfn_trail = self.trail.node.default_child
        assert isinstance(cfn_trail, cloudtrail.CfnTrail)
        cfn_trail.advanced_event_selectors = [
            cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
                name="Management events",
                field_selectors=[
                    cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(
                        field="eventCategory", equal_to=["Management"]
                    )
                ],
            ),
            self._data_selector(
                "S3 data events on the Juki buckets",
                "AWS::S3::Object",
                [f"{bucket.bucket_arn}/" for bucket in data.buckets.values()],
                starts_with=True,
            ),
            self._data_selector(
                "DynamoDB data events on the ledger tables",
                "AWS::DynamoDB::Table",
                [table.table_arn for table in data.tables.values()],
                starts_with=False,
            ),
        ]

    @staticmethod
    def _data_selector(
        name: str, resource_type: str, arns: list[str], *, starts_with: bool
    ) -> cloudtrail.CfnTrail.AdvancedEventSelectorProperty:
        arn_selector = (
            cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(field="resources.ARN", starts_with=arns)
            if starts_with
            else cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(field="resources.ARN", equal_to=arns)
        )
        return cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
            name=name,
            field_selectors=[
                cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(field="eventCategory", equal_to=["Data"]),
                cloudtrail.CfnTrail.AdvancedFieldSelectorProperty(
                    field="resources.type", equal_to=[resource_type]
                ),
                arn_selector,
            ],
        )
