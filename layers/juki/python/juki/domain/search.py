"""Search (照会・検索): the keys every version of a resident record is filed under, and the query.

Each version (履歴番号) of a person is filed under its own keys, so a person is found by a name,
birth date or address they had in an older version too. Readings (フリガナ) are compared without
voicing marks, small kana or spaces (``kana.match_key``); kanji names, town names and lots are
compared NFKC-normalised without spaces.

One index answers a query (the most selective one the criteria allow, ``plan``); the other
criteria are checked on the version the index returned (``matches``), so a hit is a version that
meets every criterion at once. 住民票コード, 在留カード番号 and 個人番号 will be further criteria with
indexes of their own, planned the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from juki.domain.dates import parse_date
from juki.domain.kana import katakana_input, match_key
from juki.domain.my_number import MyNumberInput
from juki.domain.records import PersonRecord
from juki.domain.values import RecordId, ResidentCode, ShortText, ascii_upper

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
SEPARATOR = "#"


class SearchIndex(StrEnum):
    """The ledger's search indexes (GSIs); each has a partition and a sort key attribute."""

    KANA = "by_kana"
    NAME = "by_name"
    BIRTH = "by_birth"
    ADDRESS = "by_address"
    TOWN_CODE = "by_town_code"
    MY_NUMBER = "by_my_number"
    CARD = "by_card"

    @property
    def partition_attribute(self) -> str:
        return f"{self.value.removeprefix('by_')}_pk"

    @property
    def sort_attribute(self) -> str:
        return f"{self.value.removeprefix('by_')}_sk"


def text_key(text: str) -> str:
    """Kanji names, town names and lots as compared: NFKC (full-width digits to ASCII), no spaces."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text))


def _sort_key(*parts: str) -> str:
    return SEPARATOR.join(parts)


def index_keys(record: PersonRecord) -> dict[str, str]:
    """The index attributes of one version of a person (set on its ``V#…`` item only)."""
    name, address, person_id = record.name, record.address, record.person_id
    birth = record.birth_date.isoformat()
    lot = text_key(address.lot)
    keys = {
        SearchIndex.KANA: (
            f"KANA#{match_key(name.family_name_kana)}",
            _sort_key(match_key(name.given_name_kana), birth, person_id),
        ),
        SearchIndex.NAME: (
            f"NAME#{text_key(name.family_name)}",
            _sort_key(text_key(name.given_name), person_id),
        ),
        SearchIndex.BIRTH: (f"BIRTH#{birth}", person_id),
        SearchIndex.ADDRESS: (f"ADDR#{text_key(address.town)}", _sort_key(lot, person_id)),
    }
    if address.town_code is not None:
        keys[SearchIndex.TOWN_CODE] = (f"TOWN#{address.town_code}", _sort_key(lot, person_id))
    if record.my_number is not None:
        keys[SearchIndex.MY_NUMBER] = (f"MYNUM#{record.my_number.blind_index}", person_id)
    if record.foreign_resident is not None and record.foreign_resident.card_number:
        keys[SearchIndex.CARD] = (f"CARD#{record.foreign_resident.card_number}", person_id)
    return {
        attribute: value
        for index, (partition, sort) in keys.items()
        for attribute, value in ((index.partition_attribute, partition), (index.sort_attribute, sort))
    }


def _birth_date(value: object) -> object:
    if isinstance(value, str):
        return parse_date(value)
    return value


KanaText = Annotated[ShortText, BeforeValidator(katakana_input)]
CardNumber = Annotated[str, BeforeValidator(ascii_upper), StringConstraints(pattern=r"^[A-Z0-9]{1,20}$")]
BirthDate = Annotated[date, BeforeValidator(_birth_date)]

_CRITERIA = (
    "family_name_kana",
    "given_name_kana",
    "family_name",
    "given_name",
    "birth_date",
    "town",
    "town_code",
    "lot",
    "person_id",
    "resident_code",
    "my_number",
    "my_number_index",
    "card_number",
    "household_id",
)

_NEEDS = {
    "given_name_kana": (("family_name_kana",), "名のフリガナで検索するときは氏のフリガナも指定してください"),
    "given_name": (("family_name",), "名 (漢字) で検索するときは氏 (漢字) も指定してください"),
    "lot": (("town", "town_code"), "番地で検索するときは町丁目か町丁目コードも指定してください"),
}


class SearchQuery(BaseModel):
    """住民の検索条件. Every criterion given must hold for one and the same version of a person."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    family_name_kana: KanaText | None = Field(
        default=None,
        description="氏 (フリガナ)。濁点・半濁点・小書き文字の違いは無視して一致",
        examples=["シズオカ"],
    )
    given_name_kana: KanaText | None = Field(
        default=None, description="名 (フリガナ) の前方一致。氏のフリガナと組み合わせて指定", examples=["タ"]
    )
    family_name: ShortText | None = Field(default=None, description="氏 (漢字) の完全一致", examples=["静岡"])
    given_name: ShortText | None = Field(
        default=None, description="名 (漢字) の前方一致。氏 (漢字) と組み合わせて指定", examples=["太"]
    )
    birth_date: BirthDate | None = Field(
        default=None, description="生年月日 (西暦 1980-04-01 または和暦 昭和55年4月1日・S55.4.1)"
    )
    town: ShortText | None = Field(default=None, description="町丁目 (住所の町名)", examples=["追手町"])
    town_code: str | None = Field(
        default=None, pattern=r"^\d{6,12}$", description="町丁目コード (住所辞書)", examples=["221015000100"]
    )
    lot: ShortText | None = Field(
        default=None,
        description="番地・号の前方一致。町丁目か町丁目コードと組み合わせて指定",
        examples=["5番"],
    )
    person_id: RecordId | None = Field(default=None, description="宛名番号")
    resident_code: ResidentCode | None = Field(
        default=None, description="住民票コード (今のコードと旧住民票コード)"
    )
    my_number: MyNumberInput | None = Field(
        default=None,
        repr=False,
        description="個人番号 (完全一致。平文では探さず、ブラインドインデックスで引く)",
    )
    my_number_index: str | None = Field(
        default=None, description="個人番号のブラインドインデックス (システムが設定)"
    )
    card_number: CardNumber | None = Field(
        default=None, description="在留カード等の番号 (完全一致)", examples=["AB12345678CD"]
    )
    household_id: RecordId | None = Field(default=None, description="世帯番号 (過去に属した人を含む)")
    include_removed: bool = Field(default=False, description="除票 (転出・死亡などで消除された人) も含める")
    limit: int = Field(
        default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"1ページの件数 (最大{MAX_LIMIT})"
    )
    next: str | None = Field(
        default=None, max_length=2000, description="次のページ (前の結果の next をそのまま指定)"
    )

    @field_validator("given_name_kana", "given_name", "lot")
    @classmethod
    def _with_its_partner(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A given name narrows a family name, a lot narrows a town: neither is an index alone."""
        partners, message = _NEEDS[str(info.field_name)]
        if value is not None and all(info.data.get(partner) is None for partner in partners):
            raise ValueError(message)
        return value

    @model_validator(mode="after")
    def _some_criterion(self) -> Self:
        if all(getattr(self, criterion) is None for criterion in _CRITERIA):
            raise ValueError("検索条件を一つ以上指定してください")
        return self

    def fingerprint(self) -> str:
        """Identifies the criteria (not the page), so a ``next`` token is used with its own query."""
        criteria = self.model_dump(mode="json", exclude={"limit", "next", "my_number"})
        return hashlib.sha256(json.dumps(criteria, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class IndexQuery:
    """One index partition, optionally narrowed to sort keys that start with ``prefix``."""

    index: SearchIndex
    partition: str
    prefix: str = ""


def plan(query: SearchQuery) -> IndexQuery | None:
    """The most selective index for the query; None when it names a person or household directly."""
    if query.person_id is not None or query.household_id is not None or query.resident_code is not None:
        return None
    if query.my_number_index is not None:
        return IndexQuery(SearchIndex.MY_NUMBER, f"MYNUM#{query.my_number_index}")
    if query.card_number is not None:
        return IndexQuery(SearchIndex.CARD, f"CARD#{query.card_number}")
    kana = name = address = birth = None
    if query.family_name_kana is not None:
        kana = IndexQuery(
            SearchIndex.KANA,
            f"KANA#{match_key(query.family_name_kana)}",
            match_key(query.given_name_kana or ""),
        )
    if query.family_name is not None:
        name = IndexQuery(
            SearchIndex.NAME, f"NAME#{text_key(query.family_name)}", text_key(query.given_name or "")
        )
    if query.town_code is not None:
        address = IndexQuery(SearchIndex.TOWN_CODE, f"TOWN#{query.town_code}", text_key(query.lot or ""))
    elif query.town is not None:
        address = IndexQuery(SearchIndex.ADDRESS, f"ADDR#{text_key(query.town)}", text_key(query.lot or ""))
    if query.birth_date is not None:
        birth = IndexQuery(SearchIndex.BIRTH, f"BIRTH#{query.birth_date.isoformat()}")
    # A name with the start of the given name, then a birth date, then an address with a lot,
    # then a family name alone, then a town alone.
    names = [candidate for candidate in (kana, name) if candidate is not None and candidate.prefix]
    lot = address if address is not None and address.prefix else None
    by_selectivity = [*names, birth, lot, kana, name, address]
    return next(candidate for candidate in by_selectivity if candidate is not None)


def matches(query: SearchQuery, record: PersonRecord) -> bool:
    """Does this version meet every criterion of the query?"""
    name, address = record.name, record.address
    checks = (
        (query.family_name_kana, lambda v: match_key(v) == match_key(name.family_name_kana)),
        (query.given_name_kana, lambda v: match_key(name.given_name_kana).startswith(match_key(v))),
        (query.family_name, lambda v: text_key(v) == text_key(name.family_name)),
        (query.given_name, lambda v: text_key(name.given_name).startswith(text_key(v))),
        (query.town, lambda v: text_key(v) == text_key(address.town)),
        (query.town_code, lambda v: v == address.town_code),
        (query.lot, lambda v: text_key(address.lot).startswith(text_key(v))),
        (query.person_id, lambda v: v == record.person_id),
        (query.household_id, lambda v: v == record.household_id),
        (query.resident_code, lambda v: v in (record.resident_code, *record.previous_resident_codes)),
        (query.my_number_index, lambda v: record.my_number is not None and v == record.my_number.blind_index),
        (query.card_number, lambda v: v == (record.foreign_resident and record.foreign_resident.card_number)),
    )
    if query.birth_date is not None and query.birth_date != record.birth_date:
        return False
    return all(check(value) for value, check in checks if value is not None)


def encode_cursor(query: SearchQuery, after: str) -> str:
    """The ``next`` token: the query's fingerprint and where the page ended, base64 (URL-safe)."""
    raw = json.dumps({"q": query.fingerprint(), "a": after}, ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_UNREADABLE_CURSOR = "next の値が正しくありません (前の結果の next をそのまま指定してください)"


class CursorInvalid(ValueError):
    """A ``next`` token that is unreadable or belongs to other criteria."""


def decode_cursor(query: SearchQuery, token: str) -> str:
    """Where the previous page ended; CursorInvalid (Japanese message) for a foreign token."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise CursorInvalid(_UNREADABLE_CURSOR) from None
    if not isinstance(data, dict) or not isinstance(data.get("a"), str):
        raise CursorInvalid(_UNREADABLE_CURSOR)
    if data.get("q") != query.fingerprint():
        raise CursorInvalid("next は同じ検索条件で指定してください")
    after: str = data["a"]
    return after


@dataclass(frozen=True)
class IndexHit:
    """A version an index (or a direct read by id) returned, and its place in the index's order."""

    sort_key: str
    record: PersonRecord


def position(index: SearchIndex | None, record: PersonRecord) -> str:
    """Where a version sits in an index's order (by person id when read directly by id)."""
    return record.person_id if index is None else index_keys(record)[index.sort_attribute]
