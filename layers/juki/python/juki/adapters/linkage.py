"""The linkage table (``outbox``): waiting messages, lane cursors, provision records and the
recipient registry, next to the inbox items of ``juki.adapters.inbound``. Keys: ``docs/linkage.md``.

Every state change of a message is one conditional write, so two dispatchers running at once (a
scheduled run and one started by a commit) cannot both deliver-and-record the same message, nor
advance a lane past a message the other is delivering.

The lane's cursor item is the authority on what waits on the lane: ``pending`` holds the sequence of
every delivery routed to it and not yet delivered or skipped (added in the routing transaction,
removed in the delivering one). The ``by_status`` index only says where to look: it is eventually
consistent, so a round may see a later message before an earlier one; the cursor (read strongly by
the claim) keeps the round from delivering anything but the lowest pending sequence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from pynamodb.attributes import NumberAttribute, NumberSetAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from juki.adapters.dynamodb import OplogItem, OutboxItem, oplog_item, outbox_item
from juki.adapters.peers import HttpPeers
from juki.adapters.system import SystemClock, UuidSource
from juki.adapters.tables import bind, conflict_from
from juki.domain.linkage import PARKED, PENDING, OutboundMessage, ProvisionRecord, RecipientSystem
from juki.domain.oplog import OperationLogEntry
from juki.domain.recipients import RecipientRegistration
from juki.services.linkage import LaneCursor, LinkageService, Waiting

if TYPE_CHECKING:
    from juki.bootstrap import Services

ROUTED = "routed"
DELIVERED = "delivered"
SKIPPED = "skipped"


class _ByStatus(GlobalSecondaryIndex["QueueItem"]):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    queue_sk = UnicodeAttribute(range_key=True)


class QueueItem(OutboxItem):
    """A message as the dispatcher reads it from the ``by_status`` index."""

    by_status = _ByStatus()


class LaneItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)  # LANE#<lane>
    sk = UnicodeAttribute(range_key=True)  # CURSOR
    last_sequence = NumberAttribute(null=True)
    pending = NumberSetAttribute(null=True)  # sequences routed to the lane, not yet delivered or skipped
    parked = UnicodeAttribute(null=True)  # the message id holding the lane back
    lease_owner = UnicodeAttribute(null=True)  # the dispatcher round delivering on the lane now
    lease_until = UnicodeAttribute(null=True)


class _ByRecipient(GlobalSecondaryIndex["ProvisionItem"]):
    class Meta:
        index_name = "by_recipient"
        projection = AllProjection()

    prov_recipient = UnicodeAttribute(hash_key=True)
    prov_sk = UnicodeAttribute(range_key=True)


class ProvisionItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)  # PROV#<person_id>
    sk = UnicodeAttribute(range_key=True)  # <at>#<message_id>
    prov_recipient = UnicodeAttribute(null=True)
    prov_sk = UnicodeAttribute(null=True)
    body = UnicodeAttribute()
    by_recipient = _ByRecipient()


class RecipientItem(Model):
    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)  # RECIPIENT#<system_id>
    sk = UnicodeAttribute(range_key=True)  # CURRENT or V#<version:06d>
    version = NumberAttribute()
    body = UnicodeAttribute()


def provision_item(model: type[ProvisionItem], provision: ProvisionRecord, person_id: str) -> ProvisionItem:
    """The provision record's item under a person (listed per person) and its recipient (the
    ``by_recipient`` index, in time order). The keys derive from the record, so writing the same
    record again overwrites it (a retried extract part)."""
    sk = f"{provision.at.isoformat()}#{provision.message_id}"
    return model(
        pk=f"PROV#{person_id}",
        sk=sk,
        prov_recipient=provision.recipient,
        prov_sk=sk,
        body=provision.model_dump_json(),
    )


RECIPIENTS = "RECIPIENTS"  # the listing item's pk: every system id, in one item
CURRENT = "CURRENT"
ROUTE_CHUNK = 10  # deliveries per routing transaction: two items each, with the event's (moto: 25)
CONDITION_FAILED = "ConditionalCheckFailedException"
QUERY_PAGE = 200


def _lane_key(lane: str) -> str:
    return f"LANE#{lane}"


def _waiting(item: OutboxItem) -> Waiting:
    return Waiting(
        message=OutboundMessage.model_validate(item.body.as_dict()),
        attempts=int(item.attempts or 0),
        next_attempt_at=datetime.fromisoformat(item.next_attempt_at) if item.next_attempt_at else None,
        last_error=item.last_error,
        routed=int(item.routed or 0),
    )


def _lost_race(error: UpdateError | TransactWriteError) -> bool:
    """A failed condition (another round got there first); anything else is a fault to raise."""
    if isinstance(error, TransactWriteError):
        return not isinstance(conflict_from(error), TransactWriteError)
    return error.cause_response_code == CONDITION_FAILED


class DynamoLinkageStore:
    """Implements ``juki.services.linkage.LinkageStore`` on the linkage (outbox) table."""

    def __init__(self, outbox_table: str, oplog_table: str, region: str, host: str | None = None) -> None:
        self._queue = bind(QueueItem, outbox_table, region, host)
        self._lanes = bind(LaneItem, outbox_table, region, host)
        self._provisions = bind(ProvisionItem, outbox_table, region, host)
        self._recipients = bind(RecipientItem, outbox_table, region, host)
        self._oplog = bind(OplogItem, oplog_table, region, host)
        self._connection = Connection(region=region, host=host)

    # -- reading the queue ------------------------------------------------------------------------
    def waiting(self, limit: int, status: str = PENDING) -> list[Waiting]:
        """Messages waiting, in lane order and sequence order within each lane (the first ``limit``)."""
        return [_waiting(item) for item in self._queue.by_status.query(status, limit=limit)]

    def scan_waiting(self, status: str = PENDING) -> Iterator[Waiting]:
        """Every message waiting, page by page, for a round that skips what is not due yet."""
        for item in self._queue.by_status.query(status, page_size=QUERY_PAGE):
            yield _waiting(item)

    def get(self, message_id: str) -> tuple[str, Waiting] | None:
        try:
            item = self._queue.get(f"MSG#{message_id}", "MSG", consistent_read=True)
        except DoesNotExist:
            return None
        return item.state or PENDING, _waiting(item)

    def claim_lane(self, lane: str, owner: str, now: datetime, until: datetime) -> LaneCursor | None:
        """Only one dispatcher round delivers on a lane at a time (a lease that ends by itself if
        the round dies). The lane's cursor as the claim found it (the update returns the item,
        strongly consistent), or None when another round holds the lane."""
        lanes = self._lanes
        cursor = lanes(pk=_lane_key(lane), sk="CURSOR")
        try:
            cursor.update(
                actions=[lanes.lease_owner.set(owner), lanes.lease_until.set(until.isoformat())],
                condition=lanes.lease_until.does_not_exist() | (lanes.lease_until < now.isoformat()),
            )
        except UpdateError as error:
            if _lost_race(error):
                return None
            raise
        return LaneCursor(
            last_sequence=int(cursor.last_sequence or 0),
            pending=frozenset(int(n) for n in cursor.pending or ()),
            parked=cursor.parked,
        )

    def release_lane(self, lane: str, owner: str) -> None:
        lanes = self._lanes
        try:
            lanes(pk=_lane_key(lane), sk="CURSOR").update(
                actions=[lanes.lease_owner.remove(), lanes.lease_until.remove()],
                condition=lanes.lease_owner == owner,
            )
        except UpdateError as error:
            if not _lost_race(error):
                raise  # else the lease ran out and another round holds it now

    # -- state changes ----------------------------------------------------------------------------
    def route(self, event: OutboundMessage, deliveries: list[OutboundMessage], routed: int = 0) -> bool:
        """The event becomes its deliveries, a chunk per transaction: each chunk puts its deliveries
        and adds their sequences to their lanes' pending sets, on condition the event is still
        pending with exactly the deliveries before it routed; the last marks the event routed. The
        first of several chunks stores the whole plan on the event, and a round that carries on
        an event routed in part follows that plan, not one worked out again (the registry may
        have changed in between). False if another round is routing it."""
        model, lanes = self._queue, self._lanes
        key = model(pk=f"MSG#{event.message_id}", sk="MSG")
        if routed:
            try:
                stored = model.get(key.pk, key.sk, consistent_read=True)
            except DoesNotExist:
                return False
            deliveries = [OutboundMessage.model_validate(d) for d in json.loads(stored.planned or "[]")]
        start = routed
        try:
            while True:
                chunk = deliveries[start : start + ROUTE_CHUNK]
                last = start + len(chunk) >= len(deliveries)
                with self._transaction() as tx:
                    actions: list[Action] = (
                        [model.state.set(ROUTED if deliveries else SKIPPED), model.status.remove(),
                         model.queue_sk.remove()]
                        if last
                        else [model.routed.set(start + len(chunk))]
                    )  # fmt: skip
                    if start == 0 and not last:
                        actions.append(
                            model.planned.set(json.dumps([d.model_dump(mode="json") for d in deliveries]))
                        )
                    tx.update(
                        key,
                        actions=actions,
                        condition=(model.state == PENDING)
                        & (model.routed.does_not_exist() if start == 0 else model.routed == start),
                    )
                    by_lane: dict[str, set[int]] = {}
                    for message in chunk:
                        tx.save(outbox_item(message, model), condition=model.pk.does_not_exist())
                        by_lane.setdefault(message.lane, set()).add(message.sequence)
                    for lane, sequences in by_lane.items():  # one update per lane and transaction
                        tx.update(
                            lanes(pk=_lane_key(lane), sk="CURSOR"), actions=[lanes.pending.add(sequences)]
                        )
                if last:
                    return True
                start += len(chunk)
        except TransactWriteError as error:
            if _lost_race(error):
                return False
            raise

    def add_delivery(self, message: OutboundMessage) -> bool:
        """One more delivery, outside routing (a link the peer asks for): put once by its id, its
        sequence added to its lane's pending set. False if it was there already."""
        model, lanes = self._queue, self._lanes
        try:
            with self._transaction() as tx:
                tx.save(outbox_item(message, model), condition=model.pk.does_not_exist())
                tx.update(
                    lanes(pk=_lane_key(message.lane), sk="CURSOR"),
                    actions=[lanes.pending.add({message.sequence})],
                )
        except TransactWriteError as error:
            if _lost_race(error):
                return False
            raise
        return True

    def delivered(
        self,
        message: OutboundMessage,
        previous: int,
        at: datetime,
        receipt: str | None,
        provision: ProvisionRecord,
    ) -> bool:
        """Delivered, the lane advanced (its pending set without it) and the provision recorded, in
        one transaction; False if another round got there first (the message is no longer pending,
        the lane moved, or a message was parked on it)."""
        model, lanes = self._queue, self._lanes
        try:
            with self._transaction() as tx:
                tx.update(
                    model(pk=f"MSG#{message.message_id}", sk="MSG"),
                    actions=[
                        model.state.set(DELIVERED),
                        model.status.remove(),
                        model.queue_sk.remove(),
                        model.delivered_at.set(at.isoformat()),
                        model.receipt.set(receipt or ""),
                    ],
                    condition=model.state == PENDING,
                )
                moved = (
                    lanes.last_sequence.does_not_exist() if previous == 0 else lanes.last_sequence == previous
                )
                tx.update(
                    lanes(pk=_lane_key(message.lane), sk="CURSOR"),
                    actions=[
                        lanes.last_sequence.set(message.sequence),
                        lanes.pending.delete({message.sequence}),
                    ],
                    condition=moved & lanes.parked.does_not_exist(),
                )
                tx.save(self._provision_item(provision))
        except TransactWriteError as error:
            if _lost_race(error):
                return False
            raise
        return True

    def skip(self, message: OutboundMessage) -> bool:
        """A delivery nobody may receive any more (its recipient's approval ended, or the version
        is gone): out of the queue and out of its lane's pending set."""
        model, lanes = self._queue, self._lanes
        try:
            with self._transaction() as tx:
                tx.update(
                    model(pk=f"MSG#{message.message_id}", sk="MSG"),
                    actions=[model.state.set(SKIPPED), model.status.remove(), model.queue_sk.remove()],
                    condition=model.state == PENDING,
                )
                tx.update(
                    lanes(pk=_lane_key(message.lane), sk="CURSOR"),
                    actions=[lanes.pending.delete({message.sequence})],
                )
        except TransactWriteError as error:
            if _lost_race(error):
                return False
            raise
        return True

    def failed(self, message: OutboundMessage, attempts: int, next_at: datetime, error: str) -> None:
        model = self._queue
        try:
            model(pk=f"MSG#{message.message_id}", sk="MSG").update(
                actions=[
                    model.attempts.set(attempts),
                    model.next_attempt_at.set(next_at.isoformat()),
                    model.last_error.set(error),
                ],
                condition=model.state == PENDING,
            )
        except UpdateError as fault:
            if not _lost_race(fault):
                raise  # else another round delivered it meanwhile

    def park(self, message: OutboundMessage, attempts: int, error: str, provision: ProvisionRecord) -> bool:
        """Parked: out of the pending queue, into the parked one, holding its lane back (its
        sequence stays pending on the lane)."""
        model, lanes = self._queue, self._lanes
        try:
            with self._transaction() as tx:
                tx.update(
                    model(pk=f"MSG#{message.message_id}", sk="MSG"),
                    actions=[model.state.set(PARKED), model.status.set(PARKED), model.attempts.set(attempts),
                             model.last_error.set(error)],
                    condition=model.state == PENDING,
                )  # fmt: skip
                tx.update(
                    lanes(pk=_lane_key(message.lane), sk="CURSOR"),
                    actions=[lanes.parked.set(message.message_id)],
                )
                tx.save(self._provision_item(provision))
        except TransactWriteError as fault:
            if _lost_race(fault):
                return False
            raise
        return True

    def redrive(self, message: OutboundMessage, log: OperationLogEntry) -> bool:
        """Back to pending with its attempts reset, the lane released, with the log entry."""
        model, lanes = self._queue, self._lanes
        try:
            with self._transaction() as tx:
                tx.update(
                    model(pk=f"MSG#{message.message_id}", sk="MSG"),
                    actions=[model.state.set(PENDING), model.status.set(message.queue), model.attempts.set(0),
                             model.next_attempt_at.remove()],
                    condition=model.state == PARKED,
                )  # fmt: skip
                tx.update(
                    lanes(pk=_lane_key(message.lane), sk="CURSOR"),
                    actions=[lanes.parked.remove()],
                    condition=lanes.parked == message.message_id,
                )
                tx.save(oplog_item(log, self._oplog), condition=self._oplog.pk.does_not_exist())
        except TransactWriteError as error:
            if _lost_race(error):
                return False
            raise
        return True

    # -- provision records --------------------------------------------------------------------------
    def _provision_item(self, provision: ProvisionRecord) -> ProvisionItem:
        # One item per message, under its person (a delivery names one person).
        return provision_item(self._provisions, provision, provision.persons[0] if provision.persons else "-")

    def provisions_for(self, person_id: str) -> list[ProvisionRecord]:
        items = self._provisions.query(f"PROV#{person_id}", consistent_read=True)
        return [ProvisionRecord.model_validate_json(item.body) for item in items]

    def provisions_to(
        self, recipient: str, start: datetime, end: datetime, limit: int
    ) -> list[ProvisionRecord]:
        items = self._provisions.by_recipient.query(
            recipient,
            self._provisions.prov_sk.between(start.isoformat(), f"{end.isoformat()}~"),
            limit=limit,
        )
        return [ProvisionRecord.model_validate_json(item.body) for item in items]

    # -- the recipient registry ---------------------------------------------------------------------
    def registrations(self) -> list[RecipientRegistration]:
        return self._current_registrations()

    def _current_registrations(self) -> list[RecipientRegistration]:
        try:
            listing = self._recipients.get(RECIPIENTS, CURRENT, consistent_read=True)
        except DoesNotExist:
            return []
        ids: list[str] = json.loads(listing.body)
        keys = [(f"RECIPIENT#{system_id}", CURRENT) for system_id in ids]
        items = self._recipients.batch_get(keys, consistent_read=True)
        found = [RecipientRegistration.model_validate_json(item.body) for item in items]
        return sorted(found, key=lambda r: r.system_id)

    def registration(self, system_id: str) -> RecipientRegistration | None:
        try:
            item = self._recipients.get(f"RECIPIENT#{system_id}", CURRENT, consistent_read=True)
        except DoesNotExist:
            return None
        return RecipientRegistration.model_validate_json(item.body)

    def save_registration(self, registration: RecipientRegistration, log: OperationLogEntry) -> None:
        """A new version (kept) and the current copy, conditional on the version before it."""
        model = self._recipients
        body = registration.model_dump_json()
        pk = f"RECIPIENT#{registration.system_id}"
        try:
            with self._transaction() as tx:
                version = model(
                    pk=pk, sk=f"V#{registration.version:06d}", version=registration.version, body=body
                )
                tx.save(version, condition=model.pk.does_not_exist())
                tx.save(
                    model(pk=pk, sk=CURRENT, version=registration.version, body=body),
                    condition=(model.pk.does_not_exist() if registration.version == 1
                               else model.version == registration.version - 1),
                )  # fmt: skip
                if registration.version == 1:
                    ids, listed = self._listing()
                    tx.save(
                        model(pk=RECIPIENTS, sk=CURRENT, version=listed + 1,
                              body=json.dumps(sorted({*ids, registration.system_id}))),
                        condition=(model.pk.does_not_exist() if listed == 0 else model.version == listed),
                    )  # fmt: skip
                tx.save(oplog_item(log, self._oplog), condition=self._oplog.pk.does_not_exist())
        except TransactWriteError as error:
            raise conflict_from(error) from error

    def _listing(self) -> tuple[list[str], int]:
        """Every registered system id and the listing's own version (0: no listing yet)."""
        try:
            listing = self._recipients.get(RECIPIENTS, CURRENT, consistent_read=True)
        except DoesNotExist:
            return [], 0
        return json.loads(listing.body), int(listing.version)

    def approved(self) -> list[RecipientSystem]:
        return [r.system() for r in self._current_registrations() if r.is_approved]

    def _transaction(self) -> TransactWrite:
        return TransactWrite(connection=self._connection)


def build_linkage_store(services: Services) -> DynamoLinkageStore:
    settings = services.settings
    return DynamoLinkageStore(
        settings.outbox_table, settings.oplog_table, region=settings.region, host=settings.endpoint_url
    )


def build_linkage(services: Services) -> LinkageService:
    settings = services.settings
    return LinkageService(
        services.part(build_linkage_store),
        services.store,
        HttpPeers(
            settings.peer_cs_url,
            settings.peer_platform_url,
            settings.peer_timeout_seconds,
            settings.peer_intermediate_url,
        ),
        services.store,
        SystemClock(),
        ids=UuidSource(),
        numbers=services.my_numbers,
        municipality=settings.municipality_name,
        first_backoff_seconds=settings.linkage_first_backoff_seconds,
    )
