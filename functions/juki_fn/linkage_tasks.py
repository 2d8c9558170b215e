"""The task of the linkage-dispatch state machine (statemachines/linkage_dispatch.asl.json).

One call is one bounded round of the dispatcher (``juki.services.linkage``): route the committed
changes, deliver what is due, lane by lane. It answers counts and ``more``; the machine calls
again while ``more`` is true. A peer's failure is not the task's: it is recorded on the message
(retry later, or park). Only storage faults fail the call (``TransientError``, retried).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from juki.adapters.linkage import build_linkage
from juki.bootstrap import services
from juki.domain.errors import Conflict
from juki.domain.staff import SystemActor
from juki.observability import logger, tracer
from pydantic import BaseModel, ConfigDict

from juki_fn.tasks import TransientError, storage_faults_retried

LINKAGE_PARKED = "LINKAGE_PARKED"


class TaskEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution: str
    rounds: int = 0


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def dispatch_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskEvent.model_validate({"execution": event.get("execution", ""), **event.get("input", {})})
    actor = SystemActor(name="linkage-dispatch", request_id=task.execution)
    try:
        with storage_faults_retried("linkage dispatch"):
            result = services().part(build_linkage).dispatch(actor)
    except Conflict as error:
        raise TransientError(error.code) from None
    counts = result.model_dump()
    if result.parked:
        logger.error("linkage messages parked", extra={"code": LINKAGE_PARKED, "parked": result.parked})
    logger.info("linkage round", extra=counts)
    # Rounds are bounded, so a steady stream cannot keep one execution alive for ever.
    return {**counts, "rounds": task.rounds + 1, "more": result.more and task.rounds < 50}
