"""The value types a resident record is made of: names, addresses, dates, and the codes of
status, removal and movement kinds. Immutable, validated on construction, no I/O."""

from __future__ import annotations

import re
import unicodedata
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

from juki.domain.codes import is_valid_resident_code, normalise_resident_code
from juki.domain.errors import DomainError
from juki.domain.kana import katakana_input

MEIJI_START = date(1868, 10, 23)  # the ledger's dates are shown in 和暦, which starts here

# Free text: trimmed, at least one visible character, no control characters.
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=r"^[^\x00-\x1f\x7f]+$")
]
OptionalText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]+$")
]
RecordId = Annotated[str, StringConstraints(pattern=r"^\d{10}$")]


def _resident_code(value: str) -> str:
    try:
        code = normalise_resident_code(value)
    except DomainError as error:
        raise ValueError(error.message) from None
    if not is_valid_resident_code(code):
        raise ValueError("住民票コードの検査数字が一致しません")
    return code


# 住民票コード: 11 digits, the last a check digit (full-width digits and separators accepted).
ResidentCode = Annotated[str, AfterValidator(_resident_code)]


def ascii_upper(value: object) -> object:
    """Codes as entered (full-width, lower case, padded) in their one written form."""
    return unicodedata.normalize("NFKC", value).strip().upper() if isinstance(value, str) else value


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
    EX_OFFICIO = "ex_officio"  # 職権消除 (居住の実態がない など)
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
    HOUSEHOLD_MERGE = "household_merge"  # 世帯合併
    HOUSEHOLD_CHANGE = "household_change"  # 世帯変更
    NAME_DETAILS_CHANGE = "name_details_change"  # 通称・旧氏・英字氏名の記載・変更・削除
    FOREIGN_RESIDENT_CHANGE = "foreign_resident_change"  # 在留資格等の変更・帰化・国籍取得・国籍喪失
    RESIDENT_CODE_CHANGE = "resident_code_change"  # 住民票コードの変更請求
    MY_NUMBER_CHANGE = "my_number_change"  # 個人番号の変更
    QUALIFICATION_CHANGE = "qualification_change"  # 資格情報 (国保・国年・介護・後期高齢・児童手当) の変更
    CORRECTION = "correction"  # 職権修正・誤記修正
    CANCELLATION = "cancellation"  # 異動の取消し
    MIGRATION = "migration"  # データ移行 (records brought over from the legacy ledger)


class PersonName(Frozen):
    family_name: ShortText = Field(description="氏 (漢字)", examples=["静岡"])
    given_name: ShortText = Field(description="名 (漢字)", examples=["太郎"])
    family_name_kana: ShortText = Field(description="氏 (フリガナ、全角カタカナ)", examples=["シズオカ"])
    given_name_kana: ShortText = Field(description="名 (フリガナ、全角カタカナ)", examples=["タロウ"])

    _katakana = field_validator("family_name_kana", "given_name_kana", mode="before")(katakana_input)

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
