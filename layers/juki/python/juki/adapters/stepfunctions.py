"""Starting and watching state-machine executions."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from juki.services.ports import ExecutionOutcome

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

_POLL_SECONDS = 0.05
_MAX_POLL_SECONDS = 1.0


class StepFunctionsWorkflow:
    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> str:
        """A Standard workflow runs once per name: starting it again (a retry after a lost
        response, say) returns the execution that already exists instead of a second one."""
        try:
            response = self._client.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(payload, sort_keys=True)
            )
        except self._client.exceptions.ExecutionAlreadyExists:
            return self.execution_arn(name)
        return response["executionArn"]

    def execution_arn(self, name: str) -> str:
        return f"{self._arn.replace(':stateMachine:', ':execution:', 1)}:{name}"

    def wait(self, execution_arn: str, timeout_seconds: float) -> ExecutionOutcome:
        deadline = time.monotonic() + timeout_seconds
        pause = _POLL_SECONDS
        while True:
            described = self._client.describe_execution(executionArn=execution_arn)
            status = described["status"]
            if status != "RUNNING" or time.monotonic() >= deadline:
                break
            time.sleep(pause)
            pause = min(pause * 1.5, _MAX_POLL_SECONDS)
        output = described.get("output")
        return ExecutionOutcome(
            status=status if status != "PENDING_REDRIVE" else "FAILED",
            output=json.loads(output) if output else None,
            error=described.get("error"),
        )
