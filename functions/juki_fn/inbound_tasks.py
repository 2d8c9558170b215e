"""The task of the linkage-receive state machine (statemachines/linkage_receive.asl.json).

The machine passes ``{"execution", "started_at", "input"}``; ``input`` is the execution's input
on the first call and this function's previous answer afterwards, so the answer carries the
run's totals and ``more``: the machine calls again while it is true. Each rejected file is
logged with ``LINKAGE_INBOUND_REJECTED`` (the alarm's code), by peer, message id and reason code
only, never its content.

* ``TransientError``: a race with another run or a passing DynamoDB/S3/KMS fault; the machine
  retries, and the retry reads the files again (each is applied at most once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from juki.adapters.inbound import build_inbound
from juki.bootstrap import services
from juki.domain.errors import Conflict
from juki.observability import logger, tracer
from pydantic import BaseModel, ConfigDict, Field

from juki_fn.tasks import TransientError, storage_faults_retried

LINKAGE_INBOUND_REJECTED = "LINKAGE_INBOUND_REJECTED"


class RunInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    steps: int = 0


class TaskEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution: str
    started_at: datetime
    input: RunInput = Field(default_factory=RunInput)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def receive_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskEvent.model_validate(event)
    totals = task.input
    try:
        with storage_faults_retried("linkage receive", execution=task.execution):
            outcome = services().part(build_inbound).step()
    except Conflict as error:
        logger.info("linkage receive raced", extra={"code": error.code, "execution": task.execution})
        raise TransientError(error.code) from None
    for rejection in outcome.rejected:
        logger.warning(
            "inbound file rejected",
            extra={
                "code": LINKAGE_INBOUND_REJECTED,
                "reason": rejection.code,
                "peer": rejection.peer,
                "message_id": rejection.message_id,
            },
        )
    answer = {
        "more": outcome.more,
        "applied": totals.applied + outcome.applied,
        "duplicates": totals.duplicates + outcome.duplicates,
        "rejected": totals.rejected + len(outcome.rejected),
        "steps": totals.steps + 1,
    }
    logger.info(
        "linkage receive step",
        extra={
            "execution": task.execution,
            "applied": outcome.applied,
            "duplicates": outcome.duplicates,
            "rejected": len(outcome.rejected),
            "more": outcome.more,
        },
    )
    return answer
