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
MAX_ATTEMPTS = 20  # executions of one piece of work that stopped without succeeding


class StepFunctionsWorkflow:
    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> str:
        """Runs the work named ``name`` once. If an execution of that name is running or has
        succeeded, that one is returned (a retry after a lost response); if it stopped without
        succeeding, the work is started again under ``<name>-2``, ``<name>-3`` …"""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            attempt_name = name if attempt == 1 else f"{name}-{attempt}"
            try:
                response = self._client.start_execution(
                    stateMachineArn=self._arn, name=attempt_name, input=json.dumps(payload, sort_keys=True)
                )
            except self._client.exceptions.ExecutionAlreadyExists:
                arn = self.execution_arn(attempt_name)
                if self._client.describe_execution(executionArn=arn)["status"] in ("RUNNING", "SUCCEEDED"):
                    return arn
                continue
            return response["executionArn"]
        raise RuntimeError(f"no execution could be started after {MAX_ATTEMPTS} attempts")

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
