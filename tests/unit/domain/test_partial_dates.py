from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from juki.domain.dates import PartialDate, era_of, parse_date, to_seireki, to_wareki, western_year
from pydantic import ValidationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-05-01", date(2019, 5, 1)),
        ("2019/5/1", date(2019, 5, 1)),
        ("20190501", date(2019, 5, 1)),
        ("2019年5月1日", date(2019, 5, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("令和1年5月1日", date(2019, 5, 1)),
        ("R1.5.1", date(2019, 5, 1)),
        ("R01.05.01", date(2019, 5, 1)),
        ("r1/5/1", date(2019, 5, 1)),
        ("H31.4.30", date(2019, 4, 30)),
        ("S55.4.1", date(1980, 4, 1)),
        ("T15.12.24", date(1926, 12, 24)),
        ("M45.7.29", date(1912, 7, 29)),
        ("S64.1.7", date(1989, 1, 7)),
        ("H1.1.8", date(1989, 1, 8)),
        ("明治元年10月23日", date(1868, 10, 23)),
        ("大正元年7月30日", date(1912, 7, 30)),
        ("昭和元年12月25日", date(1926, 12, 25)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("２０１９－０５－０１", date(2019, 5, 1)),
        ("Ｒ１．５．１", date(2019, 5, 1)),
        ("令和２年２月２９日", date(2020, 2, 29)),
        (" 2019-05-01 ", date(2019, 5, 1)),
    ],
)
def test_parse_date_accepts(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("平成32年1月1日", "平成32年は存在しません"),
        ("H32.1.1", "平成32年は存在しません"),
        ("令和0年5月1日", "令和0年は存在しません"),
        ("明治46年1月1日", "明治46年は存在しません"),
        ("昭和64年1月8日", "昭和64年1月8日は昭和の期間外です"),
        ("令和元年4月30日", "令和元年4月30日は令和の期間外です"),
        ("T1.7.29", "大正の期間外です"),
        ("2019-02-29", "存在しない日付です"),
        ("令和元年13月1日", "存在しない日付です"),
        ("R1.4.31", "存在しない日付です"),
        ("1868-10-22", "明治元年 \\(1868年10月23日\\) より前"),
        ("2019-5", "日付の形式が正しくありません"),
        ("X1.5.1", "日付の形式が正しくありません"),
        ("R1.5/1", "日付の形式が正しくありません"),
        ("昭和○○年", "日付の形式が正しくありません"),
        ("", "日付の形式が正しくありません"),
    ],
)
def test_parse_date_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_date(text)


@pytest.mark.parametrize(
    ("era", "year", "expected"),
    [("令和", 1, 2019), ("平成", 31, 2019), ("昭和", 64, 1989), ("大正", 15, 1926), ("明治", 45, 1912)],
)
def test_western_year(era: str, year: int, expected: int) -> None:
    assert western_year(era, year) == expected


def test_era_of_and_to_seireki() -> None:
    assert era_of(date(1989, 1, 7)) == ("昭和", 64)
    assert era_of(date(1989, 1, 8)) == ("平成", 1)
    assert to_seireki(date(1980, 4, 1)) == "1980年4月1日"


@given(st.dates(min_value=date(1868, 10, 23), max_value=date(2100, 12, 31)))
def test_round_trip(day: date) -> None:
    assert parse_date(to_wareki(day)) == day
    assert parse_date(day.isoformat()) == day
    assert PartialDate.parse(to_wareki(day)).to_date() == day


@pytest.mark.parametrize(
    ("text", "wareki", "earliest", "latest"),
    [
        ("昭和○○年頃", "昭和○○年頃", date(1926, 12, 25), date(1989, 1, 7)),
        ("昭和〇〇年", "昭和○○年", date(1926, 12, 25), date(1989, 1, 7)),
        ("昭和55年", "昭和55年", date(1980, 1, 1), date(1980, 12, 31)),
        ("昭和55年4月", "昭和55年4月", date(1980, 4, 1), date(1980, 4, 30)),
        ("昭和55年4月1日頃", "昭和55年4月1日頃", date(1980, 4, 1), date(1980, 4, 1)),
        ("平成元年頃", "平成元年頃", date(1989, 1, 8), date(1989, 12, 31)),
        ("昭和64年", "昭和64年", date(1989, 1, 1), date(1989, 1, 7)),
        ("明治○○年12月", "明治○○年12月", date(1868, 12, 1), date(1911, 12, 31)),
        ("大正○○年2月29日", "大正○○年2月29日", date(1916, 2, 29), date(1924, 2, 29)),
        ("令和○○年4月", "令和○○年4月", date(2020, 4, 1), date(9999, 4, 30)),
        ("1980年", "昭和55年", date(1980, 1, 1), date(1980, 12, 31)),
        ("1989年2月頃", "平成元年2月頃", date(1989, 2, 1), date(1989, 2, 28)),
        ("S55.4.1", "昭和55年4月1日", date(1980, 4, 1), date(1980, 4, 1)),
        ("2019-05-01", "令和元年5月1日", date(2019, 5, 1), date(2019, 5, 1)),
    ],
)
def test_partial_date_display_and_bounds(text: str, wareki: str, earliest: date, latest: date) -> None:
    partial = PartialDate.parse(text)
    assert partial.to_wareki() == wareki
    assert (partial.earliest(), partial.latest()) == (earliest, latest)
    assert PartialDate.parse(wareki) == partial.model_copy(update={"era": partial.era or era_of(earliest)[0]})


@pytest.mark.parametrize(
    ("text", "complete", "day"),
    [
        ("昭和55年4月1日", True, date(1980, 4, 1)),
        ("昭和55年4月1日頃", False, None),
        ("昭和55年4月", False, None),
        ("昭和○○年頃", False, None),
    ],
)
def test_partial_date_completeness(text: str, complete: bool, day: date | None) -> None:
    partial = PartialDate.parse(text)
    assert partial.is_complete is complete
    assert partial.to_date() == day


@pytest.mark.parametrize(
    ("partial", "seireki"),
    [
        (PartialDate(year=1980), "1980年"),
        (PartialDate(year=1980, month=4, approximate=True), "1980年4月頃"),
        (PartialDate(era="昭和", approximate=True), "昭和○○年頃"),
        (PartialDate.of(date(1980, 4, 1)), "1980年4月1日"),
    ],
)
def test_partial_date_in_seireki(partial: PartialDate, seireki: str) -> None:
    assert partial.to_seireki() == seireki


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"year": 1980, "day": 1}, "日を指定する場合は月も指定してください"),
        ({"month": 4}, "年または元号を指定してください"),
        ({}, "年または元号を指定してください"),
        ({"era": "平成", "year": 1980}, "1980年は平成の期間外です"),
        ({"year": 1989}, "元号が2つにまたがります"),
        ({"year": 1926, "month": 12}, "元号が2つにまたがります"),
        ({"era": "昭和", "year": 1989, "month": 2}, "昭和64年2月に当たる日がありません"),
        ({"year": 1981, "month": 2, "day": 29}, "1981年2月29日に当たる日がありません"),
        ({"year": 1868, "month": 1}, "1868年1月に当たる日がありません"),
        ({"year": 1980, "month": 13}, "less than or equal to 12"),
        ({"era": "慶応"}, "Input should be"),
        ({"year": 1980, "note": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_partial_date_validation(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PartialDate.model_validate(fields)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("平成32年", "平成32年は存在しません"),
        ("昭和64年1月8日", "に当たる日がありません"),
        ("昭和頃", "日付の形式が正しくありません"),
        ("1989年", "元号が2つにまたがります"),
    ],
)
def test_partial_date_parse_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PartialDate.parse(text)


def test_partial_date_is_frozen_and_reads_its_display_form_from_json() -> None:
    partial = PartialDate.model_validate_json('"昭和○○年頃"')
    assert partial == PartialDate(era="昭和", approximate=True)
    with pytest.raises(ValidationError):
        partial.approximate = False  # type: ignore[misc]
