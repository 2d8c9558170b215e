"""Inbound linkage: the files peers leave in the drop zone, each applied at most once.

A file is ``inbound/<peer>/<YYYY-MM-DD>/<message_id>.json`` holding the envelope
``{"message_id", "kind", "sent_at", "data"}`` (docs/linkage.md, "Inbound messages"). Each step
takes the first files in key order; for each:

1. the envelope and its data are read and validated; a file that cannot be read, of a kind not
   known, or whose data is refused (by validation or by the ledger's rules) is moved to
   ``rejected/...`` with a reason file next to it, and the run goes on;
2. the effect is applied, with the mark ``INBOX#<peer>#<message_id>`` in the same transaction
   where the effect is a ledger write (a movement), so a file read twice (a retried step, two
   runs at once) has its effect once; a message found marked is not applied again;
3. what follows the effect and is itself safe to repeat (the 送付先情報 file, named by the
   message) is done, then the file is moved to ``processed/...`` (copy, then delete: a crash
   between leaves the file to be read again, and the mark says it was applied).

Nothing here logs or returns the data: the answer names files by peer and message id, with codes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from juki.domain.commands import MoveOut, MoveOutConfirmation, MyNumberChange
from juki.domain.errors import Conflict, DomainError
from juki.domain.model import Movement
from juki.domain.my_number import MyNumberInput, MyNumberVault
from juki.domain.oplog import OperationLogEntry, entry_for
from juki.domain.records import PersonRecord
from juki.domain.retention import MoveOutCertificate, RetentionPolicy, move_out_certificate_due_on
from juki.domain.staff import SystemActor
from juki.domain.values import MovementKind, OtherAddress, RecordId, ResidentCode
from juki.services.movements import MovementService
from juki.services.ports import Clock

INBOUND_PREFIX = "inbound/"
PROCESSED_PREFIX = "processed/"
REJECTED_PREFIX = "rejected/"
STEP_FILES = 20  # files per step: each takes a few DynamoDB and KMS calls
FUNCTION = "linkage.receive"
ACTOR_NAME = "linkage-cs"
ONLINE_ACTOR_NAME = "online-application"  # 申請管理: drafts only
MESSAGE_ID = r"[0-9A-Za-z][0-9A-Za-z_-]{0,99}"
_KEY = re.compile(
    rf"^inbound/(?P<peer>[a-z][a-z0-9_-]{{0,31}})/(?P<day>\d{{4}}-\d{{2}}-\d{{2}})/(?P<id>{MESSAGE_ID})\.json$"
)


# -- what the service needs from the outside ----------------------------------------------------


class DropZone(Protocol):
    def first(self, prefix: str, limit: int) -> tuple[list[str], bool]:
        """The first ``limit`` keys under ``prefix`` in key order, and whether more follow."""

    def read(self, key: str) -> bytes | None:
        """The file's content; None if it is gone (another run moved it meanwhile)."""

    def move(self, key: str, to_key: str, body: bytes | None = None) -> None:
        """Writes ``body`` (or, if None, a copy of the file) at ``to_key``, then deletes every
        version of ``key`` (the bucket is versioned: a delete marker alone would keep the data).
        Each part is safe to repeat."""

    def put_json(self, key: str, body: dict[str, Any]) -> None: ...


class Inbox(Protocol):
    def received(self, source_id: str) -> bool:
        """Is the mark of ``<peer>#<message_id>`` there (the message applied)?"""

    def mark_received(self, source_id: str, at: datetime) -> None:
        """Writes the mark alone (a mark already there stands)."""

    def resident_code_holder(self, code: str) -> str | None: ...

    def get_person(self, person_id: str) -> PersonRecord | None: ...


class CertificateStore(Protocol):
    def receive(
        self, certificate: MoveOutCertificate, received_at: datetime, due_on: date, log: OperationLogEntry
    ) -> bool: ...


class SendingAddressFiles(Protocol):
    def put_once(self, name: str, body: bytes, created_at: datetime) -> bool:
        """Stores the file unless one of that name made that day is there; True if stored now."""


# -- envelopes and data ----------------------------------------------------------------------


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: str = Field(pattern=rf"^{MESSAGE_ID}$")
    kind: str = Field(max_length=64)
    sent_at: datetime
    data: dict[str, Any]


class MoveInNotice(BaseModel):
    """転入通知 from the new municipality."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resident_code: ResidentCode
    moved_in_date: date
    destination: OtherAddress
    notified_date: date


class OnlineMoveOut(BaseModel):
    """転出届 sent online (申請管理, マイナポータル): the applicant and the members moving, by their
    住民票コード (what the portal knows of them after the card's authentication)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    application_id: str = Field(pattern=r"^[0-9A-Za-z_-]{1,64}$")
    resident_codes: list[ResidentCode] = Field(min_length=1, max_length=20)
    planned_date: date
    notified_date: date
    destination: OtherAddress
    card_move_out: bool = True  # the portal's 転出届 is the 特例転出 (the card was used)


class MyNumberDesignated(BaseModel):
    """個人番号の指定 (the CS's answer to our request)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    person_id: RecordId
    resident_code: ResidentCode
    my_number: MyNumberInput = Field(repr=False)


class InboundRejected(DomainError):
    """The message cannot be applied (the file goes to ``rejected/``)."""


@dataclass(frozen=True)
class InboundFile:
    key: str
    peer: str
    day: str
    message_id: str

    @property
    def source_id(self) -> str:
        return f"{self.peer}#{self.message_id}"

    @property
    def rest(self) -> str:
        return self.key.removeprefix(INBOUND_PREFIX)


@dataclass(frozen=True)
class Rejection:
    """A rejected file, by ids and code only."""

    key: str
    peer: str | None
    message_id: str | None
    code: str


Applier = Callable[[InboundFile, Envelope, bool], None]
"""Applies one kind: (the file, its envelope, whether its mark was found)."""


@dataclass
class StepOutcome:
    applied: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    more: bool = False


# -- the service ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str


class InboundService:
    def __init__(
        self,
        drop_zone: DropZone,
        inbox: Inbox,
        movements: MovementService,
        certificates: CertificateStore,
        sending_addresses: SendingAddressFiles,
        *,
        policy: RetentionPolicy,
        municipality: Municipality,
        clock: Clock,
        vault: MyNumberVault,
    ) -> None:
        self._vault = vault
        self._zone = drop_zone
        self._inbox = inbox
        self._movements = movements
        self._certificates = certificates
        self._sending = sending_addresses
        self._policy = policy
        self._municipality = municipality
        self._clock = clock
        self._kinds: dict[tuple[str, str], Applier] = {
            ("cs", "move_out_certificate"): self._move_out_certificate,
            ("cs", "move_in.notice"): self._move_in_notice,
            ("cs", "my_number.designated"): self._my_number_designated,
            ("application", "move_out.online"): self._online_move_out,
        }

    def step(self, limit: int = STEP_FILES) -> StepOutcome:
        """One bounded batch of the drop zone, oldest key first. A fault of storage propagates
        (the step is retried, and each file is safe to read again); a bad file never does."""
        keys, more = self._zone.first(INBOUND_PREFIX, limit)
        outcome = StepOutcome(more=more)
        for key in keys:
            self._one(key, outcome)
        return outcome

    def _one(self, key: str, outcome: StepOutcome) -> None:
        match = _KEY.match(key)
        file = InboundFile(key, match["peer"], match["day"], match["id"]) if match else None
        body: bytes | None = None
        try:
            if file is None:
                raise InboundRejected("INBOUND_KEY_INVALID", "ファイル名が規約に合いません")
            body = self._zone.read(key)
            if body is None:
                return  # moved by a run at the same time
            envelope, apply = self._opened(file, body)
            already = self._inbox.received(file.source_id)
            apply(file, envelope, already)
        except ValidationError:
            self._reject(key, file, "INBOUND_DATA_INVALID", outcome, body)
            return
        except Conflict:
            raise  # a race: the step is retried and looks again
        except DomainError as refused:  # the reason is the rule's own code (NO_MOVE_OUT, ...)
            code = refused.issues[0].code if refused.issues else refused.code
            self._reject(key, file, code, outcome, body)
            return
        assert body is not None
        if already:
            outcome.duplicates += 1
        else:
            outcome.applied += 1
        self._zone.move(key, PROCESSED_PREFIX + file.rest, _redacted(body))

    def _opened(self, file: InboundFile, body: bytes) -> tuple[Envelope, Applier]:
        try:
            envelope = Envelope.model_validate_json(body)
        except ValidationError:
            raise InboundRejected("INBOUND_UNREADABLE", "読み取れないファイルです") from None
        if envelope.message_id != file.message_id:
            raise InboundRejected("INBOUND_ID_MISMATCH", "ファイル名と通知番号が一致しません", "message_id")
        apply = self._kinds.get((file.peer, envelope.kind))
        if apply is None:
            raise InboundRejected("INBOUND_KIND_UNKNOWN", "知らない種類の通知です", "kind")
        return envelope, apply

    def _reject(
        self, key: str, file: InboundFile | None, code: str, outcome: StepOutcome, body: bytes | None = None
    ) -> None:
        """Moves the file aside (its 個人番号 blanked, when it could be read) with a reason next to it
        (the code, never the data)."""
        rest = file.rest if file else key.removeprefix(INBOUND_PREFIX)
        self._zone.put_json(
            f"{REJECTED_PREFIX}{rest}.reason.json",
            {"code": code, "rejected_at": self._clock.now().isoformat(), "key": key},
        )
        self._zone.move(key, REJECTED_PREFIX + rest, _redacted(body) if body is not None else None)
        outcome.rejected.append(
            Rejection(key, file.peer if file else None, file.message_id if file else None, code)
        )

    # -- the kinds -------------------------------------------------------------------------------
    def _actor(self, file: InboundFile) -> SystemActor:
        return SystemActor(name=ACTOR_NAME, request_id=file.source_id)

    def _move_out_certificate(self, file: InboundFile, envelope: Envelope, already: bool) -> None:
        """転出証明書情報: stored once by its own id (the store's condition), then marked."""
        if already:
            return
        certificate = MoveOutCertificate.model_validate(envelope.data)
        now = self._clock.now()
        log = entry_for(
            self._actor(file), entry_id=f"{file.source_id}:receive", at=now, function=FUNCTION,
            action="create", subject=f"move_out_certificate:{certificate.certificate_id}",
        )  # fmt: skip
        due_on = move_out_certificate_due_on(certificate.planned_date, self._policy)
        self._certificates.receive(certificate, now, due_on, log)
        self._inbox.mark_received(file.source_id, now)

    def _move_in_notice(self, file: InboundFile, envelope: Envelope, already: bool) -> None:
        """転入通知: the 転出 confirmed by a movement the system enters, approves and commits."""
        if already:
            return
        notice = MoveInNotice.model_validate(envelope.data)
        person_id = self._inbox.resident_code_holder(notice.resident_code)
        if person_id is None:
            raise InboundRejected(
                "RESIDENT_CODE_UNKNOWN", "住民票コードの住民が見つかりません", "resident_code"
            )
        command = MoveOutConfirmation(
            kind=MovementKind.MOVE_OUT_CONFIRMATION,
            person_id=person_id,
            moved_in_date=notice.moved_in_date,
            destination=notice.destination,
            notified_date=notice.notified_date,
        )
        self._movements.apply_received(command, self._actor(file), file.source_id)

    def _online_move_out(self, file: InboundFile, envelope: Envelope, already: bool) -> None:
        """転出届 (online): saved as a draft for the counter to review and an approver to approve;
        never applied by the system itself."""
        if already:
            return
        notice = OnlineMoveOut.model_validate(envelope.data)
        person_ids = []
        for index, code in enumerate(notice.resident_codes):
            holder = self._inbox.resident_code_holder(code)
            if holder is None:
                raise InboundRejected(
                    "RESIDENT_CODE_UNKNOWN", "住民票コードの住民が見つかりません", f"resident_codes[{index}]"
                )
            person_ids.append(holder)
        command = MoveOut(
            kind=MovementKind.MOVE_OUT,
            person_ids=person_ids,
            planned_date=notice.planned_date,
            notified_date=notice.notified_date,
            destination=notice.destination,
            card_move_out=notice.card_move_out,
        )
        actor = SystemActor(name=ONLINE_ACTOR_NAME, request_id=file.source_id)
        self._movements.receive_draft(command, actor, file.source_id)
        self._inbox.mark_received(file.source_id, self._clock.now())

    def _my_number_designated(self, file: InboundFile, envelope: Envelope, already: bool) -> None:
        """個人番号の指定: recorded (sealed) by a system movement, then the 送付先情報 file written.
        Run again for a marked message too: the movement answers as it stands, and the file,
        named by the message and dated by the movement, is written only if it is missing."""
        designated = MyNumberDesignated.model_validate(envelope.data)
        person = self._inbox.get_person(designated.person_id)
        if person is None:
            raise InboundRejected("PERSON_NOT_FOUND", "住民が見つかりません", "person_id")
        if person.resident_code != designated.resident_code:
            raise InboundRejected("RESIDENT_CODE_MISMATCH", "住民票コードが一致しません", "resident_code")
        if not already and person.my_number is not None:
            if self._vault.open(person.my_number, person.person_id) == designated.my_number:
                self._inbox.mark_received(file.source_id, self._clock.now())  # said again: done
                return
            raise InboundRejected(
                "MY_NUMBER_ALREADY_RECORDED", "別の個人番号が記録されています (変更は窓口で)", "my_number"
            )
        today = self._clock.now().date()
        command = MyNumberChange(
            kind=MovementKind.MY_NUMBER_CHANGE,
            person_id=designated.person_id,
            my_number=designated.my_number,
            effective_date=today,
            notified_date=today,
        )
        movement = self._movements.apply_received(command, self._actor(file), file.source_id)
        recorded = self._inbox.get_person(designated.person_id)
        assert recorded is not None and movement.approved_at is not None
        record = sending_address_record(recorded, file.message_id, movement, self._municipality)
        body = json.dumps(record, ensure_ascii=False, sort_keys=True).encode()
        self._sending.put_once(f"{file.message_id}.json", body, movement.approved_at)


REDACTED = "(sealed in the ledger)"


def _redacted(body: bytes | None) -> bytes | None:
    """The file as kept after reading: a 個人番号 it carries is blanked (the ledger holds it
    sealed), so no plain number stays in the bucket. None (copy as is) for a file that is not a
    JSON object: it carries nothing this could find."""
    try:
        envelope = json.loads(body or b"")
    except ValueError:
        return None
    if not isinstance(envelope, dict):
        return None
    data = envelope.get("data")
    if isinstance(data, dict) and "my_number" in data:
        envelope["data"] = {**data, "my_number": REDACTED}
    return json.dumps(envelope, ensure_ascii=False).encode()


def sending_address_record(
    person: PersonRecord, message_id: str, movement: Movement, municipality: Municipality
) -> dict[str, Any]:
    """送付先情報 for J-LIS's 個人番号通知書 mailing: the items of 別添2 (3) the ledger holds.

    The mailing goes to the person at their recorded address (送付先 = the person). 別添2 (3)
    lists 個人番号 (item 50), so the record holds it, as the ledger does: sealed (the Encryption
    SDK message bound to the person), for the J-LIS adapter to open only when it delivers, as
    the CS messages are (docs/linkage.md); no plain number is ever stored. The file is specific
    personal information all the same, in the exchange bucket under its KMS key, purged by the
    retention job. Items the ledger
    does not hold (the municipality's office address and telephone, the 交付場所 and
    カード送付場所, print category, 外字 data) and the fixed-width lengths (項目長) are left out."""
    address = person.address
    line = f"{municipality.name}{address.ward}{address.town}{address.lot}"
    if address.katagaki:
        line += f" {address.katagaki}"
    name = f"{person.name.family_name} {person.name.given_name}"
    foreign = person.foreign_resident
    details = person.name_details
    record: dict[str, Any] = {
        "sending_management_number": message_id,  # 送付先管理番号
        "destination_postal_code": address.postal_code,  # 送付先郵便番号
        "destination_address": line,  # 送付先住所
        "destination_name": name,  # 送付先氏名
        "municipality_code": municipality.code,  # 市町村コード
        "municipality_name": municipality.name,  # 市町村名
        "persons": 1,  # 対象となる人数
        "processed_date": movement.approved_at.date().isoformat() if movement.approved_at else None,
        "operator_id": movement.approved_by,  # 操作者ID
        "resident_code": person.resident_code,  # 住民票コード
        "name": name,  # 氏名 漢字
        "name_kana": f"{person.name.family_name_kana} {person.name.given_name_kana}",  # 氏名 かな
        "postal_code": address.postal_code,
        "address": line,
        "birth_date": person.birth_date.isoformat(),
        "sex": person.sex.value,
        "my_number_sealed": person.my_number.model_dump() if person.my_number else None,  # 個人番号
        "foreign_resident_category": foreign.category.value if foreign else None,  # 第30条の45
        "period_of_stay_expiry": (
            foreign.expiry_date.isoformat() if foreign and foreign.expiry_date else None
        ),  # 在留期間の満了の日
        "former_surname": details.former_surname,  # 旧氏 漢字
        "former_surname_kana": details.former_surname_kana,  # 旧氏 ふりがな
        "romaji_name": details.romaji_name,  # ローマ字 氏名
        "romaji_former_surname": details.former_surname_romaji,  # ローマ字 旧氏
    }
    return {k: v for k, v in record.items() if v is not None}
