"""The task of the unusual-access state machine (statemachines/unusual_access.asl.json); the
service it runs is composed by ``juki.adapters.reports.build_unusual_access``.

The task is safe to repeat: the report of a day is the same each time and is written only when it
differs, and the run's log entry has an id derived from the execution, written once. The task
returns counts and the report's key; findings raise the alarm through one WARNING line with the
code ``UNUSUAL_ACCESS_FOUND`` (a metric filter on the function's log group), with counts only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from juki.adapters.reports import build_unusual_access
from juki.bootstrap import services
from juki.domain.staff import SystemActor
from juki.observability import logger, tracer
from juki.services.unusual_access import JOB, UNUSUAL_ACCESS_FOUND
from pydantic import BaseModel, ConfigDict, Field

from juki_fn.tasks import storage_faults_retried


class DetectInput(BaseModel):
    """The execution's input: a scheduled start passes the EventBridge event (ignored); an
    operator may name the day."""

    model_config = ConfigDict(extra="ignore")

    day: date | None = None


class DetectTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution: str | None = None
    started_at: datetime | None = None
    input: DetectInput = Field(default_factory=DetectInput)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def unusual_access_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    task = DetectTask.model_validate(event)
    actor = SystemActor(JOB, task.execution or context.aws_request_id)
    service = services().part(build_unusual_access)
    with storage_faults_retried("unusual access"):
        summary = service.run(actor, task.input.day, run_id=task.execution, started_at=task.started_at)
    logger.info(
        "unusual access checked",
        extra={"day": summary.day.isoformat(), "entries": summary.entries, "findings": summary.findings},
    )
    if summary.findings:
        logger.warning(
            "unusual access found",
            extra={
                "code": UNUSUAL_ACCESS_FOUND,
                "findings": summary.findings,
                "by_rule": summary.by_rule,
                "day": summary.day.isoformat(),
                "report_key": summary.report_key,
            },
        )
    return summary.as_output()
