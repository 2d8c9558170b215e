"""The task of the 住民票コード top-up (statemachines/resident_code_topup.asl.json); the service is
composed by ``juki.adapters.consistency.build_topup``.

Input ``{"execution", "started_at", "input"}``; ``input`` may name ``count`` (an operator's
explicit request), otherwise the pool is topped up to twice its threshold when it is below it.
Safe to repeat: the pool ignores codes it holds already. A CS that is down or slow is
``TransientError`` (the machine retries with backoff). Counts only are returned and logged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from juki.adapters.consistency import build_topup
from juki.bootstrap import services
from juki.domain.errors import DomainError
from juki.domain.staff import SystemActor
from juki.observability import logger, tracer
from juki.services.consistency import TOPUP_JOB, PeerRefused, PeerUnavailable
from juki.services.resident_codes import RESIDENT_CODE_POOL_LOW
from pydantic import BaseModel, ConfigDict, Field

from juki_fn.tasks import TransientError, storage_faults_retried


class TopupRefused(Exception):
    """The CS refused the request, or sent codes the pool refuses; the execution fails with the code."""


class TopupInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    count: int | None = Field(default=None, ge=1, le=10_000)


class TopupTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution: str
    started_at: datetime | None = None
    input: TopupInput = Field(default_factory=TopupInput)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def topup_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    task = TopupTask.model_validate(event)
    service = services().part(build_topup)
    try:
        with storage_faults_retried("resident code topup"):
            result = service.run(SystemActor(TOPUP_JOB, task.execution), task.input.count)
    except PeerUnavailable as error:
        logger.warning("cs unavailable", extra={"code": str(error)})
        raise TransientError(str(error)) from None
    except PeerRefused as error:
        logger.error("cs refused the allocation", extra={"code": str(error)})
        raise TopupRefused(str(error)) from None
    except DomainError as error:
        logger.error("allocated codes refused", extra={"code": error.code})
        raise TopupRefused(error.code) from None
    output = result.as_output()
    logger.info("resident code pool topped up", extra=output)
    if output["available"] < output["threshold"]:
        logger.warning("resident code pool still low", extra={"code": RESIDENT_CODE_POOL_LOW, **output})
    return output
