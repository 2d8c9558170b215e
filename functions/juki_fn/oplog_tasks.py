"""Tasks of the operation-log state machines (``statemachines/oplog_{seal,verify,purge}.asl.json``).

Each task gets ``{"execution", "started_at", "input"}``; the looping machines pass the task's own
result back as the next input while it says ``"more": true``. Results carry counts, sequence
numbers and entry ids only, never an entry's content.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from juki.adapters.oplog_archive import build_oplog_audit
from juki.bootstrap import services
from juki.domain.oplog_chain import VerifyReport
from juki.observability import logger, tracer
from juki.services.oplog_audit import ChainCorrupt, OplogAudit
from pydantic import BaseModel, ConfigDict

from juki_fn.tasks import storage_faults_retried

OPLOG_CHAIN_BROKEN = "OPLOG_CHAIN_BROKEN"
REPORTED_FINDINGS = 50  # a state's output stays small; the command line gives the whole report
DEFAULT_VERIFY_DAYS = 31


class SealInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    until: datetime | None = None


class VerifyInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    from_day: date | None = None
    to_day: date | None = None
    all: bool = False


class TaskEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution: str = "manual"
    started_at: datetime | None = None
    input: dict[str, Any] | None = None


def _audit() -> OplogAudit:
    return services().part(build_oplog_audit)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def seal_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskEvent.model_validate(event)
    given = SealInput.model_validate(task.input or {})
    audit = _audit()
    try:
        with storage_faults_retried("oplog seal"):
            result = audit.seal_batch(audit.cutoff(given.until))
    except ChainCorrupt as error:
        logger.error("oplog seal stopped", extra={"code": OPLOG_CHAIN_BROKEN, "reason": str(error)})
        raise
    if result.unmarked:
        # Sealed (the manifest holds them) but gone or changed in the table before they could be
        # marked: tampering in the grace window. The chain goes on; verification names them.
        logger.error(
            "oplog sealed entries could not be marked",
            extra={
                "code": OPLOG_CHAIN_BROKEN,
                "batch": result.batch,
                "unmarked": len(result.unmarked),
                "entry_ids": result.unmarked[:REPORTED_FINDINGS],
            },
        )
    logger.info(
        "oplog sealed",
        extra={
            "batch": result.batch,
            "sealed": result.sealed,
            "last_seq": result.last_seq,
            "more": result.more,
        },
    )
    return result.model_dump(mode="json")


def verify_summary(report: VerifyReport) -> dict[str, Any]:
    """The report as a state's output: counts and the first findings (ids and seq only)."""
    return {
        "intact": report.intact,
        "from_batch": report.from_batch,
        "to_batch": report.to_batch,
        "batches": report.batches,
        "entries": report.entries,
        "purged_entries": report.purged_entries,
        "head_batch": report.head_batch,
        "head_seq": report.head_seq,
        "counts": report.counts(),
        "findings": [f.model_dump() for f in report.findings[:REPORTED_FINDINGS]],
    }


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def verify_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Verifies the last 31 days' batches by default; ``{"all": true}`` walks the whole chain,
    ``{"from_day", "to_day"}`` a period."""
    task = TaskEvent.model_validate(event)
    given = VerifyInput.model_validate(task.input or {})
    audit = _audit()
    from_day = given.from_day
    if from_day is None and not given.all:
        from_day = audit.default_verify_start(DEFAULT_VERIFY_DAYS)
    with storage_faults_retried("oplog verify"):
        report = audit.verify(from_day, given.to_day)
    summary = verify_summary(report)
    if report.intact:
        logger.info("oplog chain intact", extra={"batches": report.batches, "entries": report.entries})
    else:
        logger.error(
            "oplog chain broken",
            extra={
                "code": OPLOG_CHAIN_BROKEN,
                "counts": summary["counts"],
                "entry_ids": [f.entry_id for f in report.findings if f.entry_id][:REPORTED_FINDINGS],
                "batches": sorted({f.batch for f in report.findings if f.batch is not None})[
                    :REPORTED_FINDINGS
                ],
            },
        )
    return summary


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def purge_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskEvent.model_validate(event)
    with storage_faults_retried("oplog purge"):
        result = _audit().purge(task.execution)
    if result.blocked_day is not None:
        logger.error(
            "oplog purge blocked by an unsealed entry",
            extra={"code": OPLOG_CHAIN_BROKEN, "day": result.blocked_day},
        )
    if result.refused_days:
        logger.error(
            "oplog purge records not written by a purge",
            extra={"code": OPLOG_CHAIN_BROKEN, "days": result.refused_days[:REPORTED_FINDINGS]},
        )
    logger.info(
        "oplog purged",
        extra={"days": result.purged_days, "entries": result.purged_entries, "more": result.more},
    )
    return result.model_dump(mode="json")
