"""Resident records, households and movements.

Every change to the ledger is a movement (異動). A movement is entered as a draft (仮登録)
and becomes final (本登録) when a different authorised person approves it; only then are
new versions of the records it touches written. Nothing is overwritten: each change adds
version n+1 of every person and household it touches.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from juki.domain import relationships
from juki.domain.errors import Issue
from juki.domain.kana import KATAKANA_NAME, to_katakana

MAX_MEMBERS_PER_MOVEMENT = 20
MEIJI_START = date(1868, 10, 23)  # the ledger's dates are shown in 和暦, which starts here

# Free text: trimmed, at least one visible character, no control characters.
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=r"^[^\x00-\x1f\x7f]+$")
]
OptionalText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]+$")
]


def _iso_date_only(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("日付は YYYY-MM-DD で入力してください")
    if isinstance(value, datetime):
        raise ValueError("日付は YYYY-MM-DD で入力してください")
    return value


def _not_before_meiji(value: date) -> date:
    if value < MEIJI_START:
        raise ValueError("明治元年 (1868年10月23日) より前の日付は指定できません")
    return value


# A calendar date written YYYY-MM-DD (a date-time is refused), from 明治 on.
Day = Annotated[date, BeforeValidator(_iso_date_only), AfterValidator(_not_before_meiji)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class ResidentStatus(StrEnum):
    RESIDENT = "resident"
    REMOVED = "removed"


class MovementKind(StrEnum):
    MOVE_IN = "move_in"  # 転入
    MIGRATION = "migration"  # データ移行 (records brought over from the legacy ledger)


class MovementStatus(StrEnum):
    DRAFT = "draft"  # 仮登録
    APPROVED = "approved"  # 決裁済み, being committed
    FINAL = "final"  # 本登録
    FAILED = "failed"  # re-validation at commit refused it


class PersonName(Frozen):
    family_name: ShortText = Field(description="氏 (漢字)", examples=["静岡"])
    given_name: ShortText = Field(description="名 (漢字)", examples=["太郎"])
    family_name_kana: ShortText = Field(description="氏 (フリガナ、全角カタカナ)", examples=["シズオカ"])
    given_name_kana: ShortText = Field(description="名 (フリガナ、全角カタカナ)", examples=["タロウ"])

    @field_validator("family_name_kana", "given_name_kana", mode="before")
    @classmethod
    def _katakana(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        kana = to_katakana(value).strip()
        if not KATAKANA_NAME.match(kana):
            raise ValueError("フリガナは全角カタカナで入力してください")
        return kana


class Address(Frozen):
    """An address in this municipality (住所)."""

    postal_code: str = Field(pattern=r"^\d{3}-\d{4}$", description="郵便番号", examples=["420-0853"])
    ward: ShortText = Field(description="区", examples=["葵区"])
    town: ShortText = Field(description="町丁目", examples=["追手町"])
    town_code: str | None = Field(
        default=None, pattern=r"^\d{6,12}$", description="町丁目コード (住所辞書)", examples=["221015000100"]
    )
    lot: ShortText = Field(description="番地・号", examples=["5番1号"])
    katagaki: OptionalText | None = Field(default=None, description="方書 (建物名・部屋番号)")


class PreviousAddress(Frozen):
    """The address before the move (前住所), inside or outside Japan."""

    prefecture: str | None = Field(default=None, max_length=10, description="都道府県", examples=["東京都"])
    municipality: str | None = Field(
        default=None, max_length=40, description="市区町村", examples=["千代田区"]
    )
    street: ShortText = Field(description="町名以下の住所", examples=["霞が関二丁目1番2号"])
    katagaki: OptionalText | None = Field(default=None, description="方書")
    country: str | None = Field(default=None, max_length=60, description="国外からの転入の場合の国名")


class MoveInMember(Frozen):
    name: PersonName = Field(description="氏名")
    birth_date: Day = Field(description="生年月日 (西暦 YYYY-MM-DD)")
    sex: Sex = Field(description="性別")
    relationship: ShortText = Field(description="続柄 (世帯主、妻、子、子の妻 …)", examples=["世帯主"])

    @field_validator("relationship")
    @classmethod
    def _relationship(cls, value: str) -> str:
        try:
            return relationships.normalise(value)
        except ValueError:
            raise ValueError("続柄が語彙にありません") from None


class MoveIn(Frozen):
    """転入: a new household moves into the municipality."""

    kind: Literal[MovementKind.MOVE_IN] = Field(description="異動の種類 (move_in = 転入)")
    effective_date: Day = Field(description="異動日 (転入した日)")
    notified_date: Day = Field(description="届出日")
    address: Address = Field(description="転入先の住所")
    previous_address: PreviousAddress = Field(description="前住所")
    members: list[MoveInMember] = Field(
        min_length=1, max_length=MAX_MEMBERS_PER_MOVEMENT, description="転入する世帯員 (世帯主を含む)"
    )


class MovementResult(Frozen):
    household_id: str = Field(description="世帯番号")
    person_ids: list[str] = Field(description="宛名番号 (世帯員の順)")


class Movement(Frozen):
    """One movement and where it stands in the two-person rule."""

    movement_id: str = Field(description="異動番号")
    kind: MovementKind = Field(description="異動の種類")
    status: MovementStatus = Field(
        description="draft=仮登録, approved=決裁済み, final=本登録, failed=本登録不可"
    )
    command: MoveIn = Field(description="届出の内容")
    alerts: list[Issue] = Field(default_factory=list, description="入力時のアラート")
    entered_by: str = Field(description="入力者の職員ID")
    entered_at: datetime = Field(description="入力日時")
    office: str = Field(description="入力した庁舎")
    terminal: str = Field(description="入力した端末")
    approved_by: str | None = Field(default=None, description="決裁者の職員ID")
    approved_at: datetime | None = Field(default=None, description="決裁日時")
    approval_id: str | None = Field(default=None, description="決裁の識別子")
    result: MovementResult | None = Field(default=None, description="本登録で付番された番号")
    failure: list[Issue] = Field(default_factory=list, description="本登録できなかった理由")


class PersonRecord(Frozen):
    """One version (履歴番号) of a resident record (住民票)."""

    person_id: str = Field(description="宛名番号")
    version: int = Field(ge=1, description="履歴番号")
    household_id: str = Field(description="世帯番号")
    name: PersonName = Field(description="氏名")
    birth_date: date = Field(description="生年月日")
    sex: Sex = Field(description="性別")
    relationship: str = Field(description="続柄")
    address: Address = Field(description="住所")
    previous_address: PreviousAddress | None = Field(default=None, description="前住所")
    resident_since: date = Field(description="住民となった年月日")
    address_since: date = Field(description="住所を定めた年月日")
    notified_date: date = Field(description="届出日")
    status: ResidentStatus = Field(description="resident=在住, removed=除票")
    movement_id: str = Field(description="この版を作った異動")
    movement_kind: MovementKind = Field(description="この版を作った異動の種類")
    effective_date: date = Field(description="この版の異動日")
    recorded_at: datetime = Field(description="処理日時")


class HouseholdRecord(Frozen):
    """One version of a household (世帯)."""

    household_id: str = Field(description="世帯番号")
    version: int = Field(ge=1, description="履歴番号")
    head_person_id: str | None = Field(description="世帯主の宛名番号 (世帯主のいない世帯は null)")
    member_ids: list[str] = Field(description="世帯員の宛名番号")
    address: Address = Field(description="住所")
    movement_id: str = Field(description="この版を作った異動")
    effective_date: date = Field(description="この版の異動日")
    recorded_at: datetime = Field(description="処理日時")


class CommitPlan(Frozen):
    """Everything a final (本登録) movement writes, decided before the one transaction."""

    movement_id: str
    persons: list[PersonRecord]
    households: list[HouseholdRecord]
