"""The staff register on its own table.

Items: ``STAFF#<id>``/``CURRENT`` (the account as it is; read on every request),
``STAFF#<id>``/``V#<n>`` (every version, for the review of role changes) and
``EMPLOYEE#<number>``/``ACCOUNT`` (one account per person). Every change is one transaction with
its operation-log entry, conditional on the version it changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import ClassVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from juki.adapters.dynamodb import OplogItem, oplog_item
from juki.adapters.tables import bind
from juki.domain.errors import Conflict
from juki.domain.oplog import OperationLogEntry
from juki.domain.staff_registry import StaffUser

CURRENT = "CURRENT"


def staff_key(staff_id: str) -> str:
    return f"STAFF#{staff_id}"


def version_key(version: int) -> str:
    return f"V#{version:06d}"


def employee_key(number: str) -> str:
    return f"EMPLOYEE#{number}"


class StaffItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    version = NumberAttribute(null=True)
    changed_at = UnicodeAttribute(null=True)
    staff_id = UnicodeAttribute(null=True)  # on EMPLOYEE# items: whose number it is
    body = UnicodeAttribute(null=True)  # the account as JSON


class DynamoStaffDirectory:
    """Implements ``juki.services.staff.StaffDirectory``."""

    def __init__(self, staff_table: str, oplog_table: str, region: str, host: str | None = None) -> None:
        self._items = bind(StaffItem, staff_table, region, host)
        self._oplog = bind(OplogItem, oplog_table, region, host)
        self._connection = Connection(region=region, host=host)

    def get(self, staff_id: str) -> StaffUser | None:
        try:
            item = self._items.get(staff_key(staff_id), CURRENT, consistent_read=True)
        except DoesNotExist:
            return None
        return StaffUser.model_validate_json(item.body or "")

    def history(self, staff_id: str) -> list[StaffUser]:
        items = self._items.query(staff_key(staff_id), self._items.sk.startswith("V#"), consistent_read=True)
        return [StaffUser.model_validate_json(item.body or "") for item in items]

    def all(self) -> list[StaffUser]:
        """Every account as it is now (a scan: a city has thousands of accounts, not millions)."""
        found = self._items.scan(self._items.sk == CURRENT)
        return sorted((StaffUser.model_validate_json(i.body or "") for i in found), key=lambda u: u.staff_id)

    def versions_since(self, since: datetime) -> Iterator[StaffUser]:
        """Versions made at or after ``since`` (for the review of changes)."""
        found = self._items.scan(
            self._items.sk.startswith("V#") & (self._items.changed_at >= since.isoformat())
        )
        for item in found:
            yield StaffUser.model_validate_json(item.body or "")

    def save(self, user: StaffUser, log: OperationLogEntry) -> None:
        """The new version, its history copy and its log entry, only if nobody changed the account
        (or, for a new account, nobody holds the id or the employee number) in the meantime."""
        body = user.model_dump_json()
        current = self._items(
            pk=staff_key(user.staff_id),
            sk=CURRENT,
            version=user.version,
            changed_at=user.changed_at.isoformat(),
            body=body,
        )
        history = self._items(
            pk=staff_key(user.staff_id),
            sk=version_key(user.version),
            version=user.version,
            changed_at=user.changed_at.isoformat(),
            body=body,
        )
        try:
            with TransactWrite(connection=self._connection) as tx:
                if user.version == 1:
                    tx.save(current, condition=self._items.pk.does_not_exist())
                    tx.save(
                        self._items(
                            pk=employee_key(user.employee_number), sk="ACCOUNT", staff_id=user.staff_id
                        ),
                        condition=self._items.pk.does_not_exist(),
                    )
                else:
                    tx.save(current, condition=self._items.version == user.version - 1)
                tx.save(history, condition=self._items.pk.does_not_exist())
                tx.save(oplog_item(log, self._oplog), condition=self._oplog.pk.does_not_exist())
        except TransactWriteError as error:
            reasons = [r.code for r in error.cancellation_reasons if r is not None]
            if "ConditionalCheckFailed" not in reasons:
                raise
            if user.version == 1:
                raise self._registration_conflict(user) from None
            raise Conflict(
                "CONCURRENT_CHANGE", "同じ職員が同時に変更されました。最新の状態を確認してやり直してください"
            ) from None

    def _registration_conflict(self, user: StaffUser) -> Conflict:
        if self.get(user.staff_id) is not None:
            return Conflict("STAFF_EXISTS", "その職員IDはすでに登録されています", "staff_id")
        return Conflict(
            "EMPLOYEE_NUMBER_IN_USE",
            "その職員番号にはすでにアカウントがあります (共用アカウントは作れません)",
            "employee_number",
        )
