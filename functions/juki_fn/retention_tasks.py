"""The task of the retention state machine (statemachines/retention.asl.json).

The machine passes ``{"execution", "started_at", "input"}``; ``input`` is the execution's input
on the first call (``{"as_of"?: "YYYY-MM-DD", "person_ids"?: [...]}``) and this function's
previous answer afterwards, so the answer carries the run's state (the day, the job, the counts)
and ``more``: the machine calls again while it is true. Ids and counts only, never personal data.

* ``TransientError``: a concurrent change or a passing DynamoDB/S3 fault; the machine retries,
  and the retry looks again (every step is safe to repeat).
* ``RetentionRefused``: the input asks for what the rules forbid (a day in the past); the
  execution fails with the code.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from juki.adapters.retention_stores import build_retention
from juki.adapters.system import JST
from juki.bootstrap import services
from juki.domain.errors import Conflict, DomainError
from juki.domain.retention import JOBS, Job
from juki.observability import logger, tracer
from juki.services.retention import Counts, RunState
from pydantic import BaseModel, ConfigDict, Field

from juki_fn.tasks import TransientError, storage_faults_retried


class RetentionRefused(Exception):
    """The run's input asks for something the rules do not allow."""


class RunInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    as_of: date | None = None
    job: Job = JOBS[0]
    person_ids: list[str] | None = Field(default=None, max_length=10_000)
    sending_address_files: int = 0
    sending_address_versions: int = 0
    move_out_certificates: int = 0
    removed_records_archived: int = 0
    ledger_items_scanned: int = 0


class TaskEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution: str
    started_at: datetime
    input: RunInput = Field(default_factory=RunInput)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskEvent.model_validate(event)
    given = task.input
    state = RunState(
        execution=task.execution,
        started_on=task.started_at.astimezone(JST).date(),
        as_of=given.as_of,
        job=given.job,
        person_ids=tuple(given.person_ids) if given.person_ids is not None else None,
        totals=Counts(
            sending_address_files=given.sending_address_files,
            sending_address_versions=given.sending_address_versions,
            move_out_certificates=given.move_out_certificates,
            removed_records_archived=given.removed_records_archived,
            ledger_items_scanned=given.ledger_items_scanned,
        ),
    )
    try:
        with storage_faults_retried("retention", job=state.job):
            result = services().part(build_retention).step(state)
    except Conflict as error:
        logger.info("retention raced", extra={"code": error.code, "job": state.job})
        raise TransientError(error.code) from None
    except DomainError as error:
        logger.info("retention refused", extra={"code": error.code, "job": state.job})
        raise RetentionRefused(error.code) from None
    done = result.state
    answer: dict[str, Any] = {
        "more": result.more,
        "as_of": result.as_of.isoformat(),
        "job": done.job,
        **done.totals.__dict__,
    }
    if done.person_ids is not None:
        answer["person_ids"] = list(done.person_ids)
    logger.info(
        "retention step",
        extra={"job": state.job, "more": result.more, "as_of": answer["as_of"], **result.counts.__dict__},
    )
    return answer
