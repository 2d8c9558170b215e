"""Search keys, the query model and its plan: pure, no ledger."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from juki.domain.search import (
    CursorInvalid,
    IndexQuery,
    SearchIndex,
    SearchQuery,
    decode_cursor,
    encode_cursor,
    index_keys,
    matches,
    plan,
    position,
    text_key,
)
from juki.domain.values import Address, Sex
from ledger_fixtures import HEAD, person
from pydantic import ValidationError

HEAD_RECORD = person(HEAD, "家康", "イエヤス", "1975-01-31", Sex.MALE, "世帯主")


def query(**criteria: Any) -> SearchQuery:
    return SearchQuery.model_validate(criteria)


def test_index_keys_of_a_version() -> None:
    coded = HEAD_RECORD.model_copy(
        update={
            "address": HEAD_RECORD.address.model_copy(update={"town_code": "221015000100", "lot": "５番１号"})
        }
    )
    assert index_keys(coded) == {
        "kana_pk": "KANA#スンフ",
        "kana_sk": f"イエヤス#1975-01-31#{HEAD}",
        "name_pk": "NAME#駿府",
        "name_sk": f"家康#{HEAD}",
        "birth_pk": "BIRTH#1975-01-31",
        "birth_sk": HEAD,
        "address_pk": "ADDR#追手町",
        "address_sk": f"5番1号#{HEAD}",
        "town_code_pk": "TOWN#221015000100",
        "town_code_sk": f"5番1号#{HEAD}",
    }


def test_an_address_without_town_code_has_no_town_code_key() -> None:
    keys = index_keys(HEAD_RECORD)
    assert "town_code_pk" not in keys and "town_code_sk" not in keys
    sparse = {
        "town_code_pk",
        "my_number_pk",
        "card_pk",
    }  # only when the record has a town code, 個人番号, card
    assert {index.partition_attribute for index in SearchIndex} - sparse <= set(keys)


@pytest.mark.parametrize("written", ["スンプ", "スンブ", "すんぷ", "ｽﾝﾌﾟ", "スンフ", " スン プ "])
def test_voicing_marks_small_kana_and_width_are_ignored(written: str) -> None:
    found = plan(query(family_name_kana=written))
    assert found == IndexQuery(SearchIndex.KANA, "KANA#スンフ", "")
    assert matches(query(family_name_kana=written), HEAD_RECORD)


def test_small_kana_match_their_large_forms() -> None:
    small = HEAD_RECORD.model_copy(
        update={"name": HEAD_RECORD.name.model_copy(update={"family_name_kana": "キャッツ"})}
    )
    assert index_keys(small)["kana_pk"] == "KANA#キヤツツ"
    assert matches(query(family_name_kana="キヤツツ"), small)
    assert matches(query(family_name_kana="ギャッヅ"), small)


def test_given_name_kana_is_a_prefix() -> None:
    assert plan(query(family_name_kana="スンプ", given_name_kana="イエ")) == IndexQuery(
        SearchIndex.KANA, "KANA#スンフ", "イエ"
    )
    assert matches(query(family_name_kana="スンプ", given_name_kana="イエ"), HEAD_RECORD)
    assert not matches(query(family_name_kana="スンプ", given_name_kana="ノブ"), HEAD_RECORD)


def test_kanji_names_and_towns_are_compared_without_spaces_and_widths() -> None:
    assert text_key(" 追手町　") == "追手町"
    assert text_key("５番１号") == "5番1号"
    assert matches(query(family_name="駿 府", given_name="家"), HEAD_RECORD)
    assert matches(query(town="追手町", lot="５番"), HEAD_RECORD)
    assert not matches(query(town="追手町", lot="6番"), HEAD_RECORD)


@pytest.mark.parametrize(
    "written", ["1975-01-31", "昭和50年1月31日", "S50.1.31", "Ｓ５０．１．３１", "19750131"]
)
def test_birth_dates_in_either_calendar(written: str) -> None:
    parsed = query(birth_date=written)
    assert parsed.birth_date == date(1975, 1, 31)
    assert plan(parsed) == IndexQuery(SearchIndex.BIRTH, "BIRTH#1975-01-31")
    assert matches(parsed, HEAD_RECORD)


def test_the_most_selective_index_is_planned() -> None:
    full = {"family_name_kana": "スンプ", "birth_date": "1975-01-31", "town": "追手町"}
    assert plan(query(**full)).index == SearchIndex.BIRTH  # type: ignore[union-attr]
    assert plan(query(**full, given_name_kana="イ")).index == SearchIndex.KANA  # type: ignore[union-attr]
    assert plan(query(town="追手町", lot="5", family_name="駿府")).index == SearchIndex.ADDRESS  # type: ignore[union-attr]
    assert plan(query(town="追手町", town_code="221015000100")).index == SearchIndex.TOWN_CODE  # type: ignore[union-attr]
    assert plan(query(person_id=HEAD, family_name="駿府")) is None
    assert plan(query(household_id=HEAD)) is None


def test_every_criterion_must_hold_on_the_same_version() -> None:
    assert matches(query(family_name="駿府", birth_date="1975-01-31", person_id=HEAD), HEAD_RECORD)
    assert not matches(query(family_name="駿府", birth_date="1975-02-01"), HEAD_RECORD)
    assert not matches(query(family_name="駿府", household_id="0000000027"), HEAD_RECORD)


def test_position_is_the_sort_key_of_the_planned_index() -> None:
    assert position(SearchIndex.KANA, HEAD_RECORD) == f"イエヤス#1975-01-31#{HEAD}"
    assert position(None, HEAD_RECORD) == HEAD


@pytest.mark.parametrize(
    ("criteria", "field", "message"),
    [
        ({}, None, "検索条件を一つ以上指定してください"),
        ({"include_removed": True}, None, "検索条件を一つ以上指定してください"),
        ({"family_name_kana": "shizuoka"}, "family_name_kana", "フリガナは全角カタカナ"),
        ({"family_name_kana": "静岡"}, "family_name_kana", "フリガナは全角カタカナ"),
        ({"given_name_kana": "タロウ"}, "given_name_kana", "氏のフリガナも指定してください"),
        ({"given_name": "太郎"}, "given_name", "氏 (漢字) も指定してください"),
        ({"lot": "5番"}, "lot", "町丁目か町丁目コードも指定してください"),
        ({"birth_date": "平成32年1月1日"}, "birth_date", "平成32年は存在しません"),
        ({"birth_date": "1975-02-30"}, "birth_date", "存在しない日付です"),
        ({"person_id": "123"}, "person_id", None),
        ({"town": "追手町", "limit": 101}, "limit", None),
    ],
)
def test_unusable_queries_are_refused_in_japanese(
    criteria: dict[str, Any], field: str | None, message: str | None
) -> None:
    with pytest.raises(ValidationError) as refused:
        SearchQuery.model_validate(criteria)
    (error,) = refused.value.errors()
    assert error["loc"] == ((field,) if field else ())
    if message is not None:
        assert message in error["msg"]


def test_a_cursor_belongs_to_its_query() -> None:
    first = query(family_name_kana="スンプ", limit=5)
    token = encode_cursor(first, "イエヤス#1975-01-31#0000000019")
    assert decode_cursor(first.model_copy(update={"limit": 10}), token) == "イエヤス#1975-01-31#0000000019"
    with pytest.raises(CursorInvalid, match="同じ検索条件"):
        decode_cursor(query(family_name_kana="スンプ", include_removed=True), token)
    with pytest.raises(CursorInvalid, match="正しくありません"):
        decode_cursor(first, "not a token!")
    with pytest.raises(CursorInvalid, match="正しくありません"):
        decode_cursor(first, "WzFd")  # base64 of "[1]"


def test_address_without_lot_matches_any_lot() -> None:
    other = HEAD_RECORD.model_copy(
        update={"address": Address(postal_code="420-0853", ward="葵区", town="追手町", lot="9番")}
    )
    assert matches(query(town="追手町"), other)


def test_the_one_description_declares_every_search_index() -> None:
    from juki_infra.description import describe

    declared = {(i.name, i.partition_key, i.sort_key) for i in describe("221007").table("ledger").indexes}
    assert {(i.value, i.partition_attribute, i.sort_attribute) for i in SearchIndex} <= declared
