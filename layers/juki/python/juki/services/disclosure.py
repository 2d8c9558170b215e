"""開示請求 (disclosure request): for one person, everything the system holds about them, as a report
the privacy officer hands over (JSON for the file, PDF for the person).

What the report gathers, and how each part is found without a scan:

- every version of the person's record (``person_history``: one Query on the person's partition);
- the households they were in: every version of each household named by one of their versions
  (one Query per household), reduced to what concerns them: the household, its head, their
  relationship and the dates. Other members are not listed (they are other people's data);
- the movements that touched them: exactly those that wrote a version of their record (each
  version names its movement), one GetItem each; a draft that was rejected or refused at commit
  wrote nothing and is not in the ledger's history of the person (it is in the operation log);
- the restrictions (抑止) and support measures (支援措置) on them and on their households;
- their 個人番号, opened with the vault: the person's own number is shown to the person, and the
  log entry says so, with the purpose 「開示請求」;
- the provisions and transfers of their data (提供・移転): the linkage messages in the outbox. Their
  ids derive from the movement and the record version (``juki.domain.linkage.messages_for``), so the
  messages are read by key (one BatchGetItem), never by scanning the outbox;
- the certificate issuance history, through a port that today has no source: the report says so
  explicitly rather than showing an empty list as if nothing had been issued.

A restriction or support measure does not block a person's own disclosure; the request instead
names the requester and the identity document checked, and both go into the report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, Field

from juki.domain.errors import Forbidden, NotFound
from juki.domain.linkage import PENDING, ProvisionRecord, Recipient, event_id
from juki.domain.model import Movement
from juki.domain.my_number import MyNumberVault, SealedMyNumber
from juki.domain.oplog import entry_for
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.restrictions import Restriction, SupportMeasure, in_force
from juki.domain.staff import Actor, Permission
from juki.domain.values import HouseholdStatus, MovementKind, OptionalText, ShortText
from juki.services.access import require
from juki.services.history import full_history
from juki.services.ports import Clock, IdSource, OperationLog, RecordArchiveReader

FUNCTION = "disclosure.prepare"
MY_NUMBER_PURPOSE = "開示請求"
PDF_LINK_SECONDS = 300  # the presigned link to the PDF: long enough to open it, no longer

# 提供 (to a body outside the municipality) or 移転 (to another of its departments), per recipient.
RECIPIENTS: dict[str, tuple[str, str]] = {
    Recipient.CS.value: (
        "provision",
        "住基ネット (市町村CS を通じて地方公共団体情報システム機構・他の市町村へ)",
    ),
    Recipient.ROUTER.value: ("transfer", "送信の準備中 (送信先はまだ決まっていません)"),
}
PLATFORM_NAME = "共通基盤システムを通じて庁内の業務システム ({system}) へ"
MESSAGE_KINDS = {
    "record.version": "記録の変更 (送信先の振り分け前)",
    "identity.created": "本人確認情報の新規 (記載)",
    "identity.changed": "本人確認情報の変更",
    "identity.removed": "本人確認情報の消除",
    "move_in.notice": "転入通知",
    "koseki.notice": "戸籍の附票記載事項通知",
    "my_number.request": "個人番号の指定請求",
    "resident.changed": "住民記録の異動の通知",
}

CERTIFICATES_NOT_ISSUED = (
    "このシステムはまだ証明書 (住民票の写し・記載事項証明書など) を交付していないため、"
    "交付履歴の記録元がありません。交付の記録は「記録なし」ではなく「記録元なし」です。"
)
NOTES = (
    "異動は、この方の住民票に版を記録したもの (本登録されたもの) を載せています。"
    "差し戻された異動・本登録できなかった異動は台帳に記録されず、操作ログにだけ残ります。",
    "世帯は、この方が属した世帯の各版のうち、この方に関わる事項 (世帯番号・世帯主・続柄・日付) だけを"
    "載せています。他の世帯員の情報は載せていません。",
    "提供・移転は、送信した記録 (送信先・根拠法令・項目・日時・結果) と、まだ送信先の決まっていない"
    "変更の通知です。通知は記録の番号と版だけを持ち、送信時に台帳から内容を読みます。",
    "抑止の理由と覚書・備考は庁内用の記載です。開示しない部分 (不開示情報) の判断は担当者が行ってください。",
)


# -- the request ---------------------------------------------------------------------------------


class DisclosureRequest(BaseModel):
    """開示請求の受付: who asked, and how their identity was checked."""

    requester: ShortText = Field(description="請求者 (本人、または法定代理人・任意代理人の氏名と資格)")
    identity_document: ShortText = Field(
        description="確認した本人確認書類 (例: 個人番号カード、運転免許証)", examples=["個人番号カード"]
    )
    reference: OptionalText | None = Field(default=None, description="受付番号など (庁内の整理番号)")
    by_representative: bool = Field(
        default=False,
        description="代理人による請求 (支援措置の対象者については受け付けず、本人の請求のみ)",
    )


# -- the report ----------------------------------------------------------------------------------


class HouseholdEntry(BaseModel):
    """One version of a household the person was in, reduced to what concerns them."""

    household_id: str = Field(description="世帯番号")
    version: int = Field(description="世帯の履歴番号")
    effective_date: date = Field(description="この版の異動日")
    recorded_at: datetime = Field(description="処理日時")
    movement_id: str = Field(description="この版を作った異動")
    status: HouseholdStatus = Field(description="active=存続, dissolved=消滅")
    member: bool = Field(description="この版でこの方が世帯員か (false: この異動でこの世帯を離れた)")
    head_person_id: str | None = Field(description="世帯主の宛名番号")
    head_is_self: bool = Field(description="この方が世帯主")
    head_name: str | None = Field(description="世帯主の氏名 (この版の異動日の記録)")
    relationship: str | None = Field(description="この方の続柄 (世帯主との関係)")


class MovementEntry(BaseModel):
    """A movement that wrote a version of the person's record (no notice content: it may name others)."""

    movement_id: str = Field(description="異動番号")
    kind: MovementKind = Field(description="異動の種類")
    effective_date: date = Field(description="異動日")
    notified_date: date = Field(description="届出日")
    recorded_at: datetime = Field(description="処理日時")
    versions: list[int] = Field(description="この異動で記録されたこの方の住民票の版")
    status: str | None = Field(description="異動の状態 (final=本登録)")
    entered_at: datetime | None = Field(description="入力日時")
    approved_at: datetime | None = Field(description="決裁日時")


class ProvisionEntry(BaseModel):
    """One provision (提供) or transfer (移転) of the person's data: a linkage message."""

    message_id: str = Field(description="通知番号")
    category: str = Field(description="provision=提供 (庁外), transfer=移転 (庁内)")
    destination: str = Field(description="送信先コード")
    destination_name: str = Field(description="送信先")
    kind: str = Field(description="通知の種類コード")
    kind_name: str = Field(description="通知の種類")
    movement_id: str | None = Field(description="原因となった異動")
    record_version: int | None = Field(description="送る記録の版")
    created_at: datetime | None = Field(description="記録日時")
    status: str = Field(description="状態 (delivered=送信済み, parked=送信保留, pending=送信待ち)")
    legal_basis: str | None = Field(default=None, description="根拠法令")
    fields: list[str] = Field(default_factory=list, description="送った項目")


class CertificateIssuance(BaseModel):
    """One issuance of a certificate about the person (filled once certificates exist)."""

    issued_at: datetime = Field(description="交付日時")
    certificate: str = Field(description="証明書の種類")
    requester: str = Field(description="請求者")
    copies: int = Field(description="通数")


class CertificateSection(BaseModel):
    source_available: bool = Field(description="交付履歴の記録元があるか")
    issuances: list[CertificateIssuance] = Field(description="交付の記録 (記録元がない場合は空)")
    note: str | None = Field(default=None, description="この項目についての説明")


class DisclosureReport(BaseModel):
    report_id: str = Field(description="開示資料番号")
    prepared_at: datetime = Field(description="作成日時")
    prepared_by: str = Field(description="作成した職員ID")
    office: str = Field(description="作成した庁舎")
    request: DisclosureRequest = Field(description="開示請求の受付")
    person_id: str = Field(description="宛名番号")
    my_number: str | None = Field(
        description="個人番号 (ご本人のもの、12桁。保存・印刷される写しでは下4桁だけ)"
    )
    previous_my_numbers: list[str] = Field(description="以前に記録されていた個人番号 (写しでは下4桁だけ)")
    records: list[PersonRecord] = Field(description="住民票のすべての版 (履歴番号の順)")
    households: list[HouseholdEntry] = Field(description="属した世帯 (世帯ごと、版の順)")
    movements: list[MovementEntry] = Field(description="この方に関わる異動 (記録の順)")
    restrictions: list[Restriction] = Field(description="抑止 (本人と世帯に設定されたもの、終了分を含む)")
    support_measures: list[SupportMeasure] = Field(description="支援措置 (終了分を含む)")
    provisions: list[ProvisionEntry] = Field(description="提供・移転の記録")
    certificates: CertificateSection = Field(description="証明書の交付履歴")
    notes: list[str] = Field(description="この資料についての説明")

    def to_json_bytes(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, indent=2).encode()

    def stored_copy(self) -> DisclosureReport:
        """What is kept in the documents bucket and printed: every 個人番号 by its last four digits
        only, so no plaintext number is ever at rest. The full numbers go to the officer in the
        answer alone, to be shown to the person at the counter."""
        return self.model_copy(
            update={
                "my_number": _last_four(self.my_number) if self.my_number else None,
                "previous_my_numbers": [_last_four(n) for n in self.previous_my_numbers],
            }
        )


def _last_four(number: str) -> str:
    return "＊" * (len(number) - 4) + number[-4:]


class PreparedDisclosure(BaseModel):
    report: DisclosureReport = Field(description="開示資料 (JSON)")
    json_key: str = Field(description="保存した JSON のキー (文書バケット)")
    pdf_key: str = Field(description="保存した PDF のキー (文書バケット)")
    pdf_url: str = Field(description="PDF の署名付き URL (有効期間は短い)")
    pdf_url_expires_at: datetime = Field(description="URL の有効期限")


# -- ports ---------------------------------------------------------------------------------------


class LedgerHistory(Protocol):
    def person_history(self, person_id: str) -> list[PersonRecord]: ...

    def household_history(self, household_id: str) -> list[HouseholdRecord]: ...

    def person_as_of(self, person_id: str, day: date) -> PersonRecord | None: ...

    def get_movement(self, movement_id: str) -> Movement | None: ...


class RestrictionRecords(Protocol):
    def on_targets(
        self, person_ids: list[str], household_ids: list[str]
    ) -> list[Restriction | SupportMeasure]: ...


@dataclass(frozen=True)
class OutboxMessage:
    """A linkage message as the outbox holds it: its state and its body (the message as JSON)."""

    message_id: str
    status: str
    body: dict[str, Any]


class OutboxRecords(Protocol):
    def messages(self, message_ids: list[str]) -> list[OutboxMessage]:
        """The messages found among these ids (unknown ids are left out)."""

    def provisions(self, person_id: str) -> list[ProvisionRecord]:
        """Every provision record of the person (提供・移転の記録), oldest first."""


@dataclass(frozen=True)
class CertificateHistory:
    source_available: bool
    issuances: list[CertificateIssuance]


class CertificateIssuances(Protocol):
    def for_person(self, person_id: str) -> CertificateHistory: ...


class NoCertificateSource:
    """Certificates are not issued by this system yet: no record, and the flag that says so."""

    def for_person(self, person_id: str) -> CertificateHistory:
        return CertificateHistory(source_available=False, issuances=[])


class ReportRenderer(Protocol):
    def render(self, report: DisclosureReport) -> bytes:
        """The report as a PDF."""


class ReportArchive(Protocol):
    def store(self, report_id: str, report_json: bytes, pdf: bytes) -> tuple[str, str]:
        """Stores both documents; returns the keys of the JSON and the PDF."""

    def link(self, key: str, seconds: int) -> str:
        """A URL that reads the document for ``seconds``."""


# -- the service ---------------------------------------------------------------------------------


class DisclosureService:
    def __init__(
        self,
        *,
        ledger: LedgerHistory,
        restrictions: RestrictionRecords,
        outbox: OutboxRecords,
        certificates: CertificateIssuances,
        vault: MyNumberVault,
        renderer: ReportRenderer,
        archive: ReportArchive,
        log: OperationLog,
        clock: Clock,
        ids: IdSource,
        removed: RecordArchiveReader | None = None,
    ) -> None:
        self._removed = removed  # removed records moved out of the ledger after five years
        self._ledger = ledger
        self._restrictions = restrictions
        self._outbox = outbox
        self._certificates = certificates
        self._vault = vault
        self._renderer = renderer
        self._archive = archive
        self._log = log
        self._clock = clock
        self._ids = ids

    def prepare(self, person_id: str, request: DisclosureRequest, actor: Actor) -> PreparedDisclosure:
        """Builds the report, logs the export, stores it as JSON and PDF, and returns the report
        with a short-lived link to the PDF. Restrictions do not block it (it is the person's own)."""
        require(actor, Permission.DISCLOSURE)
        try:
            report = self.build(person_id, request, actor)
        except Forbidden as refusal:
            self._log.append(
                entry_for(
                    actor,
                    entry_id=self._ids.new_id(),
                    at=self._clock.now(),
                    function=FUNCTION,
                    action="export",
                    persons=[person_id],
                    outcome="refused",
                    code=refusal.code,
                )
            )
            raise
        pdf = self._renderer.render(report.stored_copy())
        households = sorted({entry.household_id for entry in report.households})
        shown = report.my_number is not None or bool(report.previous_my_numbers)
        # Logged before anything is stored: an export that then fails to store is still on record,
        # never the other way round.
        self._log.append(
            entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=self._clock.now(),
                function=FUNCTION,
                action="export",
                persons=[person_id],
                households=households,
                my_number_purpose=MY_NUMBER_PURPOSE if shown else None,
                subject=f"disclosure:{report.report_id}",
            )
        )
        kept = report.stored_copy()
        json_key, pdf_key = self._archive.store(report.report_id, kept.to_json_bytes(), pdf)
        return PreparedDisclosure(
            report=report,
            json_key=json_key,
            pdf_key=pdf_key,
            pdf_url=self._archive.link(pdf_key, PDF_LINK_SECONDS),
            pdf_url_expires_at=self._clock.now() + timedelta(seconds=PDF_LINK_SECONDS),
        )

    def build(self, person_id: str, request: DisclosureRequest, actor: Actor) -> DisclosureReport:
        """The report's content (no storage, no log: ``prepare`` does both)."""
        require(actor, Permission.DISCLOSURE)
        versions = full_history(self._ledger, self._removed, person_id)
        if not versions:
            raise NotFound("PERSON_NOT_FOUND", "住民が見つかりません", "person_id")
        household_ids = list(dict.fromkeys(v.household_id for v in versions))
        histories = {hid: self._ledger.household_history(hid) for hid in household_ids}
        movement_ids = list(dict.fromkeys(v.movement_id for v in versions))
        current, *earlier = reversed(versions)
        records = self._restrictions.on_targets([person_id], household_ids)
        if request.by_representative and any(
            isinstance(r, SupportMeasure) and r.person_id == person_id and in_force(r, self._clock.now())
            for r in records
        ):
            # 支援措置: the person's address must not reach anyone acting for them, who may be the
            # very person they are protected from. Only the person themself may ask.
            raise Forbidden(
                "SUPPORT_MEASURE",
                "支援措置の対象の方の開示請求は、ご本人からのみ受け付けます",
                "by_representative",
            )
        certificates = self._certificates.for_person(person_id)
        return DisclosureReport(
            report_id=self._ids.new_id(),
            prepared_at=self._clock.now(),
            prepared_by=actor.staff_id,
            office=actor.office,
            request=request,
            person_id=person_id,
            my_number=self._open(current.my_number, person_id),
            previous_my_numbers=self._earlier_numbers(current, earlier, person_id),
            records=versions,
            households=self._households(person_id, versions, histories),
            movements=self._movements(versions, movement_ids),
            restrictions=[r for r in records if isinstance(r, Restriction)],
            support_measures=[r for r in records if isinstance(r, SupportMeasure)],
            provisions=self._provisions(person_id, versions),
            certificates=CertificateSection(
                source_available=certificates.source_available,
                issuances=certificates.issuances,
                note=None if certificates.source_available else CERTIFICATES_NOT_ISSUED,
            ),
            notes=list(NOTES),
        )

    # -- parts ---------------------------------------------------------------------------------
    def _open(self, sealed: SealedMyNumber | None, person_id: str) -> str | None:
        return None if sealed is None else self._vault.open(sealed, person_id)

    def _earlier_numbers(
        self, current: PersonRecord, earlier: list[PersonRecord], person_id: str
    ) -> list[str]:
        """Numbers recorded before the current one (a 個人番号の変更), oldest first, each once."""
        seen = {current.my_number.blind_index} if current.my_number else set()
        numbers: list[str] = []
        for version in reversed(earlier):
            sealed = version.my_number
            if sealed is not None and sealed.blind_index not in seen:
                seen.add(sealed.blind_index)
                numbers.append(self._vault.open(sealed, person_id))
        return numbers

    def _households(
        self, person_id: str, versions: list[PersonRecord], histories: dict[str, list[HouseholdRecord]]
    ) -> list[HouseholdEntry]:
        """Each version of their households while they were in it, and the one that records them
        leaving (written by a movement that also wrote a version of their record)."""
        movements = {v.movement_id for v in versions}
        head_names: dict[tuple[str, date], str | None] = {}
        entries: list[HouseholdEntry] = []
        for household_id, history in histories.items():
            for household in history:
                member = person_id in household.member_ids
                if not member and household.movement_id not in movements:
                    continue
                own = _version_for(versions, household)
                head = household.head_person_id
                entries.append(
                    HouseholdEntry(
                        household_id=household_id,
                        version=household.version,
                        effective_date=household.effective_date,
                        recorded_at=household.recorded_at,
                        movement_id=household.movement_id,
                        status=household.status,
                        member=member,
                        head_person_id=head,
                        head_is_self=head == person_id,
                        head_name=self._head_name(head, household.effective_date, head_names),
                        relationship=own.relationship if own is not None and member else None,
                    )
                )
        return entries

    def _head_name(
        self, head: str | None, day: date, cache: dict[tuple[str, date], str | None]
    ) -> str | None:
        """The head's name as recorded on the household version's date (an item of the person's
        own resident record: 世帯主の氏名)."""
        if head is None:
            return None
        if (head, day) not in cache:
            record = self._ledger.person_as_of(head, day)
            cache[head, day] = (
                None if record is None else f"{record.name.family_name} {record.name.given_name}"
            )
        return cache[head, day]

    def _movements(self, versions: list[PersonRecord], movement_ids: list[str]) -> list[MovementEntry]:
        entries: list[MovementEntry] = []
        for movement_id in movement_ids:
            written = [v for v in versions if v.movement_id == movement_id]
            first = written[0]
            movement = self._ledger.get_movement(movement_id)  # None for imported (migrated) records
            entries.append(
                MovementEntry(
                    movement_id=movement_id,
                    kind=first.movement_kind,
                    effective_date=first.effective_date,
                    notified_date=first.notified_date,
                    recorded_at=first.recorded_at,
                    versions=[v.version for v in written],
                    status=movement.status.value if movement else None,
                    entered_at=movement.entered_at if movement else None,
                    approved_at=movement.approved_at if movement else None,
                )
            )
        return entries

    def _provisions(self, person_id: str, versions: list[PersonRecord]) -> list[ProvisionEntry]:
        """What was sent (the provision records) and the changes not yet routed to a recipient."""
        sent = [_sent(record) for record in self._outbox.provisions(person_id)]
        events = [event_id(v.movement_id, person_id, v.version) for v in versions]
        waiting = [m for m in self._outbox.messages(events) if m.status == PENDING]
        return sent + [_waiting(m) for m in waiting]


def _version_for(versions: list[PersonRecord], household: HouseholdRecord) -> PersonRecord | None:
    """The person's version in force with this household version: the one the same movement wrote,
    else the newest in that household effective by then."""
    same = [v for v in versions if v.movement_id == household.movement_id]
    if same:
        return same[-1]
    earlier = [
        v
        for v in versions
        if v.household_id == household.household_id and v.effective_date <= household.effective_date
    ]
    return earlier[-1] if earlier else None


def _destination(recipient: str) -> tuple[str, str]:
    system = recipient.removeprefix(f"{Recipient.PLATFORM}.")
    if system != recipient:
        return "transfer", PLATFORM_NAME.format(system=system)
    return RECIPIENTS.get(recipient, ("provision", recipient))


def _sent(record: ProvisionRecord) -> ProvisionEntry:
    category, name = _destination(record.recipient)
    movement_id, _, rest = record.message_id.partition(":v:")
    version = rest.split(":")[1] if rest.count(":") >= 1 else None
    return ProvisionEntry(
        message_id=record.message_id,
        category=category,
        destination=record.recipient,
        destination_name=name,
        kind=record.kind,
        kind_name=MESSAGE_KINDS.get(record.kind, record.kind),
        movement_id=movement_id or None,
        record_version=int(version) if version and version.isdigit() else None,
        created_at=record.at,
        status=record.outcome,
        legal_basis=record.legal_basis,
        fields=record.fields,
    )


def _waiting(message: OutboxMessage) -> ProvisionEntry:
    body = message.body
    created = body.get("created_at")
    sequence = body.get("sequence")
    category, name = _destination(str(body.get("recipient", "")))
    kind = str(body.get("kind", ""))
    return ProvisionEntry(
        message_id=message.message_id,
        category=category,
        destination=str(body.get("recipient", "")),
        destination_name=name,
        kind=kind,
        kind_name=MESSAGE_KINDS.get(kind, kind),
        movement_id=body.get("movement_id"),
        record_version=int(sequence) if sequence is not None else None,
        created_at=datetime.fromisoformat(created) if isinstance(created, str) else None,
        status=message.status,
    )
