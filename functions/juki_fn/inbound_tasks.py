"""The task of the linkage-receive state machine (statemachines/linkage_receive.asl.json).

The machine passes ``{"execution", "started_at", "input"}``; ``input`` is the execution's input
on the first call and this function's previous answer afterwards, so the answer carries the
run's totals, ``more`` and the cursor ``after`` (the last key looked at, so files left in place
never come first again in the same run): the machine calls again while ``more`` is true. Each
rejected file is logged with ``LINKAGE_INBOUND_REJECTED`` (the alarm's code), by peer, message id
and reason code only, never its content; a file left in place after an unexpected fault with
``LINKAGE_INBOUND_FAILED``, by key and error type only; a 本籍照合 mismatch with
``KOSEKI_MISMATCH``, by person id, for a clerk to follow up.

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
LINKAGE_INBOUND_FAILED = "LINKAGE_INBOUND_FAILED"


class RunInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0
    steps: int = 0
    after: str | None = None


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
            outcome = services().part(build_inbound).step(after=totals.after)
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
    for failure in outcome.failed:
        logger.error(
            "inbound file left for the next run",
            extra={"code": LINKAGE_INBOUND_FAILED, "key": failure.key, "error": failure.error},
        )
    for follow_up in outcome.follow_ups:
        logger.warning(
            "inbound notice needs a clerk",
            extra={
                "code": follow_up.code,
                "person_id": follow_up.person_id,
                "peer": follow_up.peer,
                "message_id": follow_up.message_id,
            },
        )
    answer = {
        "more": outcome.more,
        "after": outcome.last_key,
        "applied": totals.applied + outcome.applied,
        "duplicates": totals.duplicates + outcome.duplicates,
        "rejected": totals.rejected + len(outcome.rejected),
        "failed": totals.failed + len(outcome.failed),
        "steps": totals.steps + 1,
    }
    logger.info(
        "linkage receive step",
        extra={
            "execution": task.execution,
            "applied": outcome.applied,
            "duplicates": outcome.duplicates,
            "rejected": len(outcome.rejected),
            "failed": len(outcome.failed),
            "more": outcome.more,
        },
    )
    return answer
