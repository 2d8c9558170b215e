"""The dispatcher: routes committed changes into deliveries and delivers them to the peers, in order
per lane, at least once (the peers apply at most once by the idempotency key), recording every
provision. Also the registry of recipient systems, provision search and the redrive of parked
messages. Rules: ``juki.domain.linkage``; contract: ``docs/linkage.md``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, Field

from juki.domain.errors import Conflict, NotFound
from juki.domain.linkage import (
    FIRST_BACKOFF_SECONDS,
    OutboundMessage,
    Outcome,
    PeerAnswer,
    ProvisionRecord,
    Recipient,
    RecipientSystem,
    Stream,
    delivery_data,
    judge,
    next_attempt_at,
    parks,
    route,
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
PAGE = 200  # waiting messages read per round
MAX_PROVISION_DAYS = 31
LANE_LEASE = timedelta(minutes=3)  # longer than a round's budget; a dead round's lease ends by itself


@dataclass(frozen=True)
class Waiting:
    message: OutboundMessage
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None


class LinkageStore(Protocol):
    def waiting(self, limit: int, status: str = ...) -> list[Waiting]: ...
    def claim_lane(
        self, lane: str, owner: str, now: datetime, until: datetime
    ) -> tuple[int, str | None] | None: ...
    def release_lane(self, lane: str, owner: str) -> None: ...
    def get(self, message_id: str) -> tuple[str, Waiting] | None: ...
    def route(self, event: OutboundMessage, deliveries: list[OutboundMessage]) -> bool: ...
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
    # Record versions read in this round: an event and its deliveries read the same version.
    versions: dict[tuple[str, int], PersonRecord | None] = field(default_factory=dict)


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
        """One step: route every waiting event, then deliver each lane's due messages in order.
        ``more`` when something due is left (the state machine runs the step again)."""
        started = self._monotonic()
        state = _Round()
        waiting = self._store.waiting(PAGE)
        events = [w for w in waiting if w.message.recipient == Recipient.ROUTER]
        if events:
            recipients = self._store.approved()
            for item in events:
                self._route(item.message, recipients, state)
            waiting = self._store.waiting(PAGE)
        by_lane: dict[str, list[Waiting]] = {}
        for item in waiting:
            if item.message.recipient != Recipient.ROUTER:
                by_lane.setdefault(item.message.lane, []).append(item)
        registry = {r.system_id: r for r in self._store.registrations()}
        owner = f"{actor.request_id}:{self._ids.new_id()}"
        for lane, items in by_lane.items():
            if self._monotonic() - started > budget_seconds:
                state.result.more = True
                break
            now = self._clock.now()
            cursor = self._store.claim_lane(lane, owner, now, now + LANE_LEASE)
            if cursor is None:
                continue  # another round is delivering on this lane
            try:
                # The cursor as the claim found it: what the round before this one left.
                self._deliver_lane(items, cursor, registry, state)
            finally:
                self._store.release_lane(lane, owner)
        self._log_round(actor, state)
        now = self._clock.now()
        due = [w for w in self._store.waiting(PAGE) if w.next_attempt_at is None or w.next_attempt_at <= now]
        state.result.waiting = len(due)
        state.result.more = state.result.more or (
            bool(due) and (state.result.delivered + state.result.routed) > 0
        )
        return state.result

    def _route(self, event: OutboundMessage, recipients: list[RecipientSystem], state: _Round) -> None:
        assert event.person_id is not None
        new = self._version(event.person_id, event.sequence, state)
        if new is None:  # the version is gone (archived): nothing left to send
            self._store.route(event, [])
            state.result.skipped += 1
            return
        before = (
            self._records.person_version(event.person_id, event.sequence - 1) if event.sequence > 1 else None
        )
        if self._store.route(event, route(event, new, before, recipients, self._clock.now())):
            state.result.routed += 1

    def _deliver_lane(
        self,
        items: list[Waiting],
        cursor: tuple[int, str | None],
        registry: dict[str, RecipientRegistration],
        state: _Round,
    ) -> None:
        previous, parked_on = cursor
        if parked_on is not None:
            return  # a parked message holds its lane until it is redriven
        for item in sorted(items, key=lambda w: w.message.sequence):
            if item.next_attempt_at is not None and item.next_attempt_at > self._clock.now():
                return
            if item.message.sequence <= previous:
                continue  # delivered by a round that read the queue after this one did
            reached = self._deliver_one(item, previous, registry, state)
            if reached is None:
                return  # failed, parked or raced: the lane waits
            previous = reached

    def _deliver_one(
        self, item: Waiting, previous: int, registry: dict[str, RecipientRegistration], state: _Round
    ) -> int | None:
        """Delivers one message: the lane's new last sequence (unchanged for a message nobody may
        receive any more), or None when the lane must wait."""
        message = item.message
        approved_fields: tuple[str, ...] = ()
        if message.recipient.startswith(f"{Recipient.PLATFORM}."):
            registration = registry.get(message.recipient.removeprefix(f"{Recipient.PLATFORM}."))
            if registration is None or not registration.is_approved:
                if self._store.skip(message):
                    state.result.skipped += 1
                return previous
            approved_fields = tuple(registration.fields)
        envelope = self._envelope(message, previous, approved_fields, state)
        if envelope is None:
            self._store.skip(message)
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
        if parks(outcome, attempts):
            provision = self._provision(message, envelope, "parked", None, error)
            if self._store.park(message, attempts, error, provision):
                state.result.parked += 1
                state.persons.update(persons)
        else:
            retry_at = next_attempt_at(now, attempts, self._rng, self._first_backoff)
            self._store.failed(message, attempts, retry_at, error)
            state.result.retried += 1
        return None

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
        if message.stream == Stream.IDENTITY and record.my_number is not None:
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
