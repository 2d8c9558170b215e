"""Tasks of the movement-approval state machine (statemachines/movement_approval.asl.json).

Each task is safe to repeat: Step Functions retries them, and a retry never writes twice.
Errors reach the state machine by name only, never with personal data:

* ``MovementRejected``: the rules refuse the movement now; the machine records why.
* ``TransientError``: a concurrent change or a passing DynamoDB fault; the machine retries,
  and the retry checks again against the ledger as it is then.
* anything else: the execution fails and the movement stays approved, so approving again
  pushes it on once the fault is mended.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from juki.bootstrap import services
from juki.domain.errors import Conflict, DomainError
from juki.observability import logger, tracer
from juki.services.resident_codes import RESIDENT_CODE_POOL_LOW
from pydantic import BaseModel, ConfigDict
from pynamodb.exceptions import PynamoDBException

from juki_fn.tasks import TransientError

ERROR_CODE = re.compile(r"^[A-Z][A-Z_]{2,39}$")


class MovementRejected(Exception):
    """The movement fails the rules against the current ledger."""


class TaskInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    movement_id: str
    approval_id: str


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def commit_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskInput.model_validate(event)
    try:
        result = services().movements.commit(task.movement_id, task.approval_id)
    except Conflict as error:
        logger.info("commit raced", extra={"code": error.code, "movement_id": task.movement_id})
        raise TransientError(error.code) from None
    except DomainError as error:
        logger.info("commit refused", extra={"code": error.code, "movement_id": task.movement_id})
        raise MovementRejected(error.code) from None
    except PynamoDBException as error:
        logger.warning(
            "dynamodb fault", extra={"error": type(error).__name__, "movement_id": task.movement_id}
        )
        raise TransientError(type(error).__name__) from None
    pool = services().resident_codes.status()
    if pool.low:  # the alarm on this code tells the operator to ask the CS for more codes
        logger.warning(
            "resident code pool low", extra={"code": RESIDENT_CODE_POOL_LOW, "available": pool.available}
        )
    return result


def _error_code(event: dict[str, Any]) -> str | None:
    """The caught error's code: Lambda reports ``{"errorMessage": <code>, ...}`` as the Cause.
    Anything that is not a plain code is dropped: a message could carry input values."""
    error = event.get("error") or {}
    try:
        cause = json.loads(error.get("Cause") or "{}")
    except json.JSONDecodeError:
        cause = {}
    message = cause.get("errorMessage") if isinstance(cause, dict) else None
    return message if isinstance(message, str) and ERROR_CODE.match(message) else None


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def fail_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskInput.model_validate(event)
    services().movements.record_failure(task.movement_id, task.approval_id, _error_code(event))
    return {"movement_id": task.movement_id, "status": "failed"}
