"""Application service for certificates (証明書の交付): at the counter and for the
certificate-issuing system (コンビニ交付).

Issuing is: load the records as of the day asked for, refuse what the rules refuse (a pending
draft, a restriction or support measure, an alert nobody acknowledged), word the documents
(``Composer``, the domain's ``certificate_rules.compose``), number them from the municipality's one
sequence, render one PDF (``Renderer``), store it, and only then write the 交付履歴 of every person
on it together with the operation-log entry in one transaction. A failure after the PDF is stored
leaves an unreferenced object, never an issuance without its log entry and history.

The composer and renderer are ports: this module imports neither the rules nor the PDF library.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Protocol, Self

from pydantic import BaseModel, Field, StringConstraints, model_validator

from juki.domain import movements as movement_rules
from juki.domain.certificates import (
    CertificateDocument,
    CertificateKind,
    CertificateRequest,
    CertificateSubject,
    FeeCategory,
    IssuedCertificate,
    IssueNumber,
    Layout,
    OptionalItem,
    RequesterKind,
)
from juki.domain.commands import Cancellation, MoveOut
from juki.domain.errors import Conflict, DomainError, Issue, NotFound
from juki.domain.model import Movement, MovementStatus
from juki.domain.my_number import MyNumberVault
from juki.domain.oplog import Action, OperationLogEntry, Outcome, entry_for
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.restrictions import Process, Restricted, enforce
from juki.domain.staff import Actor, Permission, SystemActor
from juki.domain.values import ResidentCode, ResidentStatus
from juki.services.access import require
from juki.services.ports import Clock, IdSource, OperationLog, RestrictionCheck

FUNCTION_ISSUE = "certificate.issue"
FUNCTION_KIOSK = "certificate.kiosk"  # the permission's function in the review report
MOVE_OUT_REQUESTER = "本人 (転出届の届出人)"
MOVE_OUT_PURPOSE = "転出届"
PRINT_MOVE_OUT = "move_out_certificate"  # the commit task's ``print``: the state machine prints it
PRINT_TASK = "movement-print"  # the state-machine task that prints, as it signs the log
LINK_SECONDS = 300  # the presigned link to the PDF: long enough to print, short enough to leak little
KIOSK_PURPOSE = "コンビニ交付 (本人がカードで請求)"
KIOSK_REQUESTER = "本人 (カード認証)"
ALERT_ACKNOWLEDGED = "ALERT_ACKNOWLEDGED"


# -- ports -------------------------------------------------------------------------------------


class Composer(Protocol):
    """``juki.domain.certificate_rules`` (the module itself): the records worded as certificates,
    and whose 個人番号 they print (opened by the caller, only those)."""

    def compose(
        self,
        request: CertificateRequest,
        subject: CertificateSubject,
        my_numbers: Mapping[str, str] | None = None,
    ) -> list[CertificateDocument]: ...

    def numbers_to_open(self, request: CertificateRequest, subject: CertificateSubject) -> list[str]: ...


class Rendered(Protocol):
    @property
    def pdf(self) -> bytes: ...

    @property
    def pages(self) -> int: ...


class Renderer(Protocol):
    """``juki.adapters.pdf.certificates.CertificatePdf``: one PDF, each document with its number."""

    def render(self, documents: list[CertificateDocument], numbers: list[IssueNumber]) -> Rendered: ...


class IssueCounter(Protocol):
    def next_sequences(self, count: int) -> list[int]:
        """``count`` consecutive numbers of the municipality's one sequence, never given twice."""


class CertificateFiles(Protocol):
    def store(self, issue_id: str, pdf: bytes) -> str:
        """Stores the PDF (encrypted at rest); returns its key."""

    def link(self, key: str, seconds: int) -> str:
        """A short-lived GET link to a stored PDF."""


class IssuanceRecords(Protocol):
    def save(
        self,
        records: dict[str, IssuedCertificate],
        acknowledged: list[str],
        log: OperationLogEntry,
        automatic: AutomaticIssuance | None = None,
    ) -> None:
        """One transaction: the 交付履歴 of every person on the certificate (person id → their
        record; the codes of the alerts acknowledged kept with it) and the operation-log entry;
        for the automatic 転出証明書 also its one item per movement, written only if absent (a
        second attempt fails the whole transaction with ``Conflict``)."""

    def automatic(self, movement_id: str) -> AutomaticIssuance | None:
        """The 転出証明書 printed automatically for a movement, if it was."""

    def for_person(self, person_id: str) -> list[IssuedCertificate]:
        """The person's 交付履歴, newest first."""


class PendingMovements(Protocol):
    def pending(self) -> list[Movement]:
        """Movements not yet final: drafts (仮登録) and approved ones being committed."""

    def get_movement(self, movement_id: str) -> Movement | None: ...


class LedgerAsOf(Protocol):
    def person_as_of(self, person_id: str, day: date) -> PersonRecord | None: ...

    def household_as_of(self, household_id: str, day: date) -> HouseholdRecord | None: ...

    def resident_code_holder(self, code: str) -> str | None:
        """The person a 住民票コード is recorded for, if any."""

    def get_movement(self, movement_id: str) -> Movement | None: ...

    def get_person(self, person_id: str) -> PersonRecord | None:
        """The latest version (a 転出 notified ahead of its date is already on it)."""


class RemovedArchive(Protocol):
    """Removed records moved out of the ledger after five years (除票の写し can still be issued)."""

    def person_as_of(self, person_id: str, day: date) -> PersonRecord | None: ...


class CardHolders(Protocol):
    def holders(self, card_serial: str) -> set[str]:
        """The person ids whose records (any version) carry this card number."""


@dataclass(frozen=True)
class Certifier:
    """Who the certificates name: the municipality, its code (in the issue number) and the mayor."""

    municipality_code: str
    municipality_name: str
    mayor_title_and_name: str


# -- requests and answers ----------------------------------------------------------------------


class KioskCertificateRequest(BaseModel):
    """証明発行システム (コンビニ交付) からの住民票の写しの請求: カードで本人確認した本人の請求."""

    model_config = {"frozen": True, "extra": "forbid"}

    card_serial: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{8,20}$")] | None = Field(
        default=None, description="本人確認した在留カード・特別永住者証明書の番号"
    )
    resident_code: ResidentCode | None = Field(
        default=None,
        description=(
            "個人番号カードで本人確認した場合: "
            "証明書交付センターが利用者証明用電子証明書から求めた住民票コード"
        ),
    )
    layout: Layout = Field(default=Layout.INDIVIDUAL, description="individual=本人のみ, household=世帯全員")
    items: list[OptionalItem] = Field(default_factory=list, description="記載を求める項目")
    fee_category: FeeCategory = Field(default=FeeCategory.PAID, description="手数料の区分 (公用は不可)")

    @model_validator(mode="after")
    def _one_identification(self) -> Self:
        if (self.card_serial is None) == (self.resident_code is None):
            raise ValueError("カードの番号か住民票コードのどちらか一方で本人を示してください")
        return self


class IssuedResult(BaseModel):
    """交付した証明書: PDF への短時間のリンクと、交付の記録."""

    issue_id: str = Field(description="交付ID")
    issue_numbers: list[str] = Field(description="交付番号 (証明書ごと)")
    kind: CertificateKind = Field(description="証明書の種類")
    layout: Layout = Field(description="様式")
    person_ids: list[str] = Field(description="記載した人")
    pages: int = Field(description="枚数")
    pdf_sha256: str = Field(description="PDF のハッシュ (SHA-256)")
    pdf_url: str | None = Field(
        default=None, description="PDF の署名付き URL (短時間だけ有効、個人番号を記載したものは保存せず null)"
    )
    expires_at: datetime | None = Field(default=None, description="URL の有効期限")
    pdf_base64: str | None = Field(
        default=None, description="個人番号を記載した PDF (保存せず、この応答でだけ渡す。Base64)"
    )
    as_of: date = Field(description="この日現在の内容")
    fee_category: FeeCategory = Field(description="手数料の区分")
    acknowledged_alerts: list[Issue] = Field(default_factory=list, description="確認したアラート")


class AutomaticIssuance(BaseModel):
    """The 転出証明書 printed automatically after a non-card 転出's 本登録: one per movement (the
    item that makes a retried print task return the first issuance). No personal data: ids,
    numbers and the hash."""

    model_config = {"frozen": True}

    movement_id: str = Field(description="異動番号")
    issue_id: str = Field(description="交付ID")
    issue_numbers: list[str] = Field(description="交付番号")
    person_ids: list[str] = Field(description="記載した人")
    pages: int = Field(description="枚数")
    pdf_sha256: str = Field(description="PDF のハッシュ (SHA-256)")
    pdf_key: str = Field(description="文書バケットのキー")
    issued_at: datetime = Field(description="交付日時")
    as_of: date = Field(description="この日現在の内容")


class CertificateHistoryList(BaseModel):
    person_id: str = Field(description="宛名番号")
    issuances: list[IssuedCertificate] = Field(description="交付履歴 (新しい順)")


class AcknowledgementRequired(DomainError):
    """An alert (抑止・支援措置) the person issuing must see and acknowledge before issuing."""

    status = 409

    def __init__(self, alerts: tuple[Issue, ...]) -> None:
        super().__init__(
            "ALERT_ACKNOWLEDGEMENT_REQUIRED",
            "抑止・支援措置のアラートがあります。内容を確認のうえ、確認済みとして請求し直してください",
            alerts[0].field,
            alerts,
        )


@dataclass(frozen=True)
class Issuer:
    """Who a certificate is issued by, as the 交付履歴 and the issue number name them: the staff
    member, their office and terminal. At the counter and the kiosk, the actor; for the automatic
    転出証明書, the approver at the terminal where the notice was taken."""

    staff_id: str
    office: str | None
    terminal: str

    @classmethod
    def of(cls, actor: Actor) -> Issuer:
        return cls(staff_id=actor.staff_id, office=actor.office, terminal=actor.terminal)


@dataclass(frozen=True)
class _Issued:
    result: IssuedResult
    automatic: AutomaticIssuance | None


@dataclass(frozen=True)
class _Loaded:
    day: date
    persons: list[PersonRecord]
    households: dict[str, HouseholdRecord]
    heads: dict[str, PersonRecord]


# -- the service -------------------------------------------------------------------------------


class CertificateService:
    def __init__(
        self,
        *,
        ledger: LedgerAsOf,
        movements: PendingMovements,
        restrictions: RestrictionCheck,
        composer: Composer,
        renderer: Renderer,
        counter: IssueCounter,
        files: CertificateFiles,
        records: IssuanceRecords,
        log: OperationLog,
        vault: MyNumberVault,
        cards: CardHolders,
        certifier: Certifier,
        clock: Clock,
        ids: IdSource,
        archive: RemovedArchive | None = None,
    ) -> None:
        self._ledger = ledger
        self._movements = movements
        self._restrictions = restrictions
        self._composer = composer
        self._renderer = renderer
        self._counter = counter
        self._files = files
        self._records = records
        self._log = log
        self._vault = vault
        self._cards = cards
        self._certifier = certifier
        self._clock = clock
        self._ids = ids
        self._archive = archive

    # -- the counter ---------------------------------------------------------------------------
    def issue(self, request: CertificateRequest, actor: Actor) -> IssuedResult:
        """交付 at the counter: alerts may be acknowledged by the person issuing (recorded)."""
        require(actor, Permission.CERTIFICATE_ISSUE)
        return self._issue(
            request, actor, Issuer.of(actor), channel="counter", function=FUNCTION_ISSUE
        ).result

    def issue_for_move_out(self, movement_id: str, actor: Actor) -> IssuedResult:
        """転出証明書 for a final 転出, issued at the counter (a reprint of the automatic one, under
        a new number): the people and the items come from the notice, not from a request. It
        prints the 個人番号 (施行令第23条), so it goes back in the answer only, never stored. A
        特例転出 (by the card) has none: the new municipality gets the 転出証明書情報 through the CS."""
        require(actor, Permission.CERTIFICATE_ISSUE)
        command = _final_move_out(self._ledger.get_movement(movement_id)).command
        assert isinstance(command, MoveOut)
        request = _move_out_request(command, without_my_number=False)
        return self._issue(
            request, actor, Issuer.of(actor), channel="counter", function=FUNCTION_ISSUE
        ).result

    # -- the 転出証明書 printed after the 本登録 (movement-approval state machine) ------------------
    def print_due(self, movement_id: str) -> str | None:
        """What the state machine prints after committing this movement: ``PRINT_MOVE_OUT`` for a
        final 転出 without the card, else nothing."""
        movement = self._ledger.get_movement(movement_id)
        command = movement.command if movement is not None else None
        if (
            movement is None
            or movement.status is not MovementStatus.FINAL
            or not isinstance(command, MoveOut)
            or command.card_move_out
        ):
            return None
        return PRINT_MOVE_OUT

    def print_move_out_certificate(self, movement_id: str, approval_id: str) -> AutomaticIssuance:
        """The 転出証明書 of a committed non-card 転出, issued once per movement however often the
        task runs: a retry after the issuance is answered with the first one; two attempts at
        once cannot both write (the per-movement item is conditional), the loser answers with
        the winner's. Issued by the approver (``approved_by``) at the terminal and office where
        the notice was entered (the movement's; where the resident is served and the counter's
        printer is); requester the person, purpose 「転出届」, fee exempt. Nobody is there to take
        a PDF in an answer, so it is stored, and a stored PDF never prints a 個人番号: this copy
        says it omits it (``without_my_number``); the counter reprints with it on request.
        Restrictions apply as at a kiosk: an alert refuses, since nobody here can acknowledge it."""
        done = self._records.automatic(movement_id)
        if done is not None:
            return done
        movement = _final_move_out(self._ledger.get_movement(movement_id))
        command = movement.command
        assert isinstance(command, MoveOut)
        if movement.approval_id != approval_id or movement.approved_by is None:
            raise Conflict("APPROVAL_MISMATCH", "決裁が一致しません", "approval_id")
        issuer = Issuer(staff_id=movement.approved_by, office=movement.office, terminal=movement.terminal)
        system = SystemActor(name=PRINT_TASK, request_id=approval_id)
        try:
            issued = self._issue(
                _move_out_request(command, without_my_number=True),
                system,
                issuer,
                channel="automatic",
                function=FUNCTION_ISSUE,
                movement=movement,
            )
        except Conflict:
            done = self._records.automatic(movement_id)
            if done is None:
                raise
            return done  # another attempt issued it first
        assert issued.automatic is not None, "a 転出証明書 without 個人番号 is always stored"
        return issued.automatic

    def automatic_move_out_certificate(self, movement_id: str, actor: Actor) -> IssuedResult:
        """The 転出証明書 printed after the 本登録, with a fresh five-minute link: the counter hands
        it over (or posts it). Logged as an export of the people on it, as any certificate link."""
        require(actor, Permission.CERTIFICATE_ISSUE)
        done = self._records.automatic(movement_id)
        if done is None:
            raise NotFound(
                "MOVE_OUT_CERTIFICATE_NOT_PRINTED",
                "この異動の転出証明書は印刷されていません (特例転出、本登録前、または印刷に失敗)",
                "movement_id",
            )
        now = self._clock.now()
        self._log.append(
            entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=now,
                function=FUNCTION_ISSUE,
                action="export",
                persons=done.person_ids,
                movement_id=movement_id,
                subject=f"certificate:{done.issue_id}",
            )
        )
        return IssuedResult(
            issue_id=done.issue_id,
            issue_numbers=done.issue_numbers,
            kind=CertificateKind.MOVE_OUT,
            layout=Layout.HOUSEHOLD,
            person_ids=done.person_ids,
            pages=done.pages,
            pdf_sha256=done.pdf_sha256,
            pdf_url=self._files.link(done.pdf_key, LINK_SECONDS),
            expires_at=now + timedelta(seconds=LINK_SECONDS),
            as_of=done.as_of,
            fee_category=FeeCategory.EXEMPT,
        )

    def history(self, person_id: str, actor: Actor) -> CertificateHistoryList:
        """交付履歴 of one person, newest first. Reading it is reading about the person: an
        error-level restriction on inquiry refuses it, as it refuses the record itself."""
        require(actor, Permission.CERTIFICATE_ISSUE)
        try:
            enforce(self._restrictions.check([person_id], [], Process.INQUIRY, self._clock.now()))
        except Restricted as refused:
            self._append(actor, FUNCTION_ISSUE, "read", [person_id], [], outcome="refused", code=refused.code)
            raise
        issuances = self._records.for_person(person_id)
        self._append(actor, FUNCTION_ISSUE, "read", [person_id], [])
        return CertificateHistoryList(person_id=person_id, issuances=issuances)

    # -- the certificate-issuing system (コンビニ交付) -------------------------------------------
    def issue_at_kiosk(self, request: KioskCertificateRequest, actor: Actor) -> IssuedResult:
        """住民票の写し for the resident the card identifies, asked by the person themself. An
        alert refuses (nobody at a kiosk may acknowledge it); every request is logged, a refused
        one too."""
        require(actor, Permission.KIOSK_ISSUE)
        today = self._clock.now().date()
        try:
            if request.fee_category is FeeCategory.OFFICIAL:
                raise DomainError(
                    "KIOSK_OFFICIAL_USE", "コンビニ交付では公用の請求はできません", "fee_category"
                )
            person = (
                self._card_holder(request.card_serial, today)
                if request.card_serial is not None
                else self._code_holder(request.resident_code or "", today)
            )
        except DomainError as refused:
            self._append(actor, FUNCTION_KIOSK, "export", [], [], outcome="refused", code=refused.code)
            raise
        members = [person.person_id]
        if request.layout is Layout.HOUSEHOLD:
            household = self._ledger.household_as_of(person.household_id, today)
            members = list(household.member_ids) if household else members
        certificate_request = CertificateRequest(
            kind=CertificateKind.RESIDENT_COPY,
            layout=request.layout,
            person_ids=members,
            items=request.items,
            requester_kind=RequesterKind.SELF,
            requester_name=KIOSK_REQUESTER,
            purpose=KIOSK_PURPOSE,
            fee_category=request.fee_category,
        )
        issued = self._issue(
            certificate_request, actor, Issuer.of(actor), channel="kiosk", function=FUNCTION_KIOSK
        )
        return issued.result

    # -- issuing -------------------------------------------------------------------------------
    def _issue(
        self,
        request: CertificateRequest,
        actor: Actor | SystemActor,
        issuer: Issuer,
        *,
        channel: str,
        function: str,
        movement: Movement | None = None,
    ) -> _Issued:
        """``actor`` signs the log entry, ``issuer`` is named in the issue number and the 交付履歴
        (the same person except for the automatic 転出証明書, where the task signs on behalf of the
        approver). ``movement``: the automatic print of that movement (one per movement)."""
        now = self._clock.now()
        today = now.date()
        day = request.as_of or today
        person_ids = list(request.person_ids)
        households: list[str] = []
        try:
            if day > today:
                raise DomainError("AS_OF_IN_FUTURE", "未来の日現在の証明書は交付できません", "as_of")
            loaded = self._load(person_ids, day, latest=request.kind is CertificateKind.MOVE_OUT)
            households = sorted(loaded.households)
            alerts = self._allowed(request, person_ids, households, now, unattended=channel != "counter")
            self._refuse_if_pending(person_ids, households)
            subject = self._subject(loaded, today)
            opened = self._opened(request, subject)
            documents = self._composer.compose(request, subject, opened)
        except DomainError as refused:
            self._append(
                actor, function, "export", person_ids, households, outcome="refused", code=refused.code
            )
            raise
        issue_id = self._ids.new_id()
        sequences = self._counter.next_sequences(len(documents))
        numbers = [
            IssueNumber(
                issued_on=today,
                municipality_code=self._certifier.municipality_code,
                terminal=issuer.terminal,
                sequence=sequence,
            )
            for sequence in sequences
        ]
        rendered = self._renderer.render(documents, numbers)
        digest = hashlib.sha256(rendered.pdf).hexdigest()
        shown = bool(opened)
        # A PDF that prints a 個人番号 is never stored (no 個人番号 at rest in plain text, even
        # under the bucket's key): it goes back in this answer only; the history keeps its hash.
        key = None if shown else self._files.store(issue_id, rendered.pdf)
        entry = entry_for(
            actor,
            entry_id=self._ids.new_id(),
            at=now,
            function=function,
            action="export",
            persons=person_ids,
            households=households,
            my_number_purpose=request.purpose if shown else None,
            subject=f"certificate:{issue_id}",
            code=ALERT_ACKNOWLEDGED if alerts else None,
            movement_id=movement.movement_id if movement is not None else None,
            approved_by=movement.approved_by if movement is not None else None,
        )
        records = _history_records(
            request,
            documents=documents,
            numbers=numbers,
            issue_id=issue_id,
            digest=digest,
            pages=rendered.pages,
            day=day,
            now=now,
            issuer=issuer,
            channel=channel,
        )
        result = IssuedResult(
            issue_id=issue_id,
            issue_numbers=[number.text for number in numbers],
            kind=request.kind,
            layout=request.layout,
            person_ids=person_ids,
            pages=rendered.pages,
            pdf_sha256=digest,
            pdf_url=self._files.link(key, LINK_SECONDS) if key else None,
            expires_at=now + timedelta(seconds=LINK_SECONDS) if key else None,
            pdf_base64=None if key else base64.b64encode(rendered.pdf).decode(),
            as_of=day,
            fee_category=request.fee_category,
            acknowledged_alerts=alerts,
        )
        automatic = (
            _automatic(movement.movement_id, result, key, now) if movement is not None and key else None
        )
        self._records.save(records, [alert.code for alert in alerts], entry, automatic)
        return _Issued(result=result, automatic=automatic)

    def _load(self, person_ids: list[str], day: date, *, latest: bool = False) -> _Loaded:
        """The people as of the day, with their households and heads. A 転出証明書 certifies the
        転出 as notified, usually ahead of its planned date: its people are read in their latest
        version (``latest``), the one that carries the 転出."""
        persons = [
            self._ledger.get_person(pid) if latest else self._person_on(pid, day) for pid in person_ids
        ]
        missing = [pid for pid, person in zip(person_ids, persons, strict=True) if person is None]
        if missing:
            raise NotFound("PERSON_NOT_FOUND", "その日の住民の記録が見つかりません", "person_ids")
        found = [person for person in persons if person is not None]
        households: dict[str, HouseholdRecord] = {}
        for household_id in dict.fromkeys(p.household_id for p in found):
            household = self._ledger.household_as_of(household_id, day)
            if household is not None:
                households[household_id] = household
        by_id = {p.person_id: p for p in found}
        heads: dict[str, PersonRecord] = {}
        for household_id, household in households.items():
            head_id = household.head_person_id
            head = by_id.get(head_id) if head_id else None
            if head_id and head is None:
                head = self._person_on(head_id, day)
            if head is not None:
                heads[household_id] = head
        return _Loaded(day=day, persons=found, households=households, heads=heads)

    def _person_on(self, person_id: str, day: date) -> PersonRecord | None:
        person = self._ledger.person_as_of(person_id, day)
        if person is None and self._archive is not None:
            person = self._archive.person_as_of(person_id, day)
        return person

    def _allowed(
        self,
        request: CertificateRequest,
        persons: list[str],
        households: list[str],
        now: datetime,
        *,
        unattended: bool,
    ) -> list[Issue]:
        """抑止・支援措置 for certificates: an error refuses (403); an alert refuses until the person
        issuing acknowledges it, which nobody can at a kiosk or in the automatic print (403)."""
        alerts = enforce(self._restrictions.check(persons, households, Process.CERTIFICATE, now))
        if alerts and unattended:
            raise Restricted(tuple(alerts))
        if alerts and not request.acknowledged_alerts:
            raise AcknowledgementRequired(tuple(alerts))
        return alerts

    def _refuse_if_pending(self, persons: Iterable[str], households: Iterable[str]) -> None:
        """A draft (or an approved movement not yet committed) that names a person, or a household
        the certificate prints, would change what it certifies: refused until it is decided."""
        person_set, household_set = set(persons), set(households)
        for movement in self._movements.pending():
            named_persons, named_households = self._named(movement)
            if person_set & named_persons or household_set & named_households:
                raise Conflict(
                    "DRAFT_PENDING",
                    "仮登録中の異動があるため証明書を交付できません。決裁または差戻しの後に交付してください",
                    "person_ids",
                )

    def _named(self, movement: Movement) -> tuple[set[str], set[str]]:
        command = movement.command
        if isinstance(command, Cancellation):
            undone = self._movements.get_movement(command.movement_id)
            if undone is None or undone.result is None:
                return set(), set()
            return set(undone.result.person_ids), set(undone.result.household_ids)
        refs = movement_rules.references(command)
        return set(refs.person_ids), set(refs.household_ids)

    def _subject(self, loaded: _Loaded, today: date) -> CertificateSubject:
        return CertificateSubject(
            as_of=loaded.day,
            today=today,
            municipality_name=self._certifier.municipality_name,
            mayor_title_and_name=self._certifier.mayor_title_and_name,
            persons=loaded.persons,
            households=loaded.households,
            heads=loaded.heads,
        )

    def _opened(self, request: CertificateRequest, subject: CertificateSubject) -> dict[str, str]:
        """The 個人番号 the certificate prints, opened now and only these; the plaintext lives in
        this request's memory alone."""
        sealed = {p.person_id: p.my_number for p in subject.persons}
        return {
            person_id: self._vault.open(number, person_id)
            for person_id in self._composer.numbers_to_open(request, subject)
            if (number := sealed.get(person_id)) is not None
        }

    def _card_holder(self, card_serial: str, today: date) -> PersonRecord:
        """The resident whose record, today, carries the card: a card recorded on an earlier version
        only (replaced, or the person moved out) finds nobody."""
        serial = card_serial.upper()
        found: list[PersonRecord] = []
        for person_id in sorted(self._cards.holders(serial)):
            person = self._ledger.person_as_of(person_id, today)
            card = person.foreign_resident.card_number if person and person.foreign_resident else None
            if person is not None and card == serial and person.status == ResidentStatus.RESIDENT:
                found.append(person)
        if len(found) != 1:
            raise NotFound("CARD_NOT_FOUND", "このカードの住民の記録が見つかりません", "card_serial")
        return found[0]

    def _code_holder(self, code: str, today: date) -> PersonRecord:
        """The resident a 住民票コード is recorded for (a 個人番号カード, resolved by the issuing center)."""
        person_id = self._ledger.resident_code_holder(code)
        person = self._ledger.person_as_of(person_id, today) if person_id else None
        if person is None or person.status != ResidentStatus.RESIDENT or person.resident_code != code:
            raise NotFound("CARD_NOT_FOUND", "このカードの住民の記録が見つかりません", "resident_code")
        return person

    def _append(
        self,
        actor: Actor | SystemActor,
        function: str,
        action: Action,
        persons: list[str],
        households: list[str],
        *,
        outcome: Outcome = "success",
        code: str | None = None,
    ) -> None:
        self._log.append(
            entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=self._clock.now(),
                function=function,
                action=action,
                persons=persons,
                households=households,
                outcome=outcome,
                code=code,
            )
        )


def _history_records(
    request: CertificateRequest,
    *,
    documents: Sequence[CertificateDocument],
    numbers: Sequence[IssueNumber],
    issue_id: str,
    digest: str,
    pages: int,
    day: date,
    now: datetime,
    issuer: Issuer,
    channel: str,
) -> dict[str, IssuedCertificate]:
    """One 交付履歴 record per person on the certificate, with the number of the document that
    carries them (個人票: their own; 世帯連記式: the household's)."""
    number_of: dict[str, str] = {}
    for document, number in zip(documents, numbers, strict=True):
        for printed in document.persons:
            number_of.setdefault(printed.person_id, number.text)
    fallback = numbers[0].text if numbers else ""
    return {
        person_id: IssuedCertificate(
            issue_id=issue_id,
            issue_number=number_of.get(person_id, fallback),
            kind=request.kind,
            layout=request.layout,
            person_ids=list(request.person_ids),
            items=list(request.items),
            requester_kind=request.requester_kind,
            requester_name=request.requester_name,
            purpose=request.purpose,
            fee_category=request.fee_category,
            as_of=day,
            pages=pages,
            pdf_sha256=digest,
            issued_at=now,
            staff_id=issuer.staff_id,
            office=issuer.office,
            terminal=issuer.terminal,
            channel=channel,
        )
        for person_id in request.person_ids
    }


def _final_move_out(movement: Movement | None) -> Movement:
    """The movement, if it is a final 転出 without the card; else the refusal that says why."""
    if movement is None:
        raise NotFound("MOVEMENT_NOT_FOUND", "異動が見つかりません", "movement_id")
    command = movement.command
    if not isinstance(command, MoveOut):
        raise DomainError("NOT_MOVE_OUT", "転出の異動ではありません", "movement_id")
    if command.card_move_out:
        raise DomainError("CARD_MOVE_OUT", "特例転出には転出証明書を交付しません", "movement_id")
    if movement.status is not MovementStatus.FINAL:
        raise Conflict("MOVEMENT_NOT_FINAL", "本登録の済んでいない転出です", "movement_id")
    return movement


def _move_out_request(command: MoveOut, *, without_my_number: bool) -> CertificateRequest:
    """The 転出証明書 of a notice: its people, on one certificate, asked by the person, free."""
    return CertificateRequest(
        kind=CertificateKind.MOVE_OUT,
        layout=Layout.HOUSEHOLD,
        person_ids=command.person_ids,
        requester_kind=RequesterKind.SELF,
        requester_name=MOVE_OUT_REQUESTER,
        purpose=MOVE_OUT_PURPOSE,
        fee_category=FeeCategory.EXEMPT,
        without_my_number=without_my_number,
    )


def _automatic(movement_id: str, result: IssuedResult, key: str, issued_at: datetime) -> AutomaticIssuance:
    return AutomaticIssuance(
        movement_id=movement_id,
        issue_id=result.issue_id,
        issue_numbers=result.issue_numbers,
        person_ids=result.person_ids,
        pages=result.pages,
        pdf_sha256=result.pdf_sha256,
        pdf_key=key,
        issued_at=issued_at,
        as_of=result.as_of,
    )
