"""Reading the operation log back: by period (the ``DAY#<date>`` partitions) and by staff member
(the ``by_staff`` index). Used by the auditor's search, the review report, unusual-access
detection, sealing and verification. Writing stays with the stores, inside their transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from juki.adapters.dynamodb import OplogItem
from juki.adapters.system import JST
from juki.adapters.tables import bind
from juki.domain.oplog import OperationLogEntry

_HIGHEST = "\U0010ffff"


class _ByStaff(GlobalSecondaryIndex["LogRow"]):
    class Meta:
        index_name = "by_staff"
        projection = AllProjection()

    staff_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class LogRow(OplogItem):
    """An operation-log item as stored (``juki.adapters.dynamodb.oplog_item``), with the index by
    staff member for reading."""

    by_staff = _ByStaff()


def day_partition(day: date) -> str:
    return f"DAY#{day.isoformat()}"


def _jst(at: datetime) -> datetime:
    return at.astimezone(JST)


def _days(start: datetime, end: datetime) -> Iterator[date]:
    day, last = _jst(start).date(), _jst(end).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


class DynamoOperationLogReader:
    def __init__(self, oplog_table: str, region: str, host: str | None = None) -> None:
        self._rows = bind(LogRow, oplog_table, region, host)

    def rows_between(self, start: datetime, end: datetime) -> Iterator[LogRow]:
        """The stored items with ``start <= at < end``, in time order (consistent reads)."""
        low, high = _jst(start).isoformat(), _jst(end).isoformat()
        for day in _days(start, end):
            yield from self._rows.query(
                day_partition(day),
                self._rows.sk.between(low, high),
                consistent_read=True,
            )

    def between(self, start: datetime, end: datetime) -> Iterator[OperationLogEntry]:
        for row in self.rows_between(start, end):
            entry = _entry(row)
            if entry.at < end:
                yield entry

    def by_staff(self, staff_id: str, start: datetime, end: datetime) -> Iterator[OperationLogEntry]:
        low, high = _jst(start).isoformat(), _jst(end).isoformat()
        for row in self._rows.by_staff.query(staff_id, self._rows.sk.between(low, high)):
            entry = _entry(row)
            if entry.at < end:
                yield entry

    def last_activity(self, staff_id: str, since: datetime) -> datetime | None:
        """The time of the staff member's latest entry at or after ``since``, if any."""
        rows = self._rows.by_staff.query(
            staff_id,
            self._rows.sk.between(_jst(since).isoformat(), _HIGHEST),
            scan_index_forward=False,
            limit=1,
        )
        for row in rows:
            return _entry(row).at
        return None


def _entry(row: LogRow) -> OperationLogEntry:
    return OperationLogEntry.model_validate(row.body.as_dict())
