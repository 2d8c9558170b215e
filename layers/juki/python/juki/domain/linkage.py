"""Linkage (連携): which messages a committed change sends, to whom, in what order, and how a
delivery's answer is judged. Pure: the dispatcher (``juki.services.linkage``) and the adapters
carry it out. The contract with each peer is ``docs/linkage.md``.

Two steps, both driven by the outbox:

1. **A change** writes one ``record.version`` event per person version it commits, in the commit's
   own transaction (``messages_for``). The event holds references only.
2. **Routing** (``route``) turns an event into the deliveries it calls for, decided from the new
   version and the one before it: the CS's 本人確認情報 update, a 転入通知, a 戸籍附票記載事項通知, a
   個人番号 request, the 中間サーバー's 符号 request and 副本, and a ``resident.changed`` for each
   approved recipient system of the 共通基盤. A version that changes nothing a recipient holds
   sends that recipient nothing. (Answers to peers' inquiries are added outside routing.)

Each delivery travels on a **lane** (one recipient stream and one person) whose sequence is the
record version (更新順番号): it only grows, and the dispatcher delivers a lane strictly in order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from juki.domain.certificate_rules import address_text, other_address_text
from juki.domain.model import CommitPlan
from juki.domain.records import PersonRecord
from juki.domain.values import MovementKind, ResidentStatus

EVENT_KIND = "record.version"
PENDING = "pending"  # a message waiting to be routed or delivered (its state)
ROUTE = "route"  # the queue of events waiting to be routed (the index partition)
PARKED = "parked"  # the queue of parked deliveries (the index partition)
MAX_ATTEMPTS = 10  # then the message is parked and the alarm raised
NOT_LINKED = (
    "NOT_LINKED"  # the 中間サーバー holds no 符号 for the person yet (retried, and the 符号 asked for)
)
FIRST_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 30 * 60


class Recipient(StrEnum):
    """Where a delivery goes. Platform recipients are ``platform.<system_id>``."""

    ROUTER = "router"  # the event itself: routed into deliveries, never sent anywhere
    CS = "cs"  # 住基ネット 市町村CS
    INTERMEDIATE = "intermediate"  # 中間サーバー (副本の登録と符号の取得)
    PLATFORM = "platform"  # 共通基盤: the recipient system is in the lane


class Stream(StrEnum):
    """A recipient's kinds of message that are ordered together (one lane per stream and person)."""

    IDENTITY = "cs.identity"  # 本人確認情報の更新 (住基法第30条の6)
    MOVE_IN_NOTICE = "cs.move_in_notice"  # 転入通知 to the former municipality (住基法第9条第1項)
    KOSEKI_NOTICE = "cs.koseki_notice"  # 戸籍附票記載事項通知 to the 本籍地 (住基法第19条第1項)
    MY_NUMBER = "cs.my_number"  # 個人番号の指定請求 (番号法第8条)
    # 中間サーバー (情報提供ネットワークシステムとの連携): the 符号 is obtained once per person with a
    # 個人番号 (7-①〜③: the number sent with the person's 団体内統合宛名番号, the 中間サーバー gets the
    # 符号 from J-LIS and keeps it), then the 副本 of 住民票関係情報 is registered under that person.
    INTERMEDIATE_CODE = "intermediate.code"
    INTERMEDIATE_COPY = "intermediate.copy"
    # A 符号 asked for again because the server refused a 副本 for want of one (a record migrated
    # with its number): a lane of its own, so its order never mixes with the routed requests'.
    INTERMEDIATE_LINK = "intermediate.link"
    # 住民票コード照会の回答: the answer to the 本籍地's inquiry (戸籍附票 side), through the CS.
    KOSEKI_ANSWER = "cs.koseki_answer"


LEGAL_BASIS: dict[str, str] = {
    Stream.IDENTITY: "住民基本台帳法第30条の6",
    Stream.MOVE_IN_NOTICE: "住民基本台帳法第9条第1項",
    Stream.KOSEKI_NOTICE: "住民基本台帳法第19条第1項",
    Stream.MY_NUMBER: "行政手続における特定の個人を識別するための番号の利用等に関する法律第8条",
    Stream.INTERMEDIATE_CODE: "行政手続における特定の個人を識別するための番号の利用等に関する法律第19条第8号",
    Stream.INTERMEDIATE_COPY: "行政手続における特定の個人を識別するための番号の利用等に関する法律第19条第8号",
    Stream.INTERMEDIATE_LINK: "行政手続における特定の個人を識別するための番号の利用等に関する法律第19条第8号",
    Stream.KOSEKI_ANSWER: "住民基本台帳法第19条第1項",
}

# The 本人確認情報 and what the CS messages carry (docs/linkage.md).
IDENTITY_FIELDS: tuple[str, ...] = (
    "resident_code",
    "my_number",
    "name",
    "name_kana",
    "birth_date",
    "sex",
    "address",
    "status",
    "reason",
    "effective_date",
)
KOSEKI_NOTICE_FIELDS: tuple[str, ...] = (
    "resident_code",
    "name",
    "name_kana",
    "birth_date",
    "address",
    "koseki",
)
MOVE_IN_NOTICE_FIELDS: tuple[str, ...] = (
    "resident_code",
    "name",
    "birth_date",
    "previous_address",
    "moved_in_date",
)
MY_NUMBER_REQUEST_FIELDS: tuple[str, ...] = ("resident_code",)
KOSEKI_ANSWER_KIND = "resident_code.answer"
KOSEKI_ANSWER_FIELDS: tuple[str, ...] = ("resident_code",)
INTERMEDIATE_CODE_FIELDS: tuple[str, ...] = ("my_number",)  # with the 団体内統合宛名番号 (person_id)
# 住民票関係情報 registered as the 副本 for 情報照会 through the 情報提供ネットワークシステム.
INTERMEDIATE_COPY_FIELDS: tuple[str, ...] = (
    "household_id",
    "head_person_id",
    "relationship",
    "name",
    "name_kana",
    "birth_date",
    "sex",
    "address",
    "status",
    "resident_since",
    "removal",
    "effective_date",
)

# What a recipient system of the 共通基盤 may be approved for: a field name → what it is.
PLATFORM_FIELDS: dict[str, str] = {
    "person_id": "宛名番号",
    "household_id": "世帯番号",
    "name": "氏名",
    "name_kana": "氏名 (フリガナ)",
    "birth_date": "生年月日",
    "sex": "性別",
    "address": "住所",
    "relationship": "続柄",
    "head_person_id": "世帯主の宛名番号",
    "status": "在住・除票の別",
    "resident_since": "住民となった年月日",
    "removal": "消除の事由と日",
    "foreign_resident": "外国人住民の記載事項",
    "qualifications": "国保・国年・介護・後期高齢・児童手当の資格",
    "effective_date": "異動日",
    "movement_kind": "異動の種類",
}


class OutboundMessage(BaseModel):
    """One message in the outbox: an event to route, or a delivery to one peer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str
    recipient: str  # Recipient, or ``platform.<system_id>``
    kind: str
    movement_id: str
    person_id: str | None
    household_id: str | None
    sequence: int  # the record version: grows along the lane (更新順番号)
    created_at: datetime
    stream: str = ""  # the lane's stream; empty for events
    legal_basis: str = ""
    fields: tuple[str, ...] = ()
    source_id: str | None = None  # the event a delivery was routed from
    reference: str | None = None  # what an answer answers (an inquiry id): a reference, never data

    @property
    def lane(self) -> str:
        """``<stream>:<person>``; an answer (a message with a reference) has a lane of its own,
        ``<stream>:<person>:<message_id>``: two inquiries answered from the same version would
        otherwise share a sequence on one lane, and the second would never go."""
        subject = f"{self.stream or self.recipient}:{self.person_id or self.household_id}"
        return subject if self.reference is None else f"{subject}:{self.message_id}"

    @property
    def queue(self) -> str:
        """The index partition it waits in: events in one; deliveries in one per recipient, so a
        recipient that is down (its lanes backing off) never hides another's due messages."""
        return ROUTE if self.recipient == Recipient.ROUTER else waiting_queue(self.recipient)


def waiting_queue(recipient: str) -> str:
    return f"{PENDING}#{recipient}"


def event_id(movement_id: str, person_id: str, version: int) -> str:
    return f"{movement_id}:v:{person_id}:{version}"


def messages_for(plan: CommitPlan, now: datetime) -> list[OutboundMessage]:
    """One event per person version the change commits (a household version alone, such as a new
    head recorded on the household, reaches peers through its members' versions)."""
    return [
        OutboundMessage(
            message_id=event_id(plan.movement_id, person.person_id, person.version),
            recipient=Recipient.ROUTER,
            kind=EVENT_KIND,
            movement_id=plan.movement_id,
            person_id=person.person_id,
            household_id=person.household_id,
            sequence=person.version,
            created_at=now,
        )
        for person in plan.persons
    ]


def koseki_answer(message_id: str, record: PersonRecord, inquiry_id: str, now: datetime) -> OutboundMessage:
    """The answer to a 住民票コード照会 from the 本籍地, added to the outbox outside routing: it
    reports the person's version as it stands (``record``), read again when it is delivered."""
    return OutboundMessage(
        message_id=message_id,
        recipient=Recipient.CS,
        kind=KOSEKI_ANSWER_KIND,
        movement_id=record.movement_id,
        person_id=record.person_id,
        household_id=record.household_id,
        sequence=record.version,
        created_at=now,
        stream=Stream.KOSEKI_ANSWER,
        legal_basis=LEGAL_BASIS[Stream.KOSEKI_ANSWER],
        fields=KOSEKI_ANSWER_FIELDS,
        reference=inquiry_id,
    )


# -- routing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecipientSystem:
    """A recipient system of the 共通基盤, as registered (see ``juki.domain.recipients``)."""

    system_id: str
    legal_basis: str
    fields: tuple[str, ...]


def identity_view(record: PersonRecord) -> dict[str, Any]:
    """The 本人確認情報 items of a version, to compare two versions (the 個人番号 by its seal's
    blind index, so the comparison needs no decryption)."""
    return {
        "resident_code": record.resident_code,
        "my_number": record.my_number.blind_index if record.my_number else None,
        "name": (record.name.family_name, record.name.given_name),
        "name_kana": record.name.reading,
        "birth_date": record.birth_date,
        "sex": record.sex,
        "address": record.address,
        "status": record.status,
    }


def identity_kind(new: PersonRecord, before: PersonRecord | None) -> str | None:
    """``identity.created`` for a record entering the ledger (or coming back), ``identity.removed``
    when it leaves, ``identity.changed`` when a 本人確認情報 item changes, else None."""
    if before is None or (before.status == ResidentStatus.REMOVED and new.status == ResidentStatus.RESIDENT):
        return "identity.created"
    if new.status == ResidentStatus.REMOVED and before.status == ResidentStatus.RESIDENT:
        return "identity.removed"
    if identity_view(new) != identity_view(before):
        return "identity.changed"
    return None


def _koseki_notice_due(new: PersonRecord, before: PersonRecord | None) -> bool:
    """A Japanese resident's 附票 items (name, address) are notified to the 本籍地."""
    if new.koseki is None or new.status != ResidentStatus.RESIDENT:
        return False
    if before is None or before.status == ResidentStatus.REMOVED:
        return True
    return (new.name, new.address, new.koseki) != (before.name, before.address, before.koseki)


def _move_in_notice_due(new: PersonRecord, before: PersonRecord | None) -> bool:
    """A domestic 転入 (with a former municipality to tell) creates or revives the record."""
    entered = before is None or before.status == ResidentStatus.REMOVED
    return (
        entered
        and new.movement_kind == MovementKind.MOVE_IN
        and new.previous_address is not None
        and new.previous_address.country is None
        and new.previous_address.municipality is not None
    )


def _my_number_request_due(new: PersonRecord, before: PersonRecord | None) -> bool:
    """A resident with a 住民票コード and no 個人番号, when the record enters the ledger (or comes back)
    or its code changes: then the CS is asked to designate one."""
    if new.status != ResidentStatus.RESIDENT or new.my_number is not None or new.resident_code is None:
        return False
    return (
        before is None or before.status == ResidentStatus.REMOVED or before.resident_code != new.resident_code
    )


def route(
    event: OutboundMessage,
    new: PersonRecord,
    before: PersonRecord | None,
    recipients: list[RecipientSystem],
    now: datetime,
) -> list[OutboundMessage]:
    """The deliveries an event calls for. Ids derive from the event's, so routing twice names the
    same deliveries (the store refuses the second)."""

    def delivery(
        recipient: str, stream: str, kind: str, basis: str, fields: tuple[str, ...]
    ) -> OutboundMessage:
        return OutboundMessage(
            message_id=f"{event.message_id}:{stream}",
            recipient=recipient,
            kind=kind,
            movement_id=event.movement_id,
            person_id=event.person_id,
            household_id=new.household_id,
            sequence=event.sequence,
            created_at=now,
            stream=stream,
            legal_basis=basis,
            fields=fields,
            source_id=event.message_id,
        )

    kind = identity_kind(new, before)
    # What each stream is sent, when: (due, recipient, stream, kind, fields); the basis is the stream's.
    streams: list[tuple[bool, str, Stream, str, tuple[str, ...]]] = [
        (kind is not None, Recipient.CS, Stream.IDENTITY, kind or "", IDENTITY_FIELDS),
        (_move_in_notice_due(new, before), Recipient.CS, Stream.MOVE_IN_NOTICE, "move_in.notice",
         MOVE_IN_NOTICE_FIELDS),
        (_koseki_notice_due(new, before), Recipient.CS, Stream.KOSEKI_NOTICE, "koseki.notice",
         KOSEKI_NOTICE_FIELDS),
        (_my_number_request_due(new, before), Recipient.CS, Stream.MY_NUMBER, "my_number.request",
         MY_NUMBER_REQUEST_FIELDS),
        (_intermediate_code_due(new, before), Recipient.INTERMEDIATE, Stream.INTERMEDIATE_CODE,
         "code.request", INTERMEDIATE_CODE_FIELDS),
        # The 副本 of everyone with a 個人番号, on every version.
        (new.my_number is not None, Recipient.INTERMEDIATE, Stream.INTERMEDIATE_COPY, "copy.registered",
         INTERMEDIATE_COPY_FIELDS),
    ]  # fmt: skip
    found = [
        delivery(recipient, stream, what, LEGAL_BASIS[stream], fields)
        for due, recipient, stream, what, fields in streams
        if due
    ]
    for system in recipients:
        recipient = f"{Recipient.PLATFORM}.{system.system_id}"
        found.append(delivery(recipient, recipient, "resident.changed", system.legal_basis, system.fields))
    return found


def _intermediate_code_due(new: PersonRecord, before: PersonRecord | None) -> bool:
    """The 符号 is asked for when a person's 個人番号 is first recorded or replaced (a new number
    means a new 符号)."""
    if new.my_number is None:
        return False
    return (
        before is None
        or before.my_number is None
        or before.my_number.blind_index != new.my_number.blind_index
    )


# -- delivery ------------------------------------------------------------------------------------


class Outcome(StrEnum):
    APPLIED = "applied"  # the peer applied it (or had already: a duplicate)
    RETRY = "retry"  # the peer is down, slow or not ready for it (out of order)
    REFUSED = "refused"  # the peer refuses the message itself: retrying cannot help


@dataclass(frozen=True)
class PeerAnswer:
    """What a delivery attempt came back with, as the adapter saw it."""

    status: int | None  # None: no answer (timeout, connection refused)
    code: str | None = None
    receipt: str | None = None


def judge(answer: PeerAnswer) -> Outcome:
    """docs/linkage.md, "Delivery"."""
    if answer.status == 200:
        return Outcome.APPLIED
    if answer.status is None or answer.status >= 500 or answer.status in {408, 409, 429}:
        return Outcome.RETRY
    return Outcome.REFUSED


def next_attempt_at(
    now: datetime, attempts: int, rng: random.Random, first: float = FIRST_BACKOFF_SECONDS
) -> datetime:
    """Exponential backoff after the ``attempts``-th failure, jittered over its upper half."""
    ceiling = min(MAX_BACKOFF_SECONDS, first * 2 ** (max(attempts, 1) - 1))
    return now + timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


def parks(outcome: Outcome, attempts: int) -> bool:
    return outcome == Outcome.REFUSED or (outcome == Outcome.RETRY and attempts >= MAX_ATTEMPTS)


class ProvisionRecord(BaseModel):
    """提供・移転の記録: a message that left (or was given up on), kept with the person's record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str
    recipient: str
    kind: str
    legal_basis: str
    persons: list[str]
    fields: list[str]
    at: datetime
    outcome: Literal["delivered", "parked"]
    receipt: str | None = None
    error: str | None = Field(default=None, description="parked: the last error code")


# -- what a delivery carries ---------------------------------------------------------------------


def identity_data(record: PersonRecord, municipality: str, my_number: str | None) -> dict[str, Any]:
    """The 本人確認情報 of a version, as the CS receives it (docs/linkage.md)."""
    return {
        "person_id": record.person_id,
        "resident_code": record.resident_code,
        "my_number": my_number,
        "name": f"{record.name.family_name}　{record.name.given_name}",
        "name_kana": f"{record.name.family_name_kana}　{record.name.given_name_kana}",
        "birth_date": record.birth_date.isoformat(),
        "sex": record.sex.value,
        "address": address_text(municipality, record.address),
        "status": record.status.value,
        "reason": record.movement_kind.value,
        "effective_date": record.effective_date.isoformat(),
    }


def platform_view(record: PersonRecord, head_person_id: str | None) -> dict[str, Any]:
    """Everything a recipient system could be approved for; a delivery takes its fields from it."""
    record_json = record.model_dump(mode="json")
    return {
        "person_id": record.person_id,
        "household_id": record.household_id,
        "name": record_json["name"],
        "name_kana": record.name.reading,
        "birth_date": record.birth_date.isoformat(),
        "sex": record.sex.value,
        "address": record_json["address"],
        "relationship": record.relationship,
        "head_person_id": head_person_id,
        "status": record.status.value,
        "resident_since": record.resident_since.isoformat(),
        "removal": record_json["removal"],
        "foreign_resident": record_json["foreign_resident"],
        "qualifications": record_json["qualifications"],
        "effective_date": record.effective_date.isoformat(),
        "movement_kind": record.movement_kind.value,
    }


def delivery_data(
    message: OutboundMessage,
    record: PersonRecord,
    municipality: str,
    *,
    my_number: str | None = None,
    head_person_id: str | None = None,
    approved_fields: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The ``data`` of a delivery: exactly the fields the message names (for a platform recipient,
    those still approved at delivery), never more."""
    if message.stream == Stream.IDENTITY:
        full = identity_data(record, municipality, my_number)
    elif message.stream in {Stream.INTERMEDIATE_CODE, Stream.INTERMEDIATE_LINK}:
        full = {"my_number": my_number}
    elif message.stream in {Stream.KOSEKI_NOTICE, Stream.MOVE_IN_NOTICE, Stream.MY_NUMBER}:
        full = {
            **identity_data(record, municipality, None),
            "koseki": record.koseki.model_dump(mode="json") if record.koseki else None,
            "previous_address": other_address_text(record.previous_address)
            if record.previous_address
            else None,
            "moved_in_date": record.effective_date.isoformat(),
        }
    elif message.stream == Stream.INTERMEDIATE_COPY:
        full = platform_view(record, head_person_id)
    elif message.stream == Stream.KOSEKI_ANSWER:
        return {
            "person_id": record.person_id,
            "inquiry_id": message.reference,
            "resident_code": record.resident_code,
        }
    else:
        full = platform_view(record, head_person_id)
        allowed = set(approved_fields)
        return {name: full[name] for name in message.fields if name in allowed}
    return {"person_id": record.person_id, **{name: full[name] for name in message.fields}}
