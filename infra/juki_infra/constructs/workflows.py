"""Standard state machines from the ASL files, with function ARNs substituted in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from juki_infra.constructs.arns import execution_arns, state_machine_arn

if TYPE_CHECKING:
    from collections.abc import Mapping

    from juki_infra.constructs.data import DataStore
    from juki_infra.description import SystemDescription


class Workflows(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: SystemDescription,
        data: DataStore,
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self.description = description
        self.state_machines: dict[str, sfn.StateMachine] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        for spec in description.state_machines:
            name = description.name(spec.id)
            # The vendedlogs prefix keeps the log group out of the size-limited Logs resource policy.
            log_group = data.log_group(self, f"Logs-{spec.id}", f"/aws/vendedlogs/states/{name}")
            machine = sfn.StateMachine(
                self,
                f"StateMachine-{spec.id}",
                state_machine_name=name,
                state_machine_type=sfn.StateMachineType.STANDARD,
                comment=spec.description,
                definition_body=sfn.DefinitionBody.from_file(str(spec.definition_path)),
                definition_substitutions={
                    placeholder: functions[function_id].function_arn
                    for placeholder, function_id in spec.functions.items()
                },
                logs=sfn.LogOptions(
                    destination=log_group,
                    level=sfn.LogLevel.ALL,
                    # Our states carry ids only, but Lambda error causes and any future state could
                    # carry personal data: execution data never reaches the logs. Events, state
                    # names and error names still do.
                    include_execution_data=False,
                ),
                tracing_enabled=True,
            )
            for function_id in spec.functions.values():
                functions[function_id].grant_invoke(machine)
            if spec.schedule is not None:
                events.Rule(
                    self,
                    f"Schedule-{spec.id}",
                    rule_name=f"{name}-schedule",
                    description=f"Starts {name} on its schedule",
                    schedule=events.Schedule.expression(spec.schedule),
                    targets=[targets.SfnStateMachine(machine)],
                )
            if spec.distributed_map:
                self._distributed_map(machine, spec.id, data, spec.map_reads_buckets, spec.map_reads_objects)
            if spec.started_by_objects is not None:
                bucket_id, prefix = spec.started_by_objects
                events.Rule(
                    self,
                    f"Objects-{spec.id}",
                    rule_name=f"{name}-objects",
                    description=f"Starts {name} when a file arrives under {prefix}",
                    event_pattern=events.EventPattern(
                        source=["aws.s3"],
                        detail_type=["Object Created"],
                        detail={
                            "bucket": {"name": [data.buckets[bucket_id].bucket_name]},
                            "object": {"key": [{"prefix": prefix}]},
                        },
                    ),
                    targets=[targets.SfnStateMachine(machine)],
                )
            self.state_machines[spec.id] = machine
            self.log_groups[spec.id] = log_group

    def execution_arns(self, machine_id: str) -> str:
        """The ARN pattern of a machine's executions (child executions of a Distributed Map too)."""
        return execution_arns(self, self.description.name(machine_id))

    def _distributed_map(
        self,
        machine: sfn.StateMachine,
        machine_id: str,
        data: DataStore,
        listed: tuple[str, ...],
        objects: tuple[tuple[str, str], ...],
    ) -> None:
        """What a Distributed Map's parent needs: to list its item source, or read the one object
        that lists the items (the children read the items themselves, in their functions), and to
        start, watch and stop its child executions (by the machine's fixed name: no reference to
        itself)."""
        if listed:
            machine.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"], resources=[data.buckets[b].bucket_arn for b in listed]
                )
            )
        for bucket_id, pattern in objects:
            bucket = data.buckets[bucket_id]
            machine.add_to_role_policy(
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects(pattern)])
            )
            if bucket.encryption_key is not None:
                bucket.encryption_key.grant_decrypt(machine)
        own_arn = state_machine_arn(self, self.description.name(machine_id))
        machine.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[own_arn])
        )
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[self.execution_arns(machine_id)],
            )
        )
