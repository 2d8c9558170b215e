"""The ledger in DynamoDB, through pynamodb.

Layout of the ledger table (one table, keys ``pk``/``sk``):

| item                  | pk                  | sk          | notes                                        |
| --------------------- | ------------------- | ----------- | -------------------------------------------- |
| person version n      | ``PERSON#<id>``     | ``V#<n>``   | never changed once written                   |
| person, current       | ``PERSON#<id>``     | ``CURRENT`` | copy of the newest version                   |
| household version n   | ``HOUSEHOLD#<id>``  | ``V#<n>``   |                                              |
| household, current    | ``HOUSEHOLD#<id>``  | ``CURRENT`` |                                              |
| movement              | ``MOVEMENT#<id>``   | ``MOVEMENT``| gsi1 = status, entered time                  |
| identity bucket       | ``IDENTITY#<key>``  | ``IDENTITY``| person ids with that reading and birth date  |
| id counter            | ``COUNTER#<kind>``  | ``COUNTER`` | person and household sequence numbers        |
| 転出証明書情報        | ``MOVEOUT_CERT#<id>`` | ``MOVEOUT_CERT`` | retention_stores; a commit claims it |

In the outbox (linkage) table, besides the messages: ``INBOX#<peer>#<message_id>`` / ``INBOX``,
the mark that an inbound message was applied, written with its effect.

Every change is one ``TransactWriteItems`` call across the ledger, the operation log and
the outbox; each write carries the condition that makes a retry or a concurrent change fail
instead of overwriting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, ClassVar

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from juki.adapters.resident_code_pool import DynamoResidentCodePool, Reservation
from juki.adapters.tables import bind, conflict_from
from juki.domain import ids
from juki.domain.linkage import PENDING, OutboundMessage
from juki.domain.listings import listing_of
from juki.domain.model import CommitPlan, Movement, MovementStatus
from juki.domain.movements import person_identity
from juki.domain.my_number import STORAGE
from juki.domain.oplog import OperationLogEntry
from juki.domain.oplog_chain import entry_hash
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.retention import HeldCertificate, MoveOutCertificate, MoveOutCertificateClaim
from juki.domain.search import index_keys
from juki.services.ports import Allocation, CodeReservation, IdentityBucket

CURRENT = "CURRENT"
VERSION_DIGITS = 6


def person_key(person_id: str) -> str:
    return f"PERSON#{person_id}"


def household_key(household_id: str) -> str:
    return f"HOUSEHOLD#{household_id}"


def movement_key(movement_id: str) -> str:
    return f"MOVEMENT#{movement_id}"


def version_key(version: int) -> str:
    return f"V#{version:0{VERSION_DIGITS}d}"


def identity_bucket_key(identity: str) -> str:
    return f"IDENTITY#{identity}"


IDENTITY = "IDENTITY"
MOVEOUT_CERT = "MOVEOUT_CERT"


def certificate_key(certificate_id: str) -> str:
    return f"{MOVEOUT_CERT}#{certificate_id}"


class _Gsi1(GlobalSecondaryIndex["LedgerItem"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class LedgerItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    value = NumberAttribute(null=True)
    body = UnicodeAttribute(null=True)  # the record as JSON: read whole, never filtered on
    allocation: MapAttribute[str, Any] = MapAttribute(null=True)
    person_ids = UnicodeSetAttribute(null=True)
    # 転出証明書情報 (the other attributes of its item: juki.adapters.retention_stores)
    claimed_at = UnicodeAttribute(null=True)
    claimed_by = UnicodeAttribute(null=True)
    # Search keys (juki.domain.search.index_keys), on person version items only.
    kana_pk = UnicodeAttribute(null=True)
    kana_sk = UnicodeAttribute(null=True)
    name_pk = UnicodeAttribute(null=True)
    name_sk = UnicodeAttribute(null=True)
    birth_pk = UnicodeAttribute(null=True)
    birth_sk = UnicodeAttribute(null=True)
    address_pk = UnicodeAttribute(null=True)
    address_sk = UnicodeAttribute(null=True)
    town_code_pk = UnicodeAttribute(null=True)
    town_code_sk = UnicodeAttribute(null=True)
    my_number_pk = UnicodeAttribute(null=True)
    my_number_sk = UnicodeAttribute(null=True)
    card_pk = UnicodeAttribute(null=True)
    card_sk = UnicodeAttribute(null=True)
    gsi1 = _Gsi1()


class OplogItem(Model):
    """An operation-log entry. ``entry_hash`` is written with it; the seal attributes (``seq``,
    ``prev_hash``, ``chain_hash``, ``batch``) are added later by the sealer (ADR 0009)."""

    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    staff_id = UnicodeAttribute()
    body: MapAttribute[str, Any] = MapAttribute()
    entry_hash = UnicodeAttribute(null=True)
    seq = NumberAttribute(null=True)
    prev_hash = UnicodeAttribute(null=True)
    chain_hash = UnicodeAttribute(null=True)
    batch = NumberAttribute(null=True)


class OutboxItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    state = UnicodeAttribute(null=True)  # pending, routed, delivered, skipped, parked
    # Only while waiting (pending or parked): the sparse GSI ``by_status`` in lane order.
    status = UnicodeAttribute(null=True)
    queue_sk = UnicodeAttribute(null=True)
    body: MapAttribute[str, Any] = MapAttribute()
    attempts = NumberAttribute(null=True)
    next_attempt_at = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    delivered_at = UnicodeAttribute(null=True)
    receipt = UnicodeAttribute(null=True)
    routed = NumberAttribute(null=True)  # an event: how many of its deliveries are routed so far
    planned = UnicodeAttribute(null=True)  # an event routed in several chunks: its deliveries (JSON)


INBOX = "INBOX"


class InboxItem(Model):
    """In the outbox (linkage) table: the mark that an inbound message was applied
    (``INBOX#<peer>#<message_id>`` / ``INBOX``), written in the transaction of its effect."""

    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    applied_at = UnicodeAttribute()
    movement_id = UnicodeAttribute(null=True)


def inbox_key(source_id: str) -> str:
    """``source_id`` is ``<peer>#<message_id>``."""
    return f"INBOX#{source_id}"


def outbox_item(message: OutboundMessage, model: type[OutboxItem]) -> OutboxItem:
    """A new message, waiting: in the ``by_status`` index under its queue (``OutboundMessage.queue``),
    by lane and in sequence order within it."""
    return model(
        pk=f"MSG#{message.message_id}",
        sk="MSG",
        state=PENDING,
        status=message.queue,
        queue_sk=f"{message.lane}#{message.sequence:012d}",
        body=message.model_dump(mode="json"),
        attempts=0,
    )


def add_certificate_claim(tx: TransactWrite, model: type[LedgerItem], claim: MoveOutCertificateClaim) -> None:
    """The claim of a 転出証明書情報, in a transaction: the fact and the claimant are kept, the personal
    data and the purge index keys dropped, on condition it is held and not yet claimed (a purge or
    another claim meanwhile cancels the whole transaction). Used by a card move-in's commit and
    by ``DynamoMoveOutCertificates.claim``: one definition of what a claim writes."""
    tx.update(
        model(pk=certificate_key(claim.certificate_id), sk=MOVEOUT_CERT),
        actions=[
            model.claimed_at.set(claim.claimed_at.isoformat()),
            model.claimed_by.set(claim.claimed_by),
            model.body.remove(),
            model.gsi1pk.remove(),
            model.gsi1sk.remove(),
        ],
        condition=model.pk.exists() & model.claimed_at.does_not_exist(),
    )


def held_certificate(item: LedgerItem, certificate_id: str) -> HeldCertificate:
    """The domain's view of a certificate item."""
    claim = (
        MoveOutCertificateClaim(
            certificate_id=certificate_id,
            claimed_at=datetime.fromisoformat(item.claimed_at),
            claimed_by=item.claimed_by or "",
        )
        if item.claimed_at
        else None
    )
    certificate = MoveOutCertificate.model_validate_json(item.body) if item.body and claim is None else None
    return HeldCertificate(certificate_id=certificate_id, certificate=certificate, claim=claim)


def oplog_item(entry: OperationLogEntry, model: type[OplogItem]) -> OplogItem:
    """Log entries are partitioned by day and ordered by time within it; each carries the hash of
    its own content, so the transactions that write entries never touch a shared chain item."""
    body = entry.model_dump(mode="json")
    return model(
        pk=f"DAY#{entry.at.date().isoformat()}",
        sk=f"{entry.at.isoformat()}#{entry.entry_id}",
        staff_id=entry.staff_id,
        body=body,
        entry_hash=entry_hash(body),
    )


class DynamoLedgerStore:
    """Implements ``LedgerStore`` and ``OperationLog`` on the ledger, oplog and outbox tables."""

    def __init__(
        self,
        ledger_table: str,
        oplog_table: str,
        outbox_table: str,
        region: str,
        host: str | None = None,
    ) -> None:
        self._ledger = bind(LedgerItem, ledger_table, region, host)
        self._oplog = bind(OplogItem, oplog_table, region, host)
        self._outbox = bind(OutboxItem, outbox_table, region, host)
        self._inbox = bind(InboxItem, outbox_table, region, host)
        self._connection = Connection(region=region, host=host)
        self._codes = DynamoResidentCodePool(ledger_table, region=region, host=host)

    # -- movements ----------------------------------------------------------------------
    def get_movement(self, movement_id: str) -> Movement | None:
        try:
            item = self._ledger.get(movement_key(movement_id), "MOVEMENT", consistent_read=True)
        except DoesNotExist:
            return None
        return Movement.model_validate_json(item.body, context=STORAGE)

    def save_draft(
        self, movement: Movement, log: OperationLogEntry, allocation: Allocation | None = None
    ) -> None:
        item = self._movement_item(movement)
        if allocation is not None:
            item.allocation = allocation.__dict__
        with self._transaction() as tx:
            tx.save(item, condition=self._ledger.pk.does_not_exist())
            tx.save(oplog_item(log, self._oplog), condition=self._oplog.pk.does_not_exist())

    def save_approval(self, movement: Movement, log: OperationLogEntry) -> None:
        self._transition(movement, MovementStatus.DRAFT, log)

    def save_failure(self, movement: Movement, log: OperationLogEntry) -> None:
        self._transition(movement, MovementStatus.APPROVED, log)

    def save_rejection(self, movement: Movement, log: OperationLogEntry) -> None:
        self._transition(movement, MovementStatus.DRAFT, log)

    def allocate_ids(self, movement_id: str, persons: int, households: int) -> Allocation:
        if persons == households == 0:
            return Allocation(person_ids=[], household_ids=[])
        existing = self._ledger.get(movement_key(movement_id), "MOVEMENT", consistent_read=True)
        if existing.allocation is None:
            allocation = Allocation(
                person_ids=self._next_ids("person", persons),
                household_ids=self._next_ids("household", households),
            )
            try:
                existing.update(
                    actions=[self._ledger.allocation.set(allocation.__dict__)],
                    condition=self._ledger.allocation.does_not_exist(),
                )
            except UpdateError as error:
                if not _condition_failed(error):
                    raise
                existing.refresh(consistent_read=True)  # a concurrent attempt won; use its ids
            else:
                return allocation
        stored = existing.allocation.as_dict()
        return Allocation(person_ids=list(stored["person_ids"]), household_ids=list(stored["household_ids"]))

    def commit(
        self,
        movement: Movement,
        plan: CommitPlan,
        log: OperationLogEntry,
        messages: list[OutboundMessage],
        *,
        identity_versions: dict[str, int],
        codes: dict[str, CodeReservation],
        claim: MoveOutCertificateClaim | None = None,
        received_from: str | None = None,
    ) -> None:
        """``claim``: a card move-in claims its 転出証明書情報 here, so it is claimed exactly when the
        move-in is final (``add_certificate_claim``). ``received_from`` (``<peer>#<message_id>``):
        the movement applies an inbound message, whose inbox mark is written here too, on condition
        it is new (juki.services.inbound)."""
        try:
            token = _commit_token(movement, plan, codes, identity_versions, log, received_from=received_from)
            with self._transaction(token=token) as tx:
                self._add_to_identity_buckets(tx, plan.new_identities, identity_versions)
                self._codes.add_assignments_to(
                    tx, [(_reservation(codes[pid]), pid) for pid in plan.code_needed]
                )
                brought = {
                    p.person_id: p.resident_code for p in plan.persons if p.person_id in plan.codes_brought
                }
                for person_id, code in brought.items():
                    if code:
                        self._codes.add_brought_to(tx, code, person_id)
                self._update_movement(tx, movement, MovementStatus.APPROVED)
                for person in plan.persons:
                    self._put_version(tx, person_key(person.person_id), person.version, person, "person")
                for household in plan.households:
                    self._put_version(
                        tx, household_key(household.household_id), household.version, household, "household"
                    )
                tx.save(oplog_item(log, self._oplog), condition=self._oplog.pk.does_not_exist())
                for message in messages:
                    tx.save(outbox_item(message, self._outbox), condition=self._outbox.pk.does_not_exist())
                if claim is not None:
                    add_certificate_claim(tx, self._ledger, claim)
                if received_from is not None:
                    mark = self._inbox(
                        pk=inbox_key(received_from),
                        sk=INBOX,
                        applied_at=log.at.isoformat(),
                        movement_id=movement.movement_id,
                    )
                    tx.save(mark, condition=self._inbox.pk.does_not_exist())
        except TransactWriteError as error:
            raise conflict_from(error) from error

    def received(self, source_id: str) -> bool:
        """Was the inbound message ``<peer>#<message_id>`` applied (its inbox mark written)?"""
        try:
            self._inbox.get(inbox_key(source_id), INBOX, consistent_read=True)
        except DoesNotExist:
            return False
        return True

    def mark_received(self, source_id: str, at: datetime) -> None:
        """The inbox mark alone, for a message whose effect is kept once by its own key (a
        転出証明書情報 by its id, stored first); a mark already there stands."""
        mark = self._inbox(pk=inbox_key(source_id), sk=INBOX, applied_at=at.isoformat())
        try:
            mark.save(condition=self._inbox.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def held_move_out_certificate(self, certificate_id: str) -> HeldCertificate | None:
        """The 転出証明書情報 a card move-in names (consistent read); None if never received or purged."""
        try:
            item = self._ledger.get(certificate_key(certificate_id), MOVEOUT_CERT, consistent_read=True)
        except DoesNotExist:
            return None
        return held_certificate(item, certificate_id)

    def reserve_resident_codes(self, count: int) -> list[CodeReservation]:
        return list(self._codes.reserve(count)) if count else []

    def resident_code_holder(self, code: str) -> str | None:
        return self._codes.assigned_to(code)

    def resident_codes_available(self) -> int:
        return self._codes.available()

    # -- reads ---------------------------------------------------------------------------
    def identity_buckets(self, identity_keys: list[str]) -> dict[str, IdentityBucket]:
        keys = list(dict.fromkeys(identity_keys))
        found = {
            item.pk.removeprefix("IDENTITY#"): item
            for item in self._ledger.batch_get(
                [(identity_bucket_key(key), IDENTITY) for key in keys], consistent_read=True
            )
        }
        persons = {
            person.person_id: person
            for person in self.get_persons(
                sorted({pid for item in found.values() for pid in item.person_ids or ()})
            )
        }
        return {
            key: IdentityBucket(
                version=int(found[key].version or 0) if key in found else 0,
                persons=[persons[pid] for pid in sorted(found[key].person_ids or ())] if key in found else [],
            )
            for key in keys
        }

    def get_person(self, person_id: str) -> PersonRecord | None:
        return self.persons_by_id([person_id]).get(person_id)

    def get_persons(self, person_ids: list[str]) -> list[PersonRecord]:
        by_id = self.persons_by_id(person_ids)
        missing = [pid for pid in person_ids if pid not in by_id]
        if missing:
            raise LedgerInconsistent(f"{len(missing)} referenced person record(s) missing")
        return [by_id[pid] for pid in person_ids]

    def persons_by_id(self, person_ids: Iterable[str]) -> dict[str, PersonRecord]:
        """The current version of each person found (consistent read); unknown ids are left out."""
        return {
            record.person_id: record
            for record in self._current(PersonRecord, [person_key(pid) for pid in dict.fromkeys(person_ids)])
        }

    def get_household(self, household_id: str) -> HouseholdRecord | None:
        return self.households_by_id([household_id]).get(household_id)

    def households_by_id(self, household_ids: Iterable[str]) -> dict[str, HouseholdRecord]:
        return {
            record.household_id: record
            for record in self._current(
                HouseholdRecord, [household_key(h) for h in dict.fromkeys(household_ids)]
            )
        }

    def person_version(self, person_id: str, version: int) -> PersonRecord | None:
        return self._version(PersonRecord, person_key(person_id), version)

    def household_version(self, household_id: str, version: int) -> HouseholdRecord | None:
        return self._version(HouseholdRecord, household_key(household_id), version)

    def person_history(self, person_id: str) -> list[PersonRecord]:
        """Every version, oldest first."""
        return self._history(PersonRecord, person_key(person_id))

    def household_history(self, household_id: str) -> list[HouseholdRecord]:
        return self._history(HouseholdRecord, household_key(household_id))

    def person_as_of(self, person_id: str, day: date) -> PersonRecord | None:
        """The newest version in effect on ``day`` (history is monotonic in effective date)."""
        return self._as_of(PersonRecord, person_key(person_id), day)

    def household_as_of(self, household_id: str, day: date) -> HouseholdRecord | None:
        return self._as_of(HouseholdRecord, household_key(household_id), day)

    def listed(self, listing: str) -> list[str]:
        """The ids on one of the ledger's standing lists (``juki.domain.listings``), in the list's order."""
        return [item.pk.split("#", 1)[1] for item in self._ledger.gsi1.query(listing)]

    def append(self, entry: OperationLogEntry) -> None:
        oplog_item(entry, self._oplog).save(condition=self._oplog.pk.does_not_exist())

    # -- bulk import (migration of an existing ledger, and the demo municipality) -----------
    def import_records(self, persons: list[PersonRecord], households: list[HouseholdRecord]) -> None:
        """Writes imported version-1 records in batches (no movement, no linkage), files each
        resident under their identity key, and records their 住民票コード as held."""
        self._codes.record_held([(p.resident_code, p.person_id) for p in persons if p.resident_code])
        for key, person_ids in _by_identity(persons).items():
            bucket = self._ledger(pk=identity_bucket_key(key), sk=IDENTITY)
            bucket.update(actions=[self._ledger.person_ids.add(person_ids), self._ledger.version.add(1)])
        with self._ledger.batch_write() as batch:
            for person in persons:
                for item in self._version_items(
                    person_key(person.person_id), person.version, person, "person"
                ):
                    batch.save(item)
            for household in households:
                key = household_key(household.household_id)
                for item in self._version_items(key, household.version, household, "household"):
                    batch.save(item)

    def reserve_sequence(self, kind: str, count: int) -> list[str]:
        return self._next_ids(kind, count)

    # -- helpers -----------------------------------------------------------------------------
    def _current[R: (PersonRecord, HouseholdRecord)](self, model: type[R], keys: list[str]) -> list[R]:
        items = self._ledger.batch_get([(key, CURRENT) for key in keys], consistent_read=True)
        return [model.model_validate_json(item.body, context=STORAGE) for item in items]

    def _version[R: (PersonRecord, HouseholdRecord)](self, model: type[R], pk: str, version: int) -> R | None:
        try:
            item = self._ledger.get(pk, version_key(version), consistent_read=True)
        except DoesNotExist:
            return None
        return model.model_validate_json(item.body, context=STORAGE)

    def _history[R: (PersonRecord, HouseholdRecord)](self, model: type[R], pk: str) -> list[R]:
        items = self._ledger.query(pk, self._ledger.sk.startswith("V#"), consistent_read=True)
        return [model.model_validate_json(item.body, context=STORAGE) for item in items]

    def _as_of[R: (PersonRecord, HouseholdRecord)](self, model: type[R], pk: str, day: date) -> R | None:
        newest_first = self._ledger.query(
            pk, self._ledger.sk.startswith("V#"), consistent_read=True, scan_index_forward=False
        )
        for item in newest_first:
            record = model.model_validate_json(item.body, context=STORAGE)
            if record.effective_date <= day:
                return record
        return None

    def _transaction(self, token: str | None = None) -> TransactWrite:
        return TransactWrite(connection=self._connection, client_request_token=token)

    def _movement_item(self, movement: Movement) -> LedgerItem:
        return self._ledger(
            pk=movement_key(movement.movement_id),
            sk="MOVEMENT",
            kind="movement",
            status=movement.status.value,
            gsi1pk=f"MOVEMENT_STATUS#{movement.status.value}",
            gsi1sk=f"{movement.entered_at.isoformat()}#{movement.movement_id}",
            body=movement.model_dump_json(context=STORAGE),
        )

    def _update_movement(self, tx: TransactWrite, movement: Movement, expected: MovementStatus) -> None:
        item = self._movement_item(movement)
        tx.update(
            item,
            actions=[
                self._ledger.status.set(movement.status.value),
                self._ledger.gsi1pk.set(item.gsi1pk),
                self._ledger.body.set(item.body),
            ],
            condition=self._ledger.status == expected.value,
        )

    def _transition(self, movement: Movement, expected: MovementStatus, log: OperationLogEntry) -> None:
        try:
            with self._transaction(token=_transition_token(movement, expected, log)) as tx:
                self._update_movement(tx, movement, expected)
                tx.save(oplog_item(log, self._oplog), condition=self._oplog.pk.does_not_exist())
        except TransactWriteError as error:
            raise conflict_from(error) from error

    def _version_items(
        self, pk: str, version: int, record: PersonRecord | HouseholdRecord, kind: str
    ) -> tuple[LedgerItem, LedgerItem]:
        body = record.model_dump_json(context=STORAGE)
        history = self._ledger(pk=pk, sk=version_key(version), kind=kind, version=version, body=body)
        if isinstance(record, PersonRecord):  # search keys on versions only: one hit per version
            for attribute, value in index_keys(record).items():
                setattr(history, attribute, value)
        current = self._ledger(pk=pk, sk=CURRENT, kind=kind, version=version, body=body)
        listing = listing_of(record)
        if listing:
            current.gsi1pk, current.gsi1sk = listing
        return history, current

    def _add_to_identity_buckets(
        self, tx: TransactWrite, persons: list[PersonRecord], identity_versions: dict[str, int]
    ) -> None:
        for key, person_ids in _by_identity(persons).items():
            seen = identity_versions.get(key, 0)
            unchanged: Condition = (
                self._ledger.pk.does_not_exist() if seen == 0 else self._ledger.version == seen
            )
            tx.update(
                self._ledger(pk=identity_bucket_key(key), sk=IDENTITY),
                actions=[self._ledger.person_ids.add(person_ids), self._ledger.version.add(1)],
                condition=unchanged,
            )

    def _put_version(
        self, tx: TransactWrite, pk: str, version: int, record: PersonRecord | HouseholdRecord, kind: str
    ) -> None:
        history, current = self._version_items(pk, version, record, kind)
        tx.save(history, condition=self._ledger.pk.does_not_exist())
        previous: Condition = (
            self._ledger.pk.does_not_exist() if version == 1 else self._ledger.version == version - 1
        )
        tx.save(current, condition=previous)

    def _next_ids(self, kind: str, count: int) -> list[str]:
        if count == 0:
            return []
        counter = self._ledger(pk=f"COUNTER#{kind}", sk="COUNTER")
        counter.update(actions=[self._ledger.value.add(count)])
        last = int(counter.value or 0)
        return [ids.make_id(sequence) for sequence in range(last - count + 1, last + 1)]


def _commit_token(
    movement: Movement,
    plan: CommitPlan,
    codes: dict[str, CodeReservation],
    identity_versions: dict[str, int],
    log: OperationLogEntry,
    *,
    received_from: str | None = None,
) -> str:
    """The idempotency token of a commit: the same request (same approval, same versions written,
    same identity buckets and codes, same log entry) is run once by DynamoDB, which covers the SDK
    resending one call. Anything else is a new request with a new token, never an
    ``IdempotentParameterMismatch``: a retry after losing a race writes other versions or codes,
    and every attempt writes its log entry with its own time (the entry's key, which carries the
    time, is in the token). Two attempts cannot both commit: the transaction is conditional on
    the movement still being approved and on the versions before the ones written.
    At most 36 characters."""
    written = sorted(
        [f"P{p.person_id}:{p.version}" for p in plan.persons]
        + [f"H{h.household_id}:{h.version}" for h in plan.households]
    )
    taken = sorted(f"{pid}={r.code}" for pid, r in codes.items())
    buckets = sorted(f"{key}:{version}" for key, version in identity_versions.items())
    request = "|".join(
        [movement.approval_id or "", *written, *taken, *buckets, _log_key(log), received_from or ""]
    )
    return hashlib.sha256(request.encode()).hexdigest()[:32]


def _transition_token(movement: Movement, expected: MovementStatus, log: OperationLogEntry) -> str:
    """The idempotency token of a status change (approval, rejection, refusal at commit): the
    movement, the change, and the log entry's key. A resent call is run once; a retry of the step
    writes its entry at its own time and so is a new request, which the condition on the status
    refuses if an earlier attempt already made the change."""
    request = "|".join([movement.movement_id, expected.value, movement.status.value, _log_key(log)])
    return hashlib.sha256(request.encode()).hexdigest()[:32]


def _log_key(log: OperationLogEntry) -> str:
    """The log entry's table key (``oplog_item``): the day, the time and the id."""
    return f"DAY#{log.at.date().isoformat()}|{log.at.isoformat()}#{log.entry_id}"


def _reservation(reservation: CodeReservation) -> Reservation:
    if not isinstance(reservation, Reservation):
        raise TypeError("a reservation from this store's pool")
    return reservation


class LedgerInconsistent(RuntimeError):
    """A record the ledger refers to is missing: a fault of the system, never of the client."""


def _by_identity(persons: list[PersonRecord]) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for person in persons:
        keys.setdefault(person_identity(person), set()).add(person.person_id)
    return keys


def _condition_failed(error: UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"
