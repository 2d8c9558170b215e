"""Every Lambda function of the description, built the same way with least-privilege IAM."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from juki.adapters import settings

from juki_infra.constructs.arns import execution_arns, state_machine_arn
from juki_infra.description import (
    ENV_MUNICIPALITY_CODE,
    ENV_TOKEN_AUDIENCE,
    ENV_TOKEN_ISSUER,
    ENV_TOKEN_PUBLIC_KEYS,
    FUNCTIONS_DIR,
    Access,
    FunctionSpec,
    SystemDescription,
)
from juki_infra.layer import shared_layer

if TYPE_CHECKING:
    from collections.abc import Mapping

    from juki_infra.config import JukiConfig
    from juki_infra.constructs.data import DataStore
    from juki_infra.constructs.network import Network

# Lambda in a VPC manages its network interfaces itself; these EC2 actions take no resource ARN.
ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


class Functions(Construct):
    """Creates functions from FunctionSpecs; ``add`` is called once per spec."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: SystemDescription,
        config: JukiConfig,
        data: DataStore,
        network: Network,
    ) -> None:
        super().__init__(scope, construct_id)
        self.description = description
        self.config = config
        self.data = data
        self.network = network
        self.layer = shared_layer(self, "SharedLayer", description.name("shared"))
        self.code = lambda_.Code.from_asset(
            str(FUNCTIONS_DIR), exclude=["**/__pycache__", "**/*.pyc", "**/.pytest_cache"]
        )
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}

    def add(self, spec: FunctionSpec, state_machines: Mapping[str, sfn.IStateMachine]) -> lambda_.Function:
        name = self.description.name(spec.id)
        log_group = self.data.log_group(self, f"Logs-{spec.id}", f"/aws/lambda/{name}")
        self.log_groups[spec.id] = log_group
        role = iam.Role(
            self,
            f"Role-{spec.id}",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{name}: {spec.description}",
        )
        role.add_to_policy(iam.PolicyStatement(actions=list(ENI_ACTIONS), resources=["*"]))
        log_group.grant_write(role)

        function = lambda_.Function(
            self,
            f"Function-{spec.id}",
            function_name=name,
            description=spec.description,
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler=spec.handler,
            code=self.code,
            layers=[self.layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            role=role,
            vpc=self.network.vpc,
            vpc_subnets=self.network.isolated_subnets,
            security_groups=[self.network.function_security_group],
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            reserved_concurrent_executions=self.config.reserved_concurrency,
            environment=self._environment(spec, state_machines),
        )
        self._grant(spec, function, state_machines)
        self.functions[spec.id] = function
        self.roles[spec.id] = role
        return function

    def _environment(
        self, spec: FunctionSpec, state_machines: Mapping[str, sfn.IStateMachine]
    ) -> dict[str, str]:
        environment = {
            ENV_MUNICIPALITY_CODE: self.description.municipality_code,
            ENV_TOKEN_ISSUER: self.config.staff_token_issuer,
            ENV_TOKEN_AUDIENCE: self.config.staff_token_audience,
            ENV_TOKEN_PUBLIC_KEYS: self.config.staff_token_public_keys,
            settings.ENV_KIOSK_CALLERS: ",".join(self.config.kiosk_caller_arns),
            settings.ENV_MUNICIPALITY_NAME: self.config.municipality_name,
            settings.ENV_MAYOR: self.config.mayor_title_and_name,
            settings.ENV_PEER_CS_URL: self.config.peer_cs_url,
            settings.ENV_PEER_PLATFORM_URL: self.config.peer_platform_url,
            settings.ENV_PEER_INTERMEDIATE_URL: self.config.peer_intermediate_url,
            "POWERTOOLS_SERVICE_NAME": "juki",
        }
        for table_spec in self.description.tables:
            if table_spec.id in spec.tables:
                environment[table_spec.env_var] = self.data.tables[table_spec.id].table_name
        for key_spec in self.description.keys:
            if key_spec.id in spec.keys and key_spec.env_var:
                environment[key_spec.env_var] = self.data.keys[key_spec.id].key_arn
        for bucket_spec in self.description.data_buckets:
            if bucket_spec.id in spec.buckets and bucket_spec.env_var:
                environment[bucket_spec.env_var] = self.data.buckets[bucket_spec.id].bucket_name
        for queue_spec in self.description.queues:
            if queue_spec.id in spec.queues:
                environment[queue_spec.env_var] = self.data.queues[queue_spec.id].queue_url
        for machine_id in spec.starts_state_machines:
            machine_spec = self.description.state_machine(machine_id)
            environment[machine_spec.env_var] = self._machine_arn(machine_id, state_machines)
        return environment

    def _machine_arn(self, machine_id: str, state_machines: Mapping[str, sfn.IStateMachine]) -> str:
        """The machine's ARN; built from its fixed name when the machine is made after this function
        (a task function of one machine that starts another, e.g. the commit starting the dispatch)."""
        if machine_id in state_machines:
            return state_machines[machine_id].state_machine_arn
        return state_machine_arn(self, self.description.name(machine_id))

    def _grant(
        self, spec: FunctionSpec, function: lambda_.Function, state_machines: Mapping[str, sfn.IStateMachine]
    ) -> None:
        for table_id, access in spec.tables.items():
            table = self.data.tables[table_id]
            if access is Access.READ_WRITE:
                table.grant_read_write_data(function)
            else:
                table.grant_read_data(function)
        for bucket_id, access in spec.buckets.items():
            bucket = self.data.buckets[bucket_id]
            if access is Access.READ_WRITE:
                bucket.grant_read_write(function)
            else:
                bucket.grant_read(function)
        for queue_id in spec.queues:
            self.data.queues[queue_id].grant_send_messages(function)
        for key_id in spec.keys:
            self.data.keys[key_id].grant_encrypt_decrypt(function)
        for machine_id in spec.starts_state_machines:
            if machine_id in state_machines:
                state_machines[machine_id].grant_start_execution(function)
            else:
                function.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=["states:StartExecution"], resources=[self._machine_arn(machine_id, {})]
                    )
                )
            # Executions of exactly this machine (its name is fixed by the description).
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["states:DescribeExecution"],
                    resources=[self.execution_arns(machine_id)],
                )
            )

    def execution_arns(self, machine_id: str) -> str:
        return execution_arns(self, self.description.name(machine_id))
