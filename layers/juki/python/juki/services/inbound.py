"""Inbound linkage: the files peers leave in the drop zone, each applied at most once.

A file is ``inbound/<peer>/<YYYY-MM-DD>/<message_id>.json`` holding the envelope
``{"message_id", "kind", "sent_at", "data"}`` (docs/linkage.md, "Inbound messages"). Each step
takes the first files in key order; for each:

1. the envelope and its data are read and validated; a file that cannot be read, of a kind not
   known, or whose data is refused (by validation or by the ledger's rules) is moved to
   ``rejected/...`` with a reason file next to it, and the run goes on (but a refusal of a message
   found marked once refused is a duplicate: another run applied it meanwhile); a file whose handling
   fails for any other reason (a KMS fault of the vault, a bug) is left where it is for the next
   run and reported as failed (by key and error type), and the run goes on too: only a fault of
   our own table or a lost race fails the step (the machine retries it);
2. the effect is applied, with the mark ``INBOX#<peer>#<message_id>`` in the same transaction
   where the effect is a ledger write (a movement), so a file read twice (a retried step, two
   runs at once) has its effect once; a message found marked is not applied again;
3. what follows the effect and is itself safe to repeat (the 送付先情報 file, named by the
   message) is done, then the file is moved to ``processed/...`` (copy, then delete: a crash
   between leaves the file to be read again, and the mark says it was applied).

A run pages through the drop zone with a cursor (the last key it looked at), so files left in
place never hold back the ones after them. Nothing here logs or returns the data: the answer
names files by peer and message id, with codes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from juki.domain.commands import (
    Correction,
    ForeignResidentChange,
    MoveOut,
    MoveOutConfirmation,
    MyNumberChange,
    PersonChanges,
    QualificationChange,
    QualificationGroup,
)
from juki.domain.errors import Conflict, DomainError
from juki.domain.linkage import OutboundMessage, koseki_answer
from juki.domain.model import Movement
from juki.domain.my_number import MyNumberInput, MyNumberVault
from juki.domain.oplog import OperationLogEntry, entry_for
from juki.domain.record_items import ForeignResident, KosekiDomicile
from juki.domain.records import PersonRecord
from juki.domain.retention import MoveOutCertificate, RetentionPolicy, move_out_certificate_due_on
from juki.domain.search import CardNumber, text_key
from juki.domain.staff import SystemActor
from juki.domain.values import (
    Day,
    MovementKind,
    OtherAddress,
    PersonName,
    RecordId,
    ResidentCode,
    ResidentStatus,
    ShortText,
)
from juki.services.movements import MovementService
from juki.services.ports import Clock

INBOUND_PREFIX = "inbound/"
PROCESSED_PREFIX = "processed/"
REJECTED_PREFIX = "rejected/"
STEP_FILES = 20  # files per step: each takes a few DynamoDB and KMS calls
FUNCTION = "linkage.receive"
ACTOR_NAME = "linkage-cs"  # the CS's movements; other peers act as ``linkage-<peer>``
KOSEKI_MISMATCH = "KOSEKI_MISMATCH"
KOSEKI_MATCH = "KOSEKI_MATCH"
RESIDENT_CODE_ANSWERED = "RESIDENT_CODE_ANSWERED"
ONLINE_ACTOR_NAME = "online-application"  # 申請管理: drafts only
MESSAGE_ID = r"[0-9A-Za-z][0-9A-Za-z_-]{0,99}"
_KEY = re.compile(
    rf"^inbound/(?P<peer>[a-z][a-z0-9_-]{{0,31}})/(?P<day>\d{{4}}-\d{{2}}-\d{{2}})/(?P<id>{MESSAGE_ID})\.json$"
)


# -- what the service needs from the outside ----------------------------------------------------


class DropZone(Protocol):
    def first(self, prefix: str, limit: int, after: str | None = None) -> tuple[list[str], bool]:
        """The first ``limit`` keys under ``prefix`` in key order (those after ``after`` only, if
        given), and whether more follow."""

    def read(self, key: str) -> bytes | None:
        """The file's content; None if it is gone (another run moved it meanwhile)."""

    def move(self, key: str, to_key: str, body: bytes | None = None) -> None:
        """Writes ``body`` (or, if None, a copy of the file) at ``to_key``, then deletes every
        version of ``key`` (the bucket is versioned: a delete marker alone would keep the data).
        Each part is safe to repeat."""

    def delete(self, key: str) -> None:
        """Deletes every version of ``key`` (safe to repeat)."""

    def put_json(self, key: str, body: dict[str, Any]) -> None: ...


class Inbox(Protocol):
    def received(self, source_id: str) -> bool:
        """Is the mark of ``<peer>#<message_id>`` there (the message applied)?"""

    def mark_received(self, source_id: str, at: datetime) -> None:
        """Writes the mark alone (a mark already there stands)."""

    def resident_code_holder(self, code: str) -> str | None: ...

    def get_person(self, person_id: str) -> PersonRecord | None: ...

    def card_holder(self, card_number: str) -> str | None:
        """The resident whose current record holds this 在留カード等の番号, if exactly one does."""

    def mark_logged(self, source_id: str, entry: OperationLogEntry) -> bool:
        """The mark and a log entry in one transaction (a message whose only effect is the log
        entry); False if the mark was there already (nothing written)."""

    def named(self, family_name: str, given_name: str, birth_date: date) -> list[str]:
        """The ids of the persons some version of whom had this name (kanji, as compared by
        ``juki.domain.search.text_key``) and birth date: candidates, to be read and checked."""


class Answers(Protocol):
    def add_delivery(self, message: OutboundMessage) -> bool:
        """Puts an answer in the outbox for the dispatcher, once by its id (False if it was there)."""


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


class ForeignResidentNotice(BaseModel):
    """法第30条の50の通知 (法務省): the foreign resident's items changed (在留資格, 期間, カード)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    card_number: CardNumber = Field(description="今の在留カード等の番号")
    foreign_resident: ForeignResident
    effective_date: Day
    notified_date: Day


class ResidentEntryNotice(BaseModel):
    """住民票記載事項通知 (住基法第9条第2項, from the 本籍地): the 戸籍 changed the 本籍・筆頭者 or
    the name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resident_code: ResidentCode
    koseki: KosekiDomicile
    name: PersonName | None = None
    effective_date: Day
    notified_date: Day


class DomicileCheckNotice(BaseModel):
    """本籍照合通知: the 本籍地 states the 本籍・筆頭者 it holds, for us to compare."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resident_code: ResidentCode
    koseki: KosekiDomicile


class ResidentCodeInquiry(BaseModel):
    """住民票コード照会 (from the 本籍地's 戸籍附票 side): whose 住民票コード is it, by name, birth
    date and 本籍. ``inquiry_id`` is the 本籍地's reference, returned with the answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inquiry_id: str = Field(pattern=r"^[0-9A-Za-z_-]{1,64}$")
    name: PersonName
    birth_date: Day
    koseki: KosekiDomicile


class QualificationNotice(BaseModel):
    """A qualification set or ended by a department's system, through the 共通基盤."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    person_id: RecordId
    group: QualificationGroup
    value: dict[str, Any] | None
    source_system: ShortText
    effective_date: Day
    notified_date: Day


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


@dataclass(frozen=True)
class Failure:
    """A file left in place after an unexpected fault: by key and the error's type only."""

    key: str
    error: str


@dataclass(frozen=True)
class FollowUp:
    """Something a clerk must look at (``KOSEKI_MISMATCH``), by code and person id only."""

    code: str
    person_id: str
    peer: str
    message_id: str


Applier = Callable[[InboundFile, Envelope, bool], "FollowUp | None"]
"""Applies one kind: (the file, its envelope, whether its mark was found) → what a clerk must
look at, if anything."""


@dataclass
class StepOutcome:
    applied: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    more: bool = False
    last_key: str | None = None  # the cursor: the next step of the run starts after it


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
        answers: Answers,
        policy: RetentionPolicy,
        municipality: Municipality,
        clock: Clock,
        vault: MyNumberVault,
        storage_faults: tuple[type[Exception], ...] = (),
    ) -> None:
        """``storage_faults``: faults of our own table, which fail the step (retried) instead of
        leaving the file for the next run."""
        self._vault = vault
        self._storage_faults = storage_faults
        self._zone = drop_zone
        self._inbox = inbox
        self._movements = movements
        self._certificates = certificates
        self._sending = sending_addresses
        self._answers = answers
        self._policy = policy
        self._municipality = municipality
        self._clock = clock
        self._kinds: dict[tuple[str, str], Applier] = {
            ("cs", "move_out_certificate"): self._move_out_certificate,
            ("cs", "move_in.notice"): self._move_in_notice,
            ("cs", "my_number.designated"): self._my_number_designated,
            ("application", "move_out.online"): self._online_move_out,
            ("moj", "foreign_resident.notice"): self._foreign_resident_notice,
            ("koseki", "resident_entry.notice"): self._resident_entry_notice,
            ("koseki", "domicile_check.notice"): self._domicile_check_notice,
            ("koseki", "resident_code.inquiry"): self._resident_code_inquiry,
            ("platform", "qualification.changed"): self._qualification_changed,
        }

    def step(self, limit: int = STEP_FILES, after: str | None = None) -> StepOutcome:
        """One bounded batch of the drop zone in key order, after ``after`` (the cursor of the run
        so far). A fault of our table or a lost race propagates (the step is retried, and each
        file is safe to read again); a bad file never does, nor one that fails otherwise."""
        keys, more = self._zone.first(INBOUND_PREFIX, limit, after)
        outcome = StepOutcome(more=more, last_key=keys[-1] if keys else after)
        for key in keys:
            self._one(key, outcome)
        return outcome

    def _one(self, key: str, outcome: StepOutcome) -> None:
        try:
            self._handled(key, outcome)
        except Conflict:
            raise  # a race: the step is retried and looks again
        except Exception as error:
            if isinstance(error, self._storage_faults):
                raise
            outcome.failed.append(Failure(key, type(error).__name__))  # left for the next run

    def _handled(self, key: str, outcome: StepOutcome) -> None:
        match = _KEY.match(key)
        file = InboundFile(key, match["peer"], match["day"], match["id"]) if match else None
        body = self._zone.read(key)
        if body is None:
            return  # moved by a run at the same time
        if file is None:
            self._reject(key, file, "INBOUND_KEY_INVALID", outcome, body)
            return
        try:
            envelope, apply = self._opened(file, body)
        except InboundRejected as refused:
            self._reject(key, file, refused.code, outcome, body)
            return
        already = self._inbox.received(file.source_id)
        follow_up: FollowUp | None = None
        try:
            follow_up = apply(file, envelope, already)
        except ValidationError:
            self._reject(key, file, "INBOUND_DATA_INVALID", outcome, body)
            return
        except Conflict:
            raise  # a race: the step is retried and looks again
        except DomainError as refused:  # the reason is the rule's own code (NO_MOVE_OUT, ...)
            # Two runs at once (one per object event) read the same file: the one that read the
            # ledger before the other committed is refused by the effect itself (NOTHING_CHANGES,
            # ...). The mark, written with the effect, tells it apart from a real refusal.
            if not (already or self._inbox.received(file.source_id)):
                code = refused.issues[0].code if refused.issues else refused.code
                self._reject(key, file, code, outcome, body)
                return
            already = True
        if already:
            outcome.duplicates += 1
        else:
            outcome.applied += 1
        if follow_up is not None:
            outcome.follow_ups.append(follow_up)
        self._set_aside(key, PROCESSED_PREFIX + file.rest, body)

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

    def _set_aside(self, key: str, to_key: str, body: bytes) -> None:
        """Keeps the file at ``to_key`` with every 個人番号 in it blanked; a file that is not a JSON
        object is not kept at all (nothing could tell what in it is a 個人番号)."""
        kept = _redacted(body)
        if kept is None:
            self._zone.delete(key)
        else:
            self._zone.move(key, to_key, kept)

    def _reject(
        self, key: str, file: InboundFile | None, code: str, outcome: StepOutcome, body: bytes
    ) -> None:
        """Moves the file aside (blanked, see ``_set_aside``) with a reason next to it (the code,
        never the data)."""
        rest = file.rest if file else key.removeprefix(INBOUND_PREFIX)
        self._zone.put_json(
            f"{REJECTED_PREFIX}{rest}.reason.json",
            {"code": code, "rejected_at": self._clock.now().isoformat(), "key": key},
        )
        self._set_aside(key, REJECTED_PREFIX + rest, body)
        outcome.rejected.append(
            Rejection(key, file.peer if file else None, file.message_id if file else None, code)
        )

    # -- the kinds -------------------------------------------------------------------------------
    def _actor(self, file: InboundFile) -> SystemActor:
        name = ACTOR_NAME if file.peer == "cs" else f"linkage-{file.peer}"
        return SystemActor(name=name, request_id=file.source_id)

    def _person_by_code(self, code: str, field_name: str = "resident_code") -> PersonRecord:
        person_id = self._inbox.resident_code_holder(code)
        person = self._inbox.get_person(person_id) if person_id else None
        if person is None:
            raise InboundRejected("RESIDENT_CODE_UNKNOWN", "住民票コードの住民が見つかりません", field_name)
        return person

    def _foreign_resident_notice(self, file: InboundFile, envelope: Envelope, already: bool) -> None:
        """法務省の通知 (法第30条の50): the person found by the card they hold now, the new items
        applied by a system movement (在留資格等の変更)."""
        if already:
            return  # the card may have changed with it: never looked up again
        notice = ForeignResidentNotice.model_validate(envelope.data)
        person_id = self._inbox.card_holder(notice.card_number)
        if person_id is None:
            raise InboundRejected(
                "CARD_NUMBER_UNKNOWN", "在留カード等の番号の住民が見つかりません", "card_number"
            )
        command = ForeignResidentChange(
            kind=MovementKind.FOREIGN_RESIDENT_CHANGE,
            person_id=person_id,
            reason="status_change",
            foreign_resident=notice.foreign_resident,
            effective_date=notice.effective_date,
            notified_date=notice.notified_date,
        )
        self._movements.apply_received(command, self._actor(file), file.source_id)

    def _resident_entry_notice(self, file: InboundFile, envelope: Envelope, already: bool) -> None:
        """住民票記載事項通知: the 本籍・筆頭者 (and the name, if it changed) put right by a system
        職権修正. A record that already says so is marked applied without a new version."""
        if already:
            return
        notice = ResidentEntryNotice.model_validate(envelope.data)
        person = self._person_by_code(notice.resident_code)
        if person.foreign_resident is not None:
            raise InboundRejected("NOT_JAPANESE_RESIDENT", "日本人住民ではありません", "resident_code")
        if person.koseki == notice.koseki and notice.name in (None, person.name):
            self._inbox.mark_received(file.source_id, self._clock.now())  # said again: done
            return
        command = Correction(
            kind=MovementKind.CORRECTION,
            basis="ex_officio",
            person_id=person.person_id,
            changes=PersonChanges(koseki=notice.koseki, name=notice.name),
            reason="住民票記載事項通知 (本籍地から)",
            effective_date=notice.effective_date,
            notified_date=notice.notified_date,
        )
        self._movements.apply_received(command, self._actor(file), file.source_id)

    def _domicile_check_notice(self, file: InboundFile, envelope: Envelope, already: bool) -> FollowUp | None:
        """本籍照合通知: compared with the record, nothing written to it. The result (match or
        mismatch, never the values) is a log entry written with the mark; a mismatch is left for a
        clerk to follow up (``KOSEKI_MISMATCH``, by person id)."""
        if already:
            return None
        notice = DomicileCheckNotice.model_validate(envelope.data)
        person = self._person_by_code(notice.resident_code)
        code = KOSEKI_MATCH if _same_domicile(person.koseki, notice.koseki) else KOSEKI_MISMATCH
        entry = entry_for(
            self._actor(file), entry_id=f"{file.source_id}:check", at=self._clock.now(), function=FUNCTION,
            action="read", persons=[person.person_id], subject="koseki_check", code=code,
        )  # fmt: skip
        if self._inbox.mark_logged(file.source_id, entry) and code == KOSEKI_MISMATCH:
            return FollowUp(code, person.person_id, file.peer, file.message_id)
        return None

    def _resident_code_inquiry(self, file: InboundFile, envelope: Envelope, already: bool) -> None:
        """住民票コード照会: the one current resident with this name (kanji), birth date and 本籍
        answers; none or several is a refusal (``PERSON_NOT_FOUND``, ``PERSON_AMBIGUOUS``: the
        戸籍 side then asks by other means). The answer goes out through the dispatcher (the CS,
        to the 本籍地), put in the outbox before the mark and the log entry, under an id derived
        from this message's, so a file read again adds it once."""
        if already:
            return
        inquiry = ResidentCodeInquiry.model_validate(envelope.data)
        person = self._inquired(inquiry)
        answer = koseki_answer(
            f"answer.{file.peer}.{file.message_id}", person, inquiry.inquiry_id, self._clock.now()
        )
        self._answers.add_delivery(answer)
        entry = entry_for(
            self._actor(file), entry_id=f"{file.source_id}:inquiry", at=self._clock.now(), function=FUNCTION,
            action="read", persons=[person.person_id], subject="resident_code_inquiry",
            code=RESIDENT_CODE_ANSWERED,
        )  # fmt: skip
        self._inbox.mark_logged(file.source_id, entry)

    def _inquired(self, inquiry: ResidentCodeInquiry) -> PersonRecord:
        """The current resident the inquiry names: their current record, not an older version,
        must hold the name, birth date and 本籍 (compared as ``domicile_check.notice`` does)."""
        name = inquiry.name
        candidates = self._inbox.named(name.family_name, name.given_name, inquiry.birth_date)
        found = [
            person
            for person in (self._inbox.get_person(person_id) for person_id in candidates)
            if person is not None
            and person.status == ResidentStatus.RESIDENT
            and text_key(person.name.family_name) == text_key(name.family_name)
            and text_key(person.name.given_name) == text_key(name.given_name)
            and person.birth_date == inquiry.birth_date
            and _same_domicile(person.koseki, inquiry.koseki)
        ]
        if not found:
            raise InboundRejected("PERSON_NOT_FOUND", "照会の住民が見つかりません", "name")
        if len(found) > 1:
            raise InboundRejected("PERSON_AMBIGUOUS", "照会の住民を一人に特定できません", "name")
        return found[0]

    def _qualification_changed(self, file: InboundFile, envelope: Envelope, already: bool) -> None:
        """資格情報 from a department's system: a movement of its own that sets one group (merged
        into the record at commit). The same value again is marked applied, no new version."""
        if already:
            return
        notice = QualificationNotice.model_validate(envelope.data)
        command = QualificationChange(
            kind=MovementKind.QUALIFICATION_CHANGE,
            person_id=notice.person_id,
            group=notice.group,
            value=notice.value,  # read as its group's model by the command
            source_system=notice.source_system,
            effective_date=notice.effective_date,
            notified_date=notice.notified_date,
        )
        person = self._inbox.get_person(notice.person_id)
        if person is not None and getattr(person.qualifications, notice.group) == command.value:
            self._inbox.mark_received(file.source_id, self._clock.now())  # said again: done
            return
        self._movements.apply_received(command, self._actor(file), file.source_id)

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


def _redacted(body: bytes) -> bytes | None:
    """The file as kept after reading: every ``my_number`` in it, at any depth, is blanked (the
    ledger holds it sealed), so no plain number stays in the bucket. None (keep no copy) for a
    file that is not a JSON object: nothing could tell what in it is a 個人番号."""
    try:
        envelope = json.loads(body)
    except ValueError:
        return None
    if not isinstance(envelope, dict):
        return None
    return json.dumps(_blanked(envelope), ensure_ascii=False).encode()


def _blanked(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if key == "my_number" and item is not None else _blanked(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_blanked(item) for item in value]
    return value


def _same_domicile(held: KosekiDomicile | None, stated: KosekiDomicile) -> bool:
    """本籍 and 筆頭者 compared as written (NFKC, spaces ignored); the municipality code only when
    both name one."""
    if held is None:
        return False
    codes = (held.domicile_municipality_code, stated.domicile_municipality_code)
    return (
        text_key(held.domicile) == text_key(stated.domicile)
        and text_key(held.head) == text_key(stated.head)
        and (None in codes or codes[0] == codes[1])
    )


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
