"""Tasks of the movement-approval state machine (statemachines/movement_approval.asl.json).

Each task is safe to repeat: Step Functions retries them, and a retry must never write twice.
A rule violation found at commit raises ``MovementRejected`` so the machine records the failure.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from juki.bootstrap import services
from juki.domain.errors import DomainError
from juki.observability import logger, tracer
from pydantic import BaseModel, ConfigDict


class MovementRejected(Exception):
    """The movement failed re-validation: Step Functions sees the error name, never personal data."""


class TaskInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    movement_id: str
    approval_id: str


def _error_code(event: dict[str, Any]) -> str | None:
    """The caught error's code: Lambda reports ``{"errorMessage": <code>, ...}`` as the Cause."""
    error = event.get("error") or {}
    try:
        cause = json.loads(error.get("Cause") or "{}")
    except json.JSONDecodeError:
        cause = {}
    message = cause.get("errorMessage") if isinstance(cause, dict) else None
    return str(message or error.get("Error") or "") or None


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def validate_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskInput.model_validate(event)
    try:
        return services().movements.validate_for_commit(task.movement_id, task.approval_id)
    except DomainError as error:
        logger.info("re-validation refused", extra={"code": error.code, "movement_id": task.movement_id})
        raise MovementRejected(error.code) from None


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def commit_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskInput.model_validate(event)
    try:
        return services().movements.commit(task.movement_id, task.approval_id)
    except DomainError as error:
        logger.info("commit refused", extra={"code": error.code, "movement_id": task.movement_id})
        raise MovementRejected(error.code) from None


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def fail_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskInput.model_validate(event)
    services().movements.record_failure(task.movement_id, task.approval_id, _error_code(event))
    return {"movement_id": task.movement_id, "status": "failed"}
