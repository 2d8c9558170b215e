"""不審なアクセスの検出: runs the rules of ``juki.domain.unusual_access`` over one day of the
operation log, writes the day's report, and serves it to auditors.

The report of a finished day depends only on the log of that day and the days before it, and holds
no generation time, so a second run writes the same bytes (and does not write them again). The
run's own operation-log entry is written before the report, under an id derived from the run, so
a retried task can see that it logged already.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from juki.domain.errors import NotFound
from juki.domain.oplog import OperationLogEntry, entry_for
from juki.domain.staff import Actor, Permission, SystemActor
from juki.domain.unusual_access import (
    JAPAN,
    Thresholds,
    UnusualAccessReport,
    detect,
    is_movement,
    reveals_by_staff,
)
from juki.services.access import require
from juki.services.ports import Clock, IdSource, OperationLog

JOB = "unusual-access"
UNUSUAL_ACCESS_FOUND = "UNUSUAL_ACCESS_FOUND"  # the alarm code the task logs when there are findings
FUNCTION_RUN = "audit.unusual_access"
FUNCTION_READ = "audit.read"
REPORT_PREFIX = "reports/unusual-access/"
_RUN_IDS = uuid.UUID("6a0c1f0e-9d59-4c55-9a43-2b8f3a1f0010")  # namespace of run-derived entry ids


def report_key(day: date) -> str:
    return f"{REPORT_PREFIX}{day.isoformat()}.json"


def report_bytes(report: UnusualAccessReport) -> bytes:
    """The stored form: compact UTF-8 JSON, fields in model order, so equal reports are equal bytes."""
    return report.model_dump_json().encode("utf-8")


class LogSource(Protocol):
    """Reading the log back (``DynamoOperationLogReader`` implements it)."""

    def between(self, start: datetime, end: datetime) -> Iterator[OperationLogEntry]:
        """The entries with ``start <= at < end``."""

    def by_staff(self, staff_id: str, start: datetime, end: datetime) -> Iterator[OperationLogEntry]:
        """One staff member's (or job's) entries with ``start <= at < end``."""


class ReportStore(Protocol):
    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""

    def put(self, key: str, body: bytes) -> None: ...


@dataclass(frozen=True)
class RunSummary:
    """What the task returns to the state machine: counts and the key, never personal data."""

    day: date
    report_key: str
    entries: int
    findings: int
    by_rule: dict[str, int]
    written: bool  # False when the same report was stored already

    def as_output(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(),
            "report_key": self.report_key,
            "entries": self.entries,
            "findings": self.findings,
            "by_rule": self.by_rule,
            "written": self.written,
        }


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), JAPAN)


class UnusualAccessService:
    def __init__(
        self,
        log_source: LogSource,
        reports: ReportStore,
        log: OperationLog,
        clock: Clock,
        ids: IdSource,
        *,
        thresholds: Thresholds | None = None,
    ) -> None:
        self._source = log_source
        self._reports = reports
        self._log = log
        self._clock = clock
        self._ids = ids
        self.thresholds = thresholds or Thresholds()

    def detect(self, day: date) -> UnusualAccessReport:
        """The report of ``day``, from the log (nothing written)."""
        before = self.thresholds.relation_days_before
        earlier = (
            e
            for e in self._source.between(_start_of(day - timedelta(days=before)), _start_of(day))
            if is_movement(e)  # of the days before, only the notices handled are needed
        )
        todays = self._source.between(_start_of(day), _start_of(day + timedelta(days=1)))
        return detect(day, _chain(earlier, todays), self.baseline(day), self.thresholds)

    def baseline(self, day: date) -> dict[str, int]:
        """個人番号 reveals per staff member over the ``baseline_days`` before ``day``: each day's count
        from its report when there is one (cheap), else from that day's log."""
        totals: dict[str, int] = {}
        for back in range(1, self.thresholds.baseline_days + 1):
            earlier = day - timedelta(days=back)
            stored = self._reports.get(report_key(earlier))
            if stored is not None:
                counts = UnusualAccessReport.model_validate_json(stored).my_number_reveals
            else:
                counts = reveals_by_staff(
                    self._source.between(_start_of(earlier), _start_of(earlier + timedelta(days=1)))
                )
            for staff_id, count in counts.items():
                totals[staff_id] = totals.get(staff_id, 0) + count
        return totals

    def run(
        self,
        actor: SystemActor,
        day: date | None = None,
        *,
        run_id: str | None = None,
        started_at: datetime | None = None,
    ) -> RunSummary:
        """Detects and stores the report of ``day`` (default: yesterday in Japan, as of the start).

        ``run_id`` (the execution's name) gives the run's log entry an id of its own, so a retried
        task that logged already does not log again. The entry is stamped with the time it is
        written, never earlier (the sealing of the log relies on entries not arriving late)."""
        now = self._clock.now()
        started = (started_at or now).astimezone(JAPAN)
        target = day or started.date() - timedelta(days=1)
        report = self.detect(target)
        key = report_key(target)
        entry_id = uuid.uuid5(_RUN_IDS, f"{run_id}#{target}").hex if run_id else self._ids.new_id()
        # Logged before the report leaves: the report names staff and entries, not residents, so
        # no person is listed; the entry ids in it lead a reviewer to them.
        if run_id is None or not self._logged(actor, entry_id, started):
            self._log.append(
                entry_for(
                    actor,
                    entry_id=entry_id,
                    at=self._clock.now(),
                    function=FUNCTION_RUN,
                    action="export",
                    subject=key,
                )
            )
        body = report_bytes(report)
        written = self._reports.get(key) != body
        if written:
            self._reports.put(key, body)
        return RunSummary(
            day=target,
            report_key=key,
            entries=report.entries_examined,
            findings=len(report.findings),
            by_rule={rule: n for rule, n in report.counts.items() if n},
            written=written,
        )

    def _logged(self, actor: SystemActor, entry_id: str, started: datetime) -> bool:
        """Has an earlier attempt of this run logged it already? (Its job's few entries since the
        run started, through the staff index.)"""
        since = started - timedelta(minutes=1)
        until = self._clock.now() + timedelta(seconds=1)
        return any(
            e.entry_id == entry_id for e in self._source.by_staff(f"system:{actor.name}", since, until)
        )

    def report(self, day: date, actor: Actor) -> UnusualAccessReport:
        """The stored report of ``day``, for an auditor; the read is logged."""
        require(actor, Permission.AUDIT)
        key = report_key(day)
        stored = self._reports.get(key)
        if stored is None:
            raise NotFound("UNUSUAL_ACCESS_REPORT_NOT_FOUND", "その日の不審アクセスの報告はありません", "day")
        self._log.append(
            entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=self._clock.now(),
                function=FUNCTION_READ,
                action="read",
                subject=key,
            )
        )
        return UnusualAccessReport.model_validate_json(stored)


def _chain(*parts: Iterable[OperationLogEntry]) -> Iterator[OperationLogEntry]:
    for part in parts:
        yield from part
