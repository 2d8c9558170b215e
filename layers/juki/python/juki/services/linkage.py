"""The dispatcher: routes committed changes into deliveries and delivers them to the peers, in order
per lane, at least once (the peers apply at most once by the idempotency key), recording every
provision. Also the registry of recipient systems, provision search and the redrive of parked
messages. Rules: ``juki.domain.linkage``; contract: ``docs/linkage.md``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError
from pydantic import BaseModel, Field
from pynamodb.exceptions import PynamoDBException

from juki.domain.errors import Conflict, NotFound
from juki.domain.linkage import (
    FIRST_BACKOFF_SECONDS,
    INTERMEDIATE_CODE_FIELDS,
    LEGAL_BASIS,
    NOT_LINKED,
    PARKED,
    PENDING,
    ROUTE,
    OutboundMessage,
    Outcome,
    PeerAnswer,
    ProvisionRecord,
    Recipient,
    RecipientSystem,
    Stream,
    delivery_data,
    event_id,
    judge,
    next_attempt_at,
    parks,
    route,
    waiting_queue,
)
from juki.domain.my_number import SealedMyNumber
from juki.domain.oplog import OperationLogEntry, entry_for
from juki.domain.recipients import NewRecipient, RecipientRegistration, unknown_recipient
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.staff import Actor, Permission, SystemActor
from juki.services.access import require
from juki.services.ports import Clock, IdSource, OperationLog

FUNCTION_LINKAGE = "linkage.dispatch"
FUNCTION_MANAGE = "linkage.manage"
FUNCTION_PROVISIONS = "linkage.provisions"
PAGE = 200  # events routed, and deliveries taken, per round
SCAN_LIMIT = 2000  # waiting deliveries read past, per round, to find lanes that are due
MAX_PROVISION_DAYS = 31
NUMBER_STREAMS = frozenset(
    {Stream.IDENTITY, Stream.INTERMEDIATE_CODE, Stream.INTERMEDIATE_LINK}
)  # the 個人番号 opened to send
LANE_LEASE = timedelta(minutes=3)  # longer than a round's budget; a dead round's lease ends by itself


@dataclass(frozen=True)
class Waiting:
    message: OutboundMessage
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    routed: int = 0  # an event: how many of its deliveries are routed so far

    def due(self, now: datetime) -> bool:
        return self.next_attempt_at is None or self.next_attempt_at <= now


@dataclass(frozen=True)
class LaneCursor:
    """A lane as its cursor item holds it: the authority on what waits there, in what order."""

    last_sequence: int = 0  # what the peer acknowledged last
    pending: frozenset[int] = frozenset()  # routed to the lane and not yet delivered or skipped
    parked: str | None = None  # the message holding the lane back


class LinkageStore(Protocol):
    def waiting(self, limit: int, status: str = ...) -> list[Waiting]: ...
    def scan_waiting(self, status: str = ...) -> Iterator[Waiting]: ...
    def claim_lane(self, lane: str, owner: str, now: datetime, until: datetime) -> LaneCursor | None: ...
    def release_lane(self, lane: str, owner: str) -> None: ...
    def get(self, message_id: str) -> tuple[str, Waiting] | None: ...
    def route(self, event: OutboundMessage, deliveries: list[OutboundMessage], routed: int = ...) -> bool: ...
    def add_delivery(self, message: OutboundMessage) -> bool: ...
    def delivered(
        self,
        message: OutboundMessage,
        previous: int,
        at: datetime,
        receipt: str | None,
        provision: ProvisionRecord,
    ) -> bool: ...
    def skip(self, message: OutboundMessage) -> bool: ...
    def failed(self, message: OutboundMessage, attempts: int, next_at: datetime, error: str) -> None: ...
    def park(
        self, message: OutboundMessage, attempts: int, error: str, provision: ProvisionRecord
    ) -> bool: ...
    def redrive(self, message: OutboundMessage, log: OperationLogEntry) -> bool: ...
    def provisions_for(self, person_id: str) -> list[ProvisionRecord]: ...
    def provisions_to(
        self, recipient: str, start: datetime, end: datetime, limit: int
    ) -> list[ProvisionRecord]: ...
    def registrations(self) -> list[RecipientRegistration]: ...
    def registration(self, system_id: str) -> RecipientRegistration | None: ...
    def save_registration(self, registration: RecipientRegistration, log: OperationLogEntry) -> None: ...
    def approved(self) -> list[RecipientSystem]: ...


class RecordVersions(Protocol):
    def person_version(self, person_id: str, version: int) -> PersonRecord | None: ...
    def households_by_id(self, household_ids: list[str]) -> dict[str, HouseholdRecord]: ...


class Peers(Protocol):
    def deliver(self, recipient: str, envelope: dict[str, Any]) -> PeerAnswer: ...
    def connected(self, recipient: str) -> bool: ...


class NumberOpener(Protocol):
    def open(self, sealed: SealedMyNumber, person_id: str) -> str: ...


class DispatchResult(BaseModel):
    routed: int = 0
    delivered: int = 0
    retried: int = 0
    parked: int = 0
    skipped: int = 0
    waiting: int = Field(default=0, description="messages still waiting that are due")
    more: bool = False


@dataclass
class _Round:
    result: DispatchResult = field(default_factory=DispatchResult)
    persons: set[str] = field(default_factory=set)
    held_persons: set[str] = field(default_factory=set)  # their events wait for the next round
    # Record versions read in this round: an event and its deliveries read the same version.
    versions: dict[tuple[str, int], PersonRecord | None] = field(default_factory=dict)


def _approved_fields(
    message: OutboundMessage, registry: dict[str, RecipientRegistration]
) -> tuple[str, ...] | None:
    """For a platform recipient, the fields its registration approves now (None: not approved, it
    receives nothing); ``()`` for a peer that takes the message's own fields."""
    if not message.recipient.startswith(f"{Recipient.PLATFORM}."):
        return ()
    registration = registry.get(message.recipient.removeprefix(f"{Recipient.PLATFORM}."))
    if registration is None or not registration.is_approved:
        return None
    return tuple(registration.fields)


class LinkageService:
    def __init__(
        self,
        store: LinkageStore,
        records: RecordVersions,
        peers: Peers,
        log: OperationLog,
        clock: Clock,
        *,
        ids: IdSource,
        numbers: NumberOpener,
        municipality: str,
        first_backoff_seconds: float = FIRST_BACKOFF_SECONDS,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._first_backoff = first_backoff_seconds
        self._store = store
        self._records = records
        self._peers = peers
        self._numbers = numbers
        self._log = log
        self._clock = clock
        self._ids = ids
        self._municipality = municipality
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._monotonic = monotonic

    # -- dispatch ---------------------------------------------------------------------------------
    def dispatch(self, actor: SystemActor, budget_seconds: float = 60.0) -> DispatchResult:
        """One round: route the waiting events, then deliver each lane's due messages in order.
        ``more`` when something due is left (the state machine runs the round again). What left
        is logged even when the round stops on a fault."""
        started = self._monotonic()
        state = _Round()
        registry: dict[str, RecipientRegistration] = {}
        try:
            events = self._store.waiting(PAGE, ROUTE)
            if events:
                recipients = [
                    s
                    for s in self._store.approved()
                    if self._peers.connected(f"{Recipient.PLATFORM}.{s.system_id}")
                ]
                for item in events:
                    self._route(item, recipients, state)
            registry = {r.system_id: r for r in self._store.registrations()}
            owner = f"{actor.request_id}:{self._ids.new_id()}"
            for lane, items in self._due_lanes(registry).items():
                if self._monotonic() - started > budget_seconds:
                    state.result.more = True
                    break
                now = self._clock.now()
                cursor = self._store.claim_lane(lane, owner, now, now + LANE_LEASE)
                if cursor is None:
                    continue  # another round is delivering on this lane
                try:
                    self._deliver_lane(items, cursor, registry, state)
                finally:
                    self._store.release_lane(lane, owner)
        finally:
            self._log_round(actor, state)
        due = self._due_lanes(registry)
        state.result.waiting = sum(len(items) for items in due.values())
        state.result.more = (
            state.result.more
            or bool(self._store.waiting(1, ROUTE))
            or (bool(due) and (state.result.delivered + state.result.routed) > 0)
        )
        return state.result

    def _due_lanes(self, registry: dict[str, RecipientRegistration]) -> dict[str, list[Waiting]]:
        """The waiting deliveries of lanes whose first message is due, recipient by recipient (each
        its own queue: one that is down never hides another's), at most ``PAGE`` of them each,
        reading past lanes that wait for a retry or behind a parked message (``SCAN_LIMIT``)."""
        now = self._clock.now()
        parked = {item.message.lane for item in self._store.scan_waiting(PARKED)}
        recipients = [Recipient.CS.value, Recipient.INTERMEDIATE.value]
        recipients += [f"{Recipient.PLATFORM}.{system_id}" for system_id in sorted(registry)]
        lanes: dict[str, list[Waiting]] = {}
        for recipient in recipients:
            held = set(parked)  # lanes whose first message waits: the rest of them waits too
            taken = 0
            for scanned, item in enumerate(self._store.scan_waiting(waiting_queue(recipient)), start=1):
                lane = item.message.lane
                if lane in held:
                    pass
                elif lane not in lanes and not item.due(now):
                    held.add(lane)
                else:
                    lanes.setdefault(lane, []).append(item)
                    taken += 1
                if taken >= PAGE or scanned >= SCAN_LIMIT:
                    break
        return lanes

    def _route(self, item: Waiting, recipients: list[RecipientSystem], state: _Round) -> None:
        """Routes an event once the person's previous version is routed (so deliveries enter each
        lane in version order, whatever order the index shows the events in)."""
        event = item.message
        assert event.person_id is not None
        if event.person_id in state.held_persons:
            return  # an earlier version of theirs is not routed yet: this one waits a round
        new = self._version(event.person_id, event.sequence, state)
        if new is None:  # the version is gone (archived): nothing left to send
            self._store.route(event, [])
            state.result.skipped += 1
            return
        before = self._version(event.person_id, event.sequence - 1, state) if event.sequence > 1 else None
        if before is not None and self._unrouted(
            event_id(before.movement_id, event.person_id, before.version)
        ):
            state.held_persons.add(event.person_id)
            return
        deliveries = [
            d
            for d in route(event, new, before, recipients, self._clock.now())
            if self._peers.connected(d.recipient)
        ]
        if self._store.route(event, deliveries, item.routed):
            state.result.routed += 1
        else:
            state.held_persons.add(event.person_id)  # another round is routing it: it carries on

    def _unrouted(self, message_id: str) -> bool:
        found = self._store.get(message_id)
        return found is not None and found[0] == PENDING

    def _deliver_lane(
        self,
        items: list[Waiting],
        cursor: LaneCursor,
        registry: dict[str, RecipientRegistration],
        state: _Round,
    ) -> None:
        """Delivers the lane's lowest pending sequence, then the next, while each is applied. The
        cursor decides, not the index: a message the index shows that is no longer pending was
        delivered by another round; one that is not the lowest pending waits for the earlier one
        (which the index has not shown yet, or which waits for a retry)."""
        if cursor.parked is not None:
            return  # a parked message holds its lane until it is redriven
        pending = sorted(cursor.pending)
        previous = cursor.last_sequence
        for item in sorted(items, key=lambda w: w.message.sequence):
            sequence = item.message.sequence
            if sequence not in pending:
                continue  # delivered or skipped already: the index had not caught up
            if sequence <= previous:
                # Superseded: a later version reached the peer first (routing raced). Its message
                # carried the newer state; this one would only be refused as out of order.
                if self._store.skip(item.message):
                    pending.remove(sequence)
                    state.result.skipped += 1
                continue
            if sequence != pending[0] or not item.due(self._clock.now()):
                return
            reached = self._attempt(item, previous, registry, state)
            if reached is None:
                return  # failed, parked or raced: the lane waits
            pending.pop(0)
            previous = reached

    def _attempt(
        self, item: Waiting, previous: int, registry: dict[str, RecipientRegistration], state: _Round
    ) -> int | None:
        """``_deliver_one``, where anything that goes wrong before the peer's answer (opening the
        number, a peer that breaks the connection mid-answer) counts as a failed attempt of this
        message, recorded on it, never a failure of the round."""
        try:
            return self._deliver_one(item, previous, registry, state)
        except (PynamoDBException, BotoCoreError):
            raise  # our own storage: the round is retried
        except Exception as error:  # recorded on the message by its type name only
            self._failed(item, type(error).__name__, state)
            return None

    def _deliver_one(
        self, item: Waiting, previous: int, registry: dict[str, RecipientRegistration], state: _Round
    ) -> int | None:
        """Delivers one message: the lane's new last sequence (unchanged for a message nobody may
        receive any more), or None when the lane must wait."""
        message = item.message
        approved_fields = _approved_fields(message, registry)
        envelope = (
            None if approved_fields is None else self._envelope(message, previous, approved_fields, state)
        )
        if envelope is None:  # no longer approved, or the version is gone (archived): nothing to send
            if not self._store.skip(message):
                return None
            state.result.skipped += 1
            return previous
        answer = self._peers.deliver(message.recipient, envelope)
        outcome = judge(answer)
        attempts = item.attempts + 1
        persons = [message.person_id] if message.person_id else []
        now = self._clock.now()
        if outcome == Outcome.APPLIED:
            provision = self._provision(message, envelope, "delivered", answer.receipt, None)
            if not self._store.delivered(message, previous, now, answer.receipt, provision):
                return None  # another round moved this lane meanwhile: it carries on
            state.result.delivered += 1
            state.persons.update(persons)
            return message.sequence
        error = answer.code or (f"HTTP_{answer.status}" if answer.status else "NO_ANSWER")
        if error == NOT_LINKED and message.stream == Stream.INTERMEDIATE_COPY:
            self._link(message)
        if parks(outcome, attempts):
            provision = self._provision(message, envelope, "parked", None, error)
            if self._store.park(message, attempts, error, provision):
                state.result.parked += 1
                state.persons.update(persons)
        else:
            self._failed(item, error, state)
        return None

    def _link(self, copy: OutboundMessage) -> None:
        """The 中間サーバー cannot file a 副本 for a person it holds no 符号 for (a record migrated
        with its 個人番号, or recorded before the server was connected): ask for the 符号 now, on
        the link lane, under an id derived from the 副本's, so it is asked once per version."""
        request = copy.model_copy(
            update={
                "message_id": f"{copy.message_id}:{Stream.INTERMEDIATE_LINK}",
                "kind": "code.request",
                "stream": Stream.INTERMEDIATE_LINK,
                "legal_basis": LEGAL_BASIS[Stream.INTERMEDIATE_LINK],
                "fields": INTERMEDIATE_CODE_FIELDS,
            }
        )
        self._store.add_delivery(request)

    def _failed(self, item: Waiting, error: str, state: _Round) -> None:
        attempts = item.attempts + 1
        retry_at = next_attempt_at(self._clock.now(), attempts, self._rng, self._first_backoff)
        self._store.failed(item.message, attempts, retry_at, error)
        state.result.retried += 1

    def _version(self, person_id: str, version: int, state: _Round) -> PersonRecord | None:
        key = (person_id, version)
        if key not in state.versions:
            state.versions[key] = self._records.person_version(person_id, version)
        return state.versions[key]

    def _envelope(
        self, message: OutboundMessage, previous: int, approved_fields: tuple[str, ...], state: _Round
    ) -> dict[str, Any] | None:
        assert message.person_id is not None
        record = self._version(message.person_id, message.sequence, state)
        if record is None:
            return None
        my_number = None
        if message.stream in NUMBER_STREAMS and record.my_number is not None:
            my_number = self._numbers.open(
                SealedMyNumber.model_validate(record.my_number.model_dump()), record.person_id
            )
        head = None
        if "head_person_id" in message.fields:
            household = self._records.households_by_id([record.household_id]).get(record.household_id)
            head = household.head_person_id if household else None
        data = delivery_data(
            message, record, self._municipality, my_number=my_number, head_person_id=head,
            approved_fields=approved_fields,
        )  # fmt: skip
        return {
            "message_id": message.message_id,
            "kind": message.kind,
            "lane": message.lane,
            "sequence": message.sequence,
            "previous_sequence": previous,
            "sent_at": self._clock.now().isoformat(),
            "legal_basis": message.legal_basis,
            "fields": sorted(k for k in data if k != "person_id")
            if approved_fields
            else list(message.fields),
            "data": data,
        }

    def _provision(
        self,
        message: OutboundMessage,
        envelope: dict[str, Any],
        outcome: Any,
        receipt: str | None,
        error: str | None,
    ) -> ProvisionRecord:
        return ProvisionRecord(
            message_id=message.message_id,
            recipient=message.recipient,
            kind=message.kind,
            legal_basis=message.legal_basis,
            persons=[message.person_id] if message.person_id else [],
            fields=list(envelope["fields"]),
            at=self._clock.now(),
            outcome=outcome,
            receipt=receipt,
            error=error,
        )

    def _log_round(self, actor: SystemActor, state: _Round) -> None:
        """What the round sent is personal data leaving: one log entry naming the persons."""
        if not state.persons:
            return
        result = state.result
        self._log.append(
            entry_for(
                actor, entry_id=self._ids.new_id(), at=self._clock.now(), function=FUNCTION_LINKAGE,
                action="export", persons=sorted(state.persons),
                subject=f"linkage delivered={result.delivered} parked={result.parked}",
            )
        )  # fmt: skip

    # -- parked messages --------------------------------------------------------------------------
    def parked(self, actor: Actor | SystemActor, limit: int = PAGE) -> list[Waiting]:
        if isinstance(actor, Actor):
            require(actor, Permission.OPERATIONS)
        return self._store.waiting(limit, "parked")

    def redrive(self, message_id: str, actor: Actor | SystemActor) -> Waiting:
        if isinstance(actor, Actor):
            require(actor, Permission.OPERATIONS)
        found = self._store.get(message_id)
        if found is None:
            raise NotFound("MESSAGE_NOT_FOUND", "連携メッセージが見つかりません", "message_id")
        state, item = found
        if state != "parked":
            raise Conflict("MESSAGE_NOT_PARKED", "保留中の連携メッセージではありません", "message_id")
        log = entry_for(
            actor, entry_id=self._ids.new_id(), at=self._clock.now(), function=FUNCTION_LINKAGE,
            action="update", subject=f"redrive {message_id}",
        )  # fmt: skip
        if not self._store.redrive(item.message, log):
            raise Conflict("MESSAGE_NOT_PARKED", "保留中の連携メッセージではありません", "message_id")
        return Waiting(message=item.message)

    # -- provision records ------------------------------------------------------------------------
    def provisions_for(self, person_id: str, actor: Actor) -> list[ProvisionRecord]:
        require(actor, Permission.AUDIT)
        found = self._store.provisions_for(person_id)
        self._log.append(
            entry_for(actor, entry_id=self._ids.new_id(), at=self._clock.now(), function=FUNCTION_PROVISIONS,
                      action="read", persons=[person_id])
        )  # fmt: skip
        return found

    def provisions_to(
        self, recipient: str, start: datetime, end: datetime, actor: Actor, limit: int = 500
    ) -> list[ProvisionRecord]:
        require(actor, Permission.AUDIT)
        if end < start or end - start > timedelta(days=MAX_PROVISION_DAYS):
            raise Conflict("PERIOD_TOO_LONG", f"期間は{MAX_PROVISION_DAYS}日以内で指定してください", "to")
        found = self._store.provisions_to(recipient, start, end, limit)
        self._log.append(
            entry_for(actor, entry_id=self._ids.new_id(), at=self._clock.now(), function=FUNCTION_PROVISIONS,
                      action="read", persons=sorted({p for r in found for p in r.persons}),
                      subject=f"provisions to {recipient}")
        )  # fmt: skip
        return found

    # -- the registry of recipient systems --------------------------------------------------------
    def recipients(self, actor: Actor) -> list[RecipientRegistration]:
        require(actor, Permission.LINKAGE_MANAGE)
        return self._store.registrations()

    def register(self, new: NewRecipient, actor: Actor) -> RecipientRegistration:
        require(actor, Permission.LINKAGE_MANAGE)
        if self._store.registration(new.system_id) is not None:
            raise Conflict("RECIPIENT_EXISTS", "この連携先システムIDはすでに登録されています", "system_id")
        registration = RecipientRegistration.register(new, actor.staff_id, self._clock.now())
        self._save(registration, actor, "create")
        return registration

    def approve(self, system_id: str, actor: Actor) -> RecipientRegistration:
        require(actor, Permission.LINKAGE_MANAGE)
        registration = self._current(system_id).approve(actor.staff_id, self._clock.now())
        self._save(registration, actor, "approve")
        return registration

    def suspend(self, system_id: str, actor: Actor) -> RecipientRegistration:
        require(actor, Permission.LINKAGE_MANAGE)
        registration = self._current(system_id).suspend(actor.staff_id, self._clock.now())
        self._save(registration, actor, "update")
        return registration

    def change_fields(self, system_id: str, fields: list[str], actor: Actor) -> RecipientRegistration:
        require(actor, Permission.LINKAGE_MANAGE)
        registration = self._current(system_id).change_fields(fields, actor.staff_id, self._clock.now())
        self._save(registration, actor, "update")
        return registration

    def _current(self, system_id: str) -> RecipientRegistration:
        found = self._store.registration(system_id)
        if found is None:
            raise unknown_recipient(system_id)
        return found

    def _save(self, registration: RecipientRegistration, actor: Actor, action: Any) -> None:
        log = entry_for(
            actor, entry_id=self._ids.new_id(), at=self._clock.now(), function=FUNCTION_MANAGE, action=action,
            subject=f"recipient {registration.system_id} v{registration.version} {registration.status}",
        )  # fmt: skip
        self._store.save_registration(registration, log)
