"""Resident records (住民票) and households (世帯), one immutable version at a time.

Nothing is overwritten: each change adds version n+1 of every person and household it touches,
and each version says which movement made it and from which date it holds (``effective_date``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from juki.domain.kana import KATAKANA_NAME, to_katakana

MEIJI_START = date(1868, 10, 23)  # the ledger's dates are shown in 和暦, which starts here

# Free text: trimmed, at least one visible character, no control characters.
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=r"^[^\x00-\x1f\x7f]+$")
]
OptionalText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]+$")
]
RecordId = Annotated[str, StringConstraints(pattern=r"^\d{10}$")]


def _iso_date_only(value: object) -> object:
    if isinstance(value, datetime) or (
        isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
    ):
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
    REMOVED = "removed"  # 除票


class RemovalReason(StrEnum):
    """消除区分."""

    MOVE_OUT = "move_out"  # 転出
    DEATH = "death"  # 死亡
    MISSING = "missing"  # 失踪宣告
    CANCELLED = "cancelled"  # 異動の取消しで記載がなかったことになった


class HouseholdStatus(StrEnum):
    ACTIVE = "active"
    DISSOLVED = "dissolved"  # 全員が転出・死亡・他世帯へ異動した世帯


class MovementKind(StrEnum):
    MOVE_IN = "move_in"  # 転入
    IN_CITY_MOVE = "in_city_move"  # 転居
    MOVE_OUT = "move_out"  # 転出
    MOVE_OUT_CONFIRMATION = "move_out_confirmation"  # 転入通知による転出確定
    BIRTH = "birth"  # 出生
    DEATH = "death"  # 死亡・失踪
    HEAD_CHANGE = "head_change"  # 世帯主変更
    HOUSEHOLD_SPLIT = "household_split"  # 世帯分離
    CORRECTION = "correction"  # 職権修正・誤記修正
    CANCELLATION = "cancellation"  # 異動の取消し
    MIGRATION = "migration"  # データ移行 (records brought over from the legacy ledger)


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

    @property
    def reading(self) -> str:
        return self.family_name_kana + self.given_name_kana


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


class OtherAddress(Frozen):
    """An address elsewhere: before a move-in (前住所) or after a move-out (転出先)."""

    prefecture: str | None = Field(default=None, max_length=10, description="都道府県", examples=["東京都"])
    municipality: str | None = Field(
        default=None, max_length=40, description="市区町村", examples=["千代田区"]
    )
    street: ShortText = Field(description="町名以下の住所", examples=["霞が関二丁目1番2号"])
    katagaki: OptionalText | None = Field(default=None, description="方書")
    country: str | None = Field(default=None, max_length=60, description="国外の場合の国名")


class Removal(Frozen):
    """消除: why and from when the record is a removed record (除票)."""

    reason: RemovalReason = Field(description="消除区分")
    removed_on: date = Field(description="消除の日 (転出は転出予定日、転入通知の転入日が早ければその日)")


class MoveOutDetails(Frozen):
    """転出: the planned destination, kept as entered, and what the move-in notice confirmed."""

    planned_date: date = Field(description="転出予定日")
    planned_destination: OtherAddress = Field(description="転出先 (予定)")
    notified_date: date = Field(description="転出届の届出日")
    card_move_out: bool = Field(description="特例転出 (マイナンバーカードによる転出)")
    confirmed_date: date | None = Field(default=None, description="確定した転入日 (転入通知)")
    confirmed_destination: OtherAddress | None = Field(default=None, description="確定転出先 (転入通知)")


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
    previous_address: OtherAddress | None = Field(default=None, description="前住所")
    resident_since: date = Field(description="住民となった年月日")
    address_since: date = Field(description="住所を定めた年月日")
    notified_date: date = Field(description="この版の届出日")
    status: ResidentStatus = Field(description="resident=在住, removed=除票")
    removal: Removal | None = Field(default=None, description="消除 (除票の場合)")
    move_out: MoveOutDetails | None = Field(default=None, description="転出の予定と確定")
    movement_id: str = Field(description="この版を作った異動")
    movement_kind: MovementKind = Field(description="この版を作った異動の種類")
    effective_date: date = Field(description="この版の異動日 (この日からこの内容)")
    recorded_at: datetime = Field(description="処理日時")


class HouseholdRecord(Frozen):
    """One version of a household (世帯)."""

    household_id: str = Field(description="世帯番号")
    version: int = Field(ge=1, description="履歴番号")
    status: HouseholdStatus = Field(default=HouseholdStatus.ACTIVE, description="active=存続, dissolved=消滅")
    head_person_id: str | None = Field(description="世帯主の宛名番号 (世帯主のいない世帯は null)")
    member_ids: list[str] = Field(description="世帯員の宛名番号 (現に属する人)")
    address: Address = Field(description="住所")
    movement_id: str = Field(description="この版を作った異動")
    effective_date: date = Field(description="この版の異動日 (この日からこの内容)")
    recorded_at: datetime = Field(description="処理日時")
