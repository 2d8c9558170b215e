"""Certificates (証明書): what is asked for at the counter, and what a certificate prints.

This module holds the contracts between the parts of certificate issuance:

- ``CertificateRequest``: what the counter (or the convenience-store system) asks for: the kind,
  the layout, the people, the items chosen, who asks and why, the fee category, and a past date.
- ``CertificateDocument``: everything a certificate prints, already worded and formatted (和暦,
  the standard order of members, omissions stated); the PDF renderer draws it and decides nothing.
- ``IssueNumber``: the number every page carries.

The rules that turn records into documents live in ``juki.domain.certificate_rules``:
``compose(request, subject) -> list[CertificateDocument]`` (one per person for 個人票, one per
household for 世帯連記式). The renderer is ``juki.adapters.pdf.certificates.CertificatePdf``:
``render(documents, numbers) -> RenderedCertificate`` (one PDF, each document with its own number).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.values import Day, RecordId, ShortText


class CertificateKind(StrEnum):
    RESIDENT_COPY = "resident_copy"  # 住民票の写し
    REMOVED_COPY = "removed_copy"  # 住民票の除票の写し
    RESIDENT_ENTRY = "resident_entry"  # 住民票記載事項証明書
    REMOVED_ENTRY = "removed_entry"  # 除票記載事項証明書
    MOVE_OUT = "move_out"  # 転出証明書


TITLES: dict[CertificateKind, str] = {
    CertificateKind.RESIDENT_COPY: "住民票の写し",
    CertificateKind.REMOVED_COPY: "住民票の除票の写し",
    CertificateKind.RESIDENT_ENTRY: "住民票記載事項証明書",
    CertificateKind.REMOVED_ENTRY: "除票記載事項証明書",
    CertificateKind.MOVE_OUT: "転出証明書",
}

REMOVED_KINDS = frozenset({CertificateKind.REMOVED_COPY, CertificateKind.REMOVED_ENTRY})


class Layout(StrEnum):
    INDIVIDUAL = "individual"  # 個人票: one person per certificate
    HOUSEHOLD = "household"  # 世帯連記式: the household's members chosen, on one certificate


class OptionalItem(StrEnum):
    """Items printed only when asked for (and allowed): omitted otherwise, and the omission stated."""

    HEAD_AND_RELATIONSHIP = "head_and_relationship"  # 世帯主の氏名・続柄
    KOSEKI = "koseki"  # 本籍・筆頭者
    RESIDENT_CODE = "resident_code"  # 住民票コード
    MY_NUMBER = "my_number"  # 個人番号
    # 外国人住民 (住基法第12条第5項, 第30条の45): printed only when asked for, as 本籍 is.
    NATIONALITY = "nationality"  # 国籍・地域
    RESIDENCE_STATUS = (
        "residence_status"  # 法第30条の45の区分・在留資格・在留期間等・満了の日・在留カード等の番号
    )


# Items that only a foreign resident's record carries: their omission is stated only on a
# certificate that prints a foreign resident.
FOREIGN_RESIDENT_ITEMS = frozenset({OptionalItem.NATIONALITY, OptionalItem.RESIDENCE_STATUS})


class RequesterKind(StrEnum):
    SELF = "self"  # 本人
    HOUSEHOLD_MEMBER = "household_member"  # 同一世帯の者
    REPRESENTATIVE = "representative"  # 代理人 (委任状)
    THIRD_PARTY = "third_party"  # 第三者 (住基法第12条の3)
    OFFICIAL = "official"  # 国・地方公共団体の機関 (公用, 第12条の2)


class FeeCategory(StrEnum):
    PAID = "paid"  # 有料
    EXEMPT = "exempt"  # 無料 (減免)
    OFFICIAL = "official"  # 公用


# 個人番号 and 住民票コード are given only to the person or their household (住基法第12条第5項, 番号法).
OWN_ITEMS_ONLY = frozenset({OptionalItem.MY_NUMBER, OptionalItem.RESIDENT_CODE})
OWN_REQUESTERS = frozenset({RequesterKind.SELF, RequesterKind.HOUSEHOLD_MEMBER})


class CertificateRequest(BaseModel):
    """証明書の請求."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: CertificateKind = Field(description="証明書の種類")
    layout: Layout = Field(default=Layout.HOUSEHOLD, description="individual=個人票, household=世帯連記式")
    person_ids: list[RecordId] = Field(
        min_length=1, max_length=30, description="記載する人の宛名番号 (世帯連記式は同じ世帯の人)"
    )
    items: list[OptionalItem] = Field(
        default_factory=list, description="記載を求める項目 (省略するものは含めない)"
    )
    requester_kind: RequesterKind = Field(description="請求者の区分")
    requester_name: ShortText = Field(description="請求者の氏名 (公用は機関名)")
    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)] = Field(
        description="使用目的"
    )
    fee_category: FeeCategory = Field(description="手数料の区分")
    as_of: Day | None = Field(default=None, description="この日現在の内容 (省略すると今日)")
    acknowledged_alerts: bool = Field(
        default=False, description="抑止・支援措置のアラートを権限のある職員が確認した"
    )
    without_my_number: bool = Field(
        default=False,
        description=(
            "転出証明書だけ: 個人番号を記載しない (保存して後から渡す写し。"
            "個人番号を記載した PDF は保存しないため)"
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(set(self.person_ids)) != len(self.person_ids):
            raise ValueError("宛名番号が重複しています")
        if len(set(self.items)) != len(self.items):
            raise ValueError("記載項目が重複しています")
        if OWN_ITEMS_ONLY & set(self.items) and self.requester_kind not in OWN_REQUESTERS:
            raise ValueError("個人番号・住民票コードは本人または同一世帯の者の請求にだけ記載できます")
        if (self.fee_category is FeeCategory.OFFICIAL) != (self.requester_kind is RequesterKind.OFFICIAL):
            raise ValueError("公用の請求は手数料区分も公用にしてください")
        if self.kind is CertificateKind.MOVE_OUT and self.items:
            raise ValueError("転出証明書の記載事項は法定のものだけで、選べる項目はありません")
        if self.without_my_number and self.kind is not CertificateKind.MOVE_OUT:
            raise ValueError(
                "個人番号を記載しない指定は転出証明書のものです (他の証明書は記載項目で選びます)"
            )
        return self


class IssueNumber(BaseModel):
    """交付番号: printed on every page with the page of pages; the sequence never repeats."""

    model_config = ConfigDict(frozen=True)

    issued_on: date = Field(description="交付日")
    municipality_code: str = Field(description="地方公共団体コード")
    terminal: str = Field(description="交付した端末")
    sequence: int = Field(ge=1, description="通し番号 (市で一つの連番、重複しない)")

    @property
    def text(self) -> str:
        return f"{self.municipality_code}-{self.issued_on:%Y%m%d}-{self.terminal}-{self.sequence:08d}"


class PrintedItem(BaseModel):
    """One labelled item of a person as printed (already worded: 和暦, 西暦 for foreign residents)."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(description="項目名")
    value: str = Field(description="記載内容 (省略した場合はその旨)")


class PrintedPerson(BaseModel):
    model_config = ConfigDict(frozen=True)

    person_id: str = Field(description="宛名番号 (印刷しない、突合用)")
    name: str = Field(description="氏名")
    items: list[PrintedItem] = Field(description="記載事項 (印刷の順)")


class CertificateDocument(BaseModel):
    """Everything one certificate prints, in order. The renderer draws it as it is."""

    model_config = ConfigDict(frozen=True)

    kind: CertificateKind
    layout: Layout
    title: str = Field(description="表題 (例: 住民票の写し)")
    municipality_name: str = Field(description="市町村名 (例: 静岡市)")
    mayor_title_and_name: str = Field(description="証明者 (例: 静岡市長 駿府 太郎)")
    issued_on_text: str = Field(description="交付日 (和暦)")
    as_of_text: str | None = Field(default=None, description="過去の日現在の写しの場合の注記")
    official_use: bool = Field(description="公用 (表示する)")
    household_items: list[PrintedItem] = Field(description="世帯の記載事項 (住所・世帯主 など)")
    persons: list[PrintedPerson] = Field(description="記載する人 (世帯連記式は標準の順)")
    omissions: list[str] = Field(description="省略した項目の注記 (例: 本籍・筆頭者の記載を省略)")
    certification_text: str = Field(description="認証文")
    machine_readable: str | None = Field(
        default=None, description="転出証明書の記載事項 (読み取り用コードにする内容)"
    )


class IssuedCertificate(BaseModel):
    """交付履歴 (別添2 item 56): one issuance, as kept per person."""

    model_config = ConfigDict(frozen=True)

    issue_id: str = Field(description="交付ID")
    issue_number: str = Field(description="交付番号")
    kind: CertificateKind = Field(description="証明書の種類")
    layout: Layout = Field(description="様式")
    person_ids: list[str] = Field(description="記載した人")
    items: list[OptionalItem] = Field(description="記載した選択項目")
    requester_kind: RequesterKind = Field(description="請求者の区分")
    requester_name: str = Field(description="請求者")
    purpose: str = Field(description="使用目的")
    fee_category: FeeCategory = Field(description="手数料の区分")
    as_of: date = Field(description="この日現在の内容")
    pages: int = Field(description="枚数")
    pdf_sha256: str = Field(description="PDF のハッシュ (SHA-256)")
    issued_at: datetime = Field(description="交付日時")
    staff_id: str = Field(description="交付した職員 (コンビニ交付は system:kiosk)")
    office: str | None = Field(description="庁舎")
    terminal: str = Field(description="端末")
    channel: str = Field(description="counter=窓口, kiosk=コンビニ交付, automatic=転出の本登録に続く自動印刷")


class CertificateSubject(BaseModel):
    """The records a certificate is made from, as they were on ``as_of``."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    as_of: date = Field(description="この日現在")
    today: date = Field(description="交付日")
    municipality_name: str = Field(description="市町村名")
    mayor_title_and_name: str = Field(description="証明者")
    persons: list[PersonRecord] = Field(description="記載する人 (その日の版、請求の順)")
    households: dict[str, HouseholdRecord] = Field(description="その人たちの世帯 (その日の版)")
    heads: dict[str, PersonRecord] = Field(description="世帯主 (世帯番号ごと、その日の版)")
