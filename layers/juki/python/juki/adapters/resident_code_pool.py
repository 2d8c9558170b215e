"""The pool of 住民票コード in the ledger table, through pynamodb.

Items (ledger table, keys ``pk``/``sk``; ``<pool>`` is the pool's name, ``main`` unless a
designated city keeps one pool per ward):

| item             | pk                          | sk                 | attributes                         |
| ---------------- | --------------------------- | ------------------ | ---------------------------------- |
| code             | ``RESIDENT_CODE#<code>``    | ``RESIDENT_CODE``  | status available/assigned, pool,   |
|                  |                             |                    | slot (while available), person_id  |
| pool slot        | ``RESIDENT_CODE_POOL#<pool>``| ``SLOT#<random>`` | code                               |
| pool counter     | ``RESIDENT_CODE_POOL#<pool>``| ``COUNTER``       | value: codes available             |

The code item exists once per code ever supplied and is never deleted: supplying a code it
already has (available or assigned) is a no-op, so no code enters the pool twice. The slot's
sort key is random, so the pool's order is not the supply order; a code is chosen by reading
the first slot at or after a random point, wrapping round to the first slot.

Taking a code is one transaction of three writes: delete the slot (on condition it is still
there), mark the code item assigned to the person (on condition it is still available, in
that slot) and decrement the counter. Two concurrent takers of the same code cannot both
succeed: one transaction's conditions fail, and it retries with another random point.
``reserve`` and ``add_assignments_to`` expose these writes so that another transaction
(the movement commit) can take codes as part of itself.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from juki.adapters.tables import bind
from juki.domain.codes import is_valid_resident_code
from juki.domain.errors import Conflict
from juki.services.resident_codes import Assignment

DEFAULT_POOL = "main"
CODE_SK = "RESIDENT_CODE"
COUNTER_SK = "COUNTER"
SLOT_PREFIX = "SLOT#"
_SLOT_END = "SLOT#~"  # sorts after every SLOT#<hex>
AVAILABLE = "available"
ASSIGNED = "assigned"

# Two writes per code plus the counter. DynamoDB allows 100 writes per transaction; moto, which
# runs the local system and the tests, still enforces the older limit of 25.
CODES_PER_TRANSACTION = 12
MAX_ATTEMPTS = 20
_RETRYABLE = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def resident_code_key(code: str) -> str:
    return f"RESIDENT_CODE#{code}"


def pool_key(pool: str) -> str:
    return f"RESIDENT_CODE_POOL#{pool}"


class ResidentCodeItem(Model):
    """Code items, pool slots and the pool counter (see the table above)."""

    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    code = UnicodeAttribute(null=True)
    pool = UnicodeAttribute(null=True)
    slot = UnicodeAttribute(null=True)
    person_id = UnicodeAttribute(null=True)
    supplied_by = UnicodeAttribute(null=True)
    value = NumberAttribute(null=True)


@dataclass(frozen=True)
class Reservation:
    """A candidate code and the slot it was read from. Nothing is written until the
    reservation's writes (``add_assignment_to``) commit; if another transaction took the code
    first, that commit fails on its conditions and the caller reserves again."""

    code: str
    pool: str
    slot: str


class DynamoResidentCodePool:
    """Implements ``ResidentCodePool`` on the ledger table."""

    def __init__(
        self, ledger_table: str, region: str, host: str | None = None, pool: str = DEFAULT_POOL
    ) -> None:
        if not pool or "#" in pool:
            raise ValueError("a pool name without '#'")
        self._model = bind(ResidentCodeItem, ledger_table, region, host)
        self._connection = Connection(region=region, host=host)
        self.pool = pool

    # -- supply ---------------------------------------------------------------------------
    def supply(self, codes: Sequence[str], supplied_by: str) -> int:
        """Adds the codes not already known (in the pool or assigned); returns how many were
        added. Every code must be valid: the service refuses a batch with invalid codes first."""
        invalid = [index for index, code in enumerate(codes) if not is_valid_resident_code(code)]
        if invalid:
            raise ValueError(f"invalid resident codes at positions {invalid}")
        unique = list(dict.fromkeys(codes))
        return sum(
            self._supply_chunk(unique[start : start + CODES_PER_TRANSACTION], supplied_by)
            for start in range(0, len(unique), CODES_PER_TRANSACTION)
        )

    def _supply_chunk(self, codes: list[str], supplied_by: str) -> int:
        for attempt in range(MAX_ATTEMPTS):
            known = self._known(codes)
            new = [code for code in codes if code not in known]
            if not new:
                return 0
            try:
                with self._transaction() as tx:
                    for code in new:
                        slot = _random_slot()
                        tx.save(
                            self._model(
                                pk=resident_code_key(code),
                                sk=CODE_SK,
                                kind="resident_code",
                                status=AVAILABLE,
                                code=code,
                                pool=self.pool,
                                slot=slot,
                                supplied_by=supplied_by,
                            ),
                            condition=self._model.pk.does_not_exist(),
                        )
                        tx.save(
                            self._model(
                                pk=pool_key(self.pool), sk=slot, kind="resident_code_slot", code=code
                            ),
                            condition=self._model.pk.does_not_exist(),
                        )
                    tx.update(self._counter(), actions=[self._model.value.add(len(new))])
            except TransactWriteError as error:
                if not _retryable(error):
                    raise
                _back_off(attempt)  # a concurrent supply of the same code: look again
            else:
                return len(new)
        raise _contended()

    def _known(self, codes: Iterable[str]) -> set[str]:
        keys = [(resident_code_key(code), CODE_SK) for code in codes]
        return {str(item.code) for item in self._model.batch_get(keys, consistent_read=True)}

    # -- reading --------------------------------------------------------------------------
    def available(self) -> int:
        try:
            counter = self._model.get(pool_key(self.pool), COUNTER_SK, consistent_read=True)
        except DoesNotExist:
            return 0
        return int(counter.value or 0)

    def assigned_to(self, code: str) -> str | None:
        """The person a code was given to, or None if it is unknown or still available."""
        try:
            item = self._model.get(resident_code_key(code), CODE_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return item.person_id if item.status == ASSIGNED else None

    # -- taking codes ---------------------------------------------------------------------
    def reserve(self, count: int = 1) -> list[Reservation]:
        """``count`` different codes chosen at random: the slots that follow a random point in
        the pool's (random) order, wrapping round. Refused if the pool holds fewer."""
        if count < 1:
            raise ValueError("count must be at least 1")
        start = f"{SLOT_PREFIX}{secrets.token_hex(8)}"
        key = pool_key(self.pool)
        found = list(
            self._model.query(
                key, self._model.sk.between(start, _SLOT_END), limit=count, consistent_read=True
            )
        )
        if len(found) < count:
            found += self._model.query(
                key,
                self._model.sk.startswith(SLOT_PREFIX),
                limit=count - len(found),
                consistent_read=True,
            )
        slots = {item.sk: str(item.code) for item in found}
        if len(slots) < count:
            raise Conflict(
                "RESIDENT_CODE_POOL_EMPTY",
                "住民票コードの在庫が不足しています。市町村CSを通じて住民票コードの追加の指定を受けてください",
            )
        return [Reservation(code=code, pool=self.pool, slot=slot) for slot, code in slots.items()]

    def add_assignment_to(self, tx: TransactWrite, reservation: Reservation, person_id: str) -> None:
        """Adds the writes that give ``reservation.code`` to ``person_id`` to ``tx``."""
        self.add_assignments_to(tx, [(reservation, person_id)])

    def add_assignments_to(self, tx: TransactWrite, assignments: Sequence[tuple[Reservation, str]]) -> None:
        """Adds to ``tx`` the writes that give each reserved code to its person: per code, the slot
        deleted and the code item marked assigned; once, the counter decremented by their number
        (a transaction may write an item only once, so call this once per transaction). The
        transaction fails (ConditionalCheckFailed) if a code was taken meanwhile: reserve again
        and retry."""
        if not assignments:
            return
        if any(reservation.pool != self.pool for reservation, _ in assignments):
            raise ValueError("reservation from another pool")
        if len({reservation.code for reservation, _ in assignments}) != len(assignments):
            raise ValueError("the same code reserved twice")
        model = self._model
        for reservation, person_id in assignments:
            tx.delete(
                model(pk=pool_key(self.pool), sk=reservation.slot),
                condition=model.code == reservation.code,
            )
            tx.update(
                model(pk=resident_code_key(reservation.code), sk=CODE_SK),
                actions=[model.status.set(ASSIGNED), model.person_id.set(person_id), model.slot.remove()],
                condition=(model.status == AVAILABLE) & (model.slot == reservation.slot),
            )
        tx.update(self._counter(), actions=[model.value.add(-len(assignments))])

    def add_brought_to(self, tx: TransactWrite, code: str, person_id: str) -> None:
        """Adds to ``tx`` the record that a code brought from another municipality (転出証明書) is
        this person's, so the CS can never hand it out again; fails if it is someone else's."""
        model = self._model
        theirs = (model.status == ASSIGNED) & (model.person_id == person_id)
        tx.save(
            model(pk=resident_code_key(code), sk=CODE_SK, kind="resident_code", code=code, status=ASSIGNED,
                  person_id=person_id),
            condition=model.pk.does_not_exist() | theirs,
        )  # fmt: skip

    def record_held(self, held: Sequence[tuple[str, str]]) -> None:
        """Records (code, person id) pairs the ledger already holds (a migration from the legacy
        ledger), in batches, so the CS can never hand those codes out again."""
        with self._model.batch_write() as batch:
            for code, person_id in held:
                batch.save(
                    self._model(pk=resident_code_key(code), sk=CODE_SK, kind="resident_code", code=code,
                                status=ASSIGNED, person_id=person_id)
                )  # fmt: skip

    def assign(self, person_id: str) -> Assignment:
        """Takes one code at random for the person in a transaction of its own, retrying with
        another code when a concurrent assignment took the one chosen."""
        for attempt in range(MAX_ATTEMPTS):
            (reservation,) = self.reserve(1)
            try:
                with self._transaction() as tx:
                    self.add_assignment_to(tx, reservation, person_id)
            except TransactWriteError as error:
                if not _retryable(error):
                    raise
                _back_off(attempt)
            else:
                return Assignment(code=reservation.code, person_id=person_id, available=self.available())
        raise _contended()

    # -- helpers --------------------------------------------------------------------------
    def _transaction(self, token: str | None = None) -> TransactWrite:
        return TransactWrite(connection=self._connection, client_request_token=token)

    def _counter(self) -> ResidentCodeItem:
        return self._model(pk=pool_key(self.pool), sk=COUNTER_SK, kind="resident_code_counter")


def _random_slot() -> str:
    return f"{SLOT_PREFIX}{secrets.token_hex(8)}"


def _retryable(error: TransactWriteError) -> bool:
    reasons = {reason.code for reason in error.cancellation_reasons if reason is not None}
    return bool(reasons & _RETRYABLE)


def _back_off(attempt: int) -> None:
    time.sleep(min(0.5, 0.01 * 2**attempt) * secrets.SystemRandom().random())


def _contended() -> Conflict:
    return Conflict(
        "CONCURRENT_CHANGE",
        "住民票コードの払出しが同時に集中しました。しばらくしてからやり直してください",
    )
