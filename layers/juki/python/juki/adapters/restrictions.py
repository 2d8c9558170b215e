"""Restrictions (抑止) and support measures (支援措置) in the ledger table, through pynamodb.

Item types (keys ``pk``/``sk``, next to those in ``juki.adapters.dynamodb``):

| item                   | pk                             | sk                      | notes                  |
| ---------------------- | ------------------------------ | ----------------------- | ---------------------- |
| restriction or measure | ``RESTRICTION#<kind>#<id>``    | ``CURRENT#<record id>`` | the current state      |
| its version n          | same                           | ``V#<record id>#<n>``   | never changed          |
| id → target            | ``RESTRICTION_ID#<record id>`` | ``TARGET``              | the record's pk        |
| support-measure index  | ``SUPPORT_MEASURES``           | ``<end date>#<id>``     | one per active measure |

(``<kind>`` is ``person`` or ``household``, ``<id>`` the 宛名番号 or 世帯番号.)

Everything on a person or household is one Query on its partition (the check before a process);
the index makes the list of measures and "expiring within N days" a Query on the end date, with no
GSI and no scan. A measure past its end date is left in the index: its key sorts before today's
date, so listings skip it, and expiry needs no job. Every change is one ``TransactWriteItems``
with its operation-log entry, conditional on the version read; records are never deleted (ending
writes a new version), only index items move when an end date changes or a measure ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import ClassVar

from pydantic import TypeAdapter
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from juki.adapters.dynamodb import OplogItem, oplog_item
from juki.adapters.tables import bind, conflict_from
from juki.domain.oplog import OperationLogEntry
from juki.domain.restrictions import (
    RecordStatus,
    Restriction,
    RestrictionRecord,
    SupportMeasure,
    TargetKind,
)

SUPPORT_MEASURES = "SUPPORT_MEASURES"
TARGET = "TARGET"
VERSION_DIGITS = 6

_RECORD: TypeAdapter[Restriction | SupportMeasure] = TypeAdapter(RestrictionRecord)


def target_key(target: TargetKind, target_id: str) -> str:
    return f"RESTRICTION#{target.value}#{target_id}"


def current_key(record_id: str) -> str:
    return f"CURRENT#{record_id}"


def version_key(record_id: str, version: int) -> str:
    return f"V#{record_id}#{version:0{VERSION_DIGITS}d}"


def pointer_key(record_id: str) -> str:
    return f"RESTRICTION_ID#{record_id}"


def index_key(measure: SupportMeasure) -> str:
    return f"{measure.ends_on.isoformat()}#{measure.measure_id}"


class RestrictionItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    body = UnicodeAttribute(null=True)  # the record as JSON
    target = UnicodeAttribute(null=True)  # on the id → target item: the record's partition


type Record = Restriction | SupportMeasure


class DynamoRestrictionStore:
    """Implements ``juki.services.restrictions.RestrictionStore`` on the ledger and oplog tables."""

    def __init__(self, ledger_table: str, oplog_table: str, region: str, host: str | None = None) -> None:
        self._items = bind(RestrictionItem, ledger_table, region, host)
        self._oplog = bind(OplogItem, oplog_table, region, host)
        self._connection = Connection(region=region, host=host)

    def add(self, record: Record, log: OperationLogEntry) -> None:
        absent = self._items.pk.does_not_exist()
        pk = target_key(*record.target_ref)
        with self._transaction() as tx:
            tx.save(self._current(record), condition=absent)
            tx.save(self._version(record), condition=absent)
            tx.save(self._items(pk=pointer_key(record.record_id), sk=TARGET, target=pk), condition=absent)
            if isinstance(record, SupportMeasure) and record.status == RecordStatus.ACTIVE:
                tx.save(self._index(record))
            tx.save(oplog_item(log, self._oplog), condition=self._oplog.pk.does_not_exist())

    def replace(self, previous: Record, record: Record, log: OperationLogEntry) -> None:
        """The next version, only if the current one is still ``previous``."""
        with self._transaction() as tx:
            tx.save(self._current(record), condition=self._items.version == previous.version)
            tx.save(self._version(record), condition=self._items.pk.does_not_exist())
            self._move_index(tx, previous, record)
            tx.save(oplog_item(log, self._oplog), condition=self._oplog.pk.does_not_exist())

    def get(self, record_id: str) -> Record | None:
        try:
            pointer = self._items.get(pointer_key(record_id), TARGET, consistent_read=True)
            item = self._items.get(pointer.target, current_key(record_id), consistent_read=True)
        except DoesNotExist:
            return None
        return _RECORD.validate_json(item.body)

    def on_targets(self, person_ids: Iterable[str], household_ids: Iterable[str]) -> list[Record]:
        """Every restriction and measure on these persons and households (one Query each)."""
        keys = [target_key(TargetKind.PERSON, pid) for pid in dict.fromkeys(person_ids)]
        keys += [target_key(TargetKind.HOUSEHOLD, hid) for hid in dict.fromkeys(household_ids)]
        return [
            _RECORD.validate_json(item.body)
            for key in keys
            for item in self._items.query(key, self._items.sk.startswith("CURRENT#"), consistent_read=True)
        ]

    def support_measures(self, ending_from: date, ending_until: date | None = None) -> list[SupportMeasure]:
        """Active measures whose end date is ``ending_from`` or later (and ``ending_until`` or
        earlier), by end date."""
        condition = (
            self._items.sk >= ending_from.isoformat()
            if ending_until is None
            else self._items.sk.between(ending_from.isoformat(), f"{ending_until.isoformat()}#~")
        )
        return [
            SupportMeasure.model_validate_json(item.body)
            for item in self._items.query(SUPPORT_MEASURES, condition, consistent_read=True)
        ]

    # -- helpers -----------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[TransactWrite]:
        """One TransactWriteItems call; a failed condition is a concurrent change (409)."""
        try:
            with TransactWrite(connection=self._connection) as tx:
                yield tx
        except TransactWriteError as error:
            raise conflict_from(error) from error

    def _current(self, record: Record) -> RestrictionItem:
        return self._items(
            pk=target_key(*record.target_ref),
            sk=current_key(record.record_id),
            kind=record.kind,
            version=record.version,
            body=record.model_dump_json(),
        )

    def _version(self, record: Record) -> RestrictionItem:
        return self._items(
            pk=target_key(*record.target_ref),
            sk=version_key(record.record_id, record.version),
            kind=record.kind,
            version=record.version,
            body=record.model_dump_json(),
        )

    def _index(self, measure: SupportMeasure) -> RestrictionItem:
        return self._items(
            pk=SUPPORT_MEASURES,
            sk=index_key(measure),
            kind=measure.kind,
            version=measure.version,
            body=measure.model_dump_json(),
        )

    def _move_index(self, tx: TransactWrite, previous: Record, record: Record) -> None:
        """The index holds each active measure once, under its current end date."""
        if not isinstance(previous, SupportMeasure) or not isinstance(record, SupportMeasure):
            return
        active = record.status == RecordStatus.ACTIVE
        if previous.status == RecordStatus.ACTIVE and (
            not active or index_key(previous) != index_key(record)
        ):
            tx.delete(self._index(previous), condition=self._items.version == previous.version)
        if active:
            tx.save(self._index(record))
