"""The scheduled jobs (state machines) as an operator sees them: start one, list recent runs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3

from juki.adapters.system import SystemClock, UuidSource
from juki.services.operations import JobRun, OperationsService

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

    from juki.bootstrap import Services


class StepFunctionsJobs:
    """Implements ``juki.services.operations.JobRunner``."""

    def __init__(self, client: SFNClient, jobs: dict[str, str]) -> None:
        self._client = client
        self._jobs = jobs

    def jobs(self) -> list[str]:
        return sorted(self._jobs)

    def start(self, job: str, run_id: str, payload: dict[str, Any]) -> JobRun:
        response = self._client.start_execution(
            stateMachineArn=self._jobs[job], name=run_id, input=json.dumps(payload, sort_keys=True)
        )
        return JobRun(job=job, run_id=run_id, status="RUNNING", started_at=response["startDate"])

    def runs(self, job: str, limit: int) -> list[JobRun]:
        listed = self._client.list_executions(stateMachineArn=self._jobs[job], maxResults=limit)
        return [
            JobRun(
                job=job,
                run_id=e["name"],
                status=e["status"],
                started_at=e["startDate"],
                stopped_at=e.get("stopDate"),
            )
            for e in listed["executions"]
        ]

    def run(self, job: str, run_id: str) -> JobRun | None:
        arn = f"{self._jobs[job].replace(':stateMachine:', ':execution:', 1)}:{run_id}"
        try:
            described = self._client.describe_execution(executionArn=arn)
        except self._client.exceptions.ExecutionDoesNotExist:
            return None
        output = described.get("output")
        stopped: datetime | None = described.get("stopDate")
        return JobRun(
            job=job,
            run_id=run_id,
            status=described["status"],
            started_at=described["startDate"],
            stopped_at=stopped,
            output=json.loads(output) if output else None,
            error=described.get("error"),
        )


def start_once(built: Services, job: str, name: str) -> bool:
    """Starts ``job`` under ``name`` unless an execution of that name exists (a retried task starts
    it once); False when the job is not configured for the caller or was started already."""
    settings = built.settings
    arn = settings.jobs.get(job)
    if arn is None:
        return False
    client = boto3.client("stepfunctions", region_name=settings.region, endpoint_url=settings.endpoint_url)
    try:
        client.start_execution(stateMachineArn=arn, name=name, input="{}")
    except client.exceptions.ExecutionAlreadyExists:
        return False
    return True


def build_operations(built: Services) -> OperationsService:
    """For ``services().part(build_operations)``: the operator's scheduled jobs."""
    settings = built.settings
    client = boto3.client("stepfunctions", region_name=settings.region, endpoint_url=settings.endpoint_url)
    return OperationsService(
        StepFunctionsJobs(client, settings.jobs), built.store, SystemClock(), UuidSource()
    )
