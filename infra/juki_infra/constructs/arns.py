"""ARNs of state machines and their executions built from the fixed names of the description, for
the places that must not refer to the machine's construct (it is made later, or it is the one
asking: a Distributed Map starting its own children)."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from constructs import IConstruct


def state_machine_arn(scope: IConstruct, name: str) -> str:
    return Stack.of(scope).format_arn(
        service="states",
        resource="stateMachine",
        resource_name=name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def execution_arns(scope: IConstruct, name: str) -> str:
    """Every execution of the machine named ``name`` (execution ARNs are made at run time)."""
    return Stack.of(scope).format_arn(
        service="states",
        resource="execution",
        resource_name=f"{name}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
