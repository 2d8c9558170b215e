"""The tasks of the consistency check (statemachines/consistency_check.asl.json); the service is
composed by ``juki.adapters.consistency.build_consistency``.

* ``export_handler``: ``{"execution", "started_at", "input"}``; ``input`` is the execution's input
  on the first call (``{"part_size"?: n}``, or the scheduler's event, ignored) and this task's
  previous answer afterwards: the run's state with ``more`` (the machine calls again while true).
* ``compare_handler``: one Distributed Map item, ``{"input": {"key": <part key>}}``.
* ``report_handler``: the export's last answer (the Map keeps no results in the state: each part
  writes its diff file, and a missing one fails the run with ``ConsistencyCheckFailed``).

``TransientError``: the CS or storage was unavailable; the machine retries with backoff. Ids,
keys and counts only are logged; differences raise the alarm through one WARNING line with the
code ``CONSISTENCY_DIFFERENCES``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from juki.adapters.consistency import build_consistency
from juki.bootstrap import services
from juki.domain.consistency import PART_SIZE
from juki.domain.errors import DomainError
from juki.domain.my_number import MyNumberVaultError
from juki.domain.staff import SystemActor
from juki.observability import logger, tracer
from juki.services.consistency import (
    CONSISTENCY_DIFFERENCES,
    JOB,
    CheckFailed,
    ExportState,
    PeerRefused,
    PeerUnavailable,
)
from pydantic import BaseModel, ConfigDict, Field

from juki_fn.tasks import TransientError, storage_faults_retried


class ConsistencyCheckFailed(Exception):
    """The run cannot give a complete, correct report; the execution fails with the code."""


class ExportInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str | None = None
    cursor: dict[str, Any] | None = None
    parts: int = Field(default=0, ge=0)
    persons: int = Field(default=0, ge=0)
    part_size: int = Field(default=PART_SIZE, ge=1, le=PART_SIZE)


class ExportTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution: str
    started_at: datetime | None = None
    input: ExportInput = Field(default_factory=ExportInput)


class PartItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str


class CompareTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input: PartItem


class ReportInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str
    parts: int
    results: list[dict[str, Any] | None] | None = None  # given only by a caller that kept them


class ReportTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution: str
    input: ReportInput


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def export_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = ExportTask.model_validate(event)
    given = task.input
    service = services().part(build_consistency)
    run_id = given.run_id or task.execution
    try:
        state = service.start(run_id, given.part_size)
    except DomainError as error:
        logger.info("consistency export refused", extra={"code": error.code})
        raise ConsistencyCheckFailed(error.code) from None
    if given.run_id is not None:
        state = ExportState(
            run_id=state.run_id,
            bucket=state.bucket,
            cursor=given.cursor,
            parts=given.parts,
            persons=given.persons,
            part_size=state.part_size,
        )
    with storage_faults_retried("consistency export", run_id=run_id):
        done = service.export_step(state, SystemActor(JOB, task.execution))
    logger.info(
        "consistency export step",
        extra={"run_id": run_id, "parts": done.parts, "persons": done.persons, "more": done.more},
    )
    return done.as_output()


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def compare_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    part = CompareTask.model_validate(event).input.key
    service = services().part(build_consistency)
    try:
        with storage_faults_retried("consistency compare", part=part):
            result = service.compare_part(part)
    except PeerUnavailable as error:
        logger.warning("cs unavailable", extra={"code": str(error), "part": part})
        raise TransientError(str(error)) from None
    except MyNumberVaultError:
        logger.warning("my number vault fault", extra={"part": part})
        raise TransientError("MY_NUMBER_VAULT") from None
    except (PeerRefused, CheckFailed, ValueError) as error:
        code = error.code if isinstance(error, CheckFailed) else str(error) or type(error).__name__
        logger.warning("consistency compare failed", extra={"code": code, "part": part})
        raise ConsistencyCheckFailed(code) from None
    logger.info("consistency part compared", extra=result.as_output())
    return result.as_output()


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def report_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = ReportTask.model_validate(event)
    given = task.input
    service = services().part(build_consistency)
    try:
        with storage_faults_retried("consistency report", run_id=given.run_id):
            summary = service.report(
                given.run_id, given.parts, given.results, SystemActor(JOB, task.execution)
            )
    except CheckFailed as error:
        logger.error(
            "consistency check incomplete",
            extra={"code": error.code, "run_id": given.run_id, "parts": given.parts},
        )
        raise ConsistencyCheckFailed(error.code) from None
    logger.info("consistency report written", extra=summary.as_output())
    if summary.differences:
        logger.warning(
            "consistency differences found",
            extra={
                "code": CONSISTENCY_DIFFERENCES,
                "run_id": summary.run_id,
                "differences": summary.differences,
                "by_kind": summary.by_kind,
                "report_key": summary.report_key,
            },
        )
    return summary.as_output()
