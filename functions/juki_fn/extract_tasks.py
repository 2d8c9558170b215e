"""The tasks of a recipient system's full extract (statemachines/platform_extract.asl.json); the
service is composed by ``juki.adapters.extracts.build_extracts``.

* ``list_handler``: ``{"execution", "started_at", "input"}``; ``input`` is the execution's input on
  the first call (``{"system_id", "part_size"?}``) and this task's previous answer afterwards (with
  ``more``: the machine calls again while true). The execution name is the extract id.
* ``part_handler``: one Distributed Map item, ``{"input": {"key": <ids part key>}}``.
* ``finish_handler``: the list's last answer (the Map keeps no results in the state); a part file
  missing from the bucket fails the run with ``PlatformExtractFailed("EXTRACT_PART_FAILED")``.

``TransientError``: storage was unavailable; the machine retries with backoff. Ids, keys, codes and
counts only are logged.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from juki.adapters.extracts import build_extracts
from juki.adapters.system import JST, SystemClock
from juki.bootstrap import services
from juki.domain.staff import SystemActor
from juki.observability import logger, tracer
from juki.services.extracts import JOB, PART_SIZE, ExtractFailed
from pydantic import BaseModel, ConfigDict, Field

from juki_fn.tasks import storage_faults_retried


class PlatformExtractFailed(Exception):
    """The extract cannot be made complete and correct; the execution fails with the code."""


class ListInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    system_id: str
    registration_version: int | None = None  # set from the second call on
    at: datetime | None = None
    cursor: dict[str, Any] | None = None
    parts: int = Field(default=0, ge=0)
    persons: int = Field(default=0, ge=0)
    part_size: int = Field(default=PART_SIZE, ge=1, le=PART_SIZE)


class ListTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution: str
    started_at: datetime | None = None
    input: ListInput


class PartItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str


class PartTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution: str = JOB
    input: PartItem


class FinishInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    system_id: str
    extract_id: str
    registration_version: int
    parts: int = Field(ge=0)
    persons: int = Field(ge=0)


class FinishTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution: str
    input: FinishInput


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def list_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = ListTask.model_validate(event)
    given = task.input
    service = services().part(build_extracts)
    extract_id = task.execution
    try:
        with storage_faults_retried("platform extract list", extract_id=extract_id):
            state = service.start(
                given.system_id,
                extract_id,
                # The extract's time, as every time stored (JST): its provision records carry it.
                (given.at or task.started_at or SystemClock().now()).astimezone(JST),
                given.part_size,
                given.registration_version,
            )
            if given.registration_version is not None:  # a later call: carry on where it stopped
                state = replace(state, cursor=given.cursor, parts=given.parts, persons=given.persons)
            done = service.list_step(state)
    except ExtractFailed as error:
        logger.warning("platform extract refused", extra={"code": error.code, "extract_id": extract_id})
        raise PlatformExtractFailed(error.code) from None
    logger.info(
        "platform extract listed",
        extra={"extract_id": extract_id, "parts": done.parts, "persons": done.persons, "more": done.more},
    )
    return done.as_output()


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def part_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = PartTask.model_validate(event)
    key = task.input.key
    service = services().part(build_extracts)
    try:
        with storage_faults_retried("platform extract part", part=key):
            result = service.part_step(key, SystemActor(JOB, context.aws_request_id))
    except ExtractFailed as error:
        logger.warning("platform extract part failed", extra={"code": error.code, "part": key})
        raise PlatformExtractFailed(error.code) from None
    logger.info("platform extract part written", extra=result.as_output())
    return result.as_output()


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def finish_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = FinishTask.model_validate(event)
    given = task.input
    service = services().part(build_extracts)
    try:
        with storage_faults_retried("platform extract finish", extract_id=given.extract_id):
            manifest = service.finish(
                given.system_id, given.extract_id, given.registration_version, given.parts, given.persons
            )
    except ExtractFailed as error:
        logger.error(
            "platform extract incomplete",
            extra={"code": error.code, "extract_id": given.extract_id, "parts": given.parts},
        )
        raise PlatformExtractFailed(error.code) from None
    logger.info("platform extract finished", extra=manifest.as_output())
    return manifest.as_output()
