"""Tasks of the movement-approval state machine (statemachines/movement_approval.asl.json).

Each task is safe to repeat: Step Functions retries them, and a retry never writes twice.
Errors reach the state machine by name only, never with personal data:

* ``MovementRejected``: the rules refuse the movement now; the machine records why.
* ``TransientError``: a concurrent change or a passing DynamoDB fault; the machine retries,
  and the retry checks again against the ledger as it is then.
* anything else: the execution fails and the movement stays approved, so approving again
  pushes it on once the fault is mended.

After the commit, the answer says what to print (``"print": "move_out_certificate"`` for a
non-card 転出, ``"none"`` otherwise, decided by the certificate service), and
``print_move_out_certificate_handler`` prints it. Its errors (``PrintRefused`` with a code,
``TransientError`` after the retries) are caught by the machine and recorded as ``print_error``:
a print never undoes or fails a commit.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from juki.adapters.certificates import build_certificates
from juki.adapters.jobs import start_once
from juki.bootstrap import services
from juki.domain.errors import Conflict, DomainError
from juki.observability import logger, tracer
from juki.services.resident_codes import RESIDENT_CODE_POOL_LOW
from pydantic import BaseModel, ConfigDict
from pynamodb.exceptions import PynamoDBException

from juki_fn.tasks import TransientError, storage_faults_retried

LINKAGE_DISPATCH = "linkage-dispatch"

NOTHING_TO_PRINT = (
    "none"  # always a value: the machine's Choice compares it, a missing path would be an error
)
CONCURRENT_CHANGE = "CONCURRENT_CHANGE"  # a transaction lost a race (juki.adapters.tables.conflict_from)
ERROR_CODE = re.compile(r"^[A-Z][A-Z_]{2,39}$")


class MovementRejected(Exception):
    """The movement fails the rules against the current ledger."""


class PrintRefused(Exception):
    """The rules refuse the automatic 転出証明書 (a restriction, an alert nobody can acknowledge
    here, a draft pending): the counter issues it with POST /movements/{id}/move-out-certificate."""


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
    with storage_faults_retried("print check", movement_id=task.movement_id):
        due = services().part(build_certificates).print_due(task.movement_id)
    _start_dispatch(task.movement_id)
    return result | {"print": due or NOTHING_TO_PRINT}


def _start_dispatch(movement_id: str) -> None:
    """The committed change's messages go out now rather than at the next minute's run. Best
    effort: if this start fails, the scheduled run delivers them (nothing is lost, only later)."""
    try:
        start_once(services(), LINKAGE_DISPATCH, f"commit-{movement_id}")
    except (BotoCoreError, ClientError) as error:
        logger.warning(
            "dispatch not started", extra={"error": type(error).__name__, "movement_id": movement_id}
        )


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


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def print_move_out_certificate_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Prints the 転出証明書 of a committed non-card 転出 once, however often it runs; answers with
    ids, numbers and counts only."""
    task = TaskInput.model_validate(event)
    try:
        with storage_faults_retried("move-out certificate", movement_id=task.movement_id):
            issued = (
                services()
                .part(build_certificates)
                .print_move_out_certificate(task.movement_id, task.approval_id)
            )
    except DomainError as error:
        if isinstance(error, Conflict) and error.code == CONCURRENT_CHANGE:
            logger.info("print raced", extra={"code": error.code, "movement_id": task.movement_id})
            raise TransientError(error.code) from None
        logger.info("print refused", extra={"code": error.code, "movement_id": task.movement_id})
        raise PrintRefused(error.code) from None
    logger.info(
        "move-out certificate printed",
        extra={"movement_id": task.movement_id, "issue_id": issued.issue_id, "pages": issued.pages},
    )
    return {
        "movement_id": task.movement_id,
        "issue_id": issued.issue_id,
        "issue_numbers": issued.issue_numbers,
        "pages": issued.pages,
    }
