"""個人番号 and 住民票コード: check digits, normalisation and the errors for refused input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from juki.domain.codes import (
    MY_NUMBER_INVALID,
    RESIDENT_CODE_INVALID,
    is_valid_my_number,
    is_valid_resident_code,
    my_number_check_digit,
    my_number_remainder,
    normalise_my_number,
    normalise_resident_code,
    parse_my_number,
    parse_resident_code,
    resident_code_check_digit,
    resident_code_issues,
    resident_code_remainder,
)
from juki.domain.errors import DomainError

# Published examples: "123456789018" is the sample number of the JPMyNumber package's
# documentation, "983205673214" the worked example of a Qiita article on 平成26年総務省令第85号
# 第5条; the others are computed by hand from the same formula.
VALID_MY_NUMBERS = ["123456789018", "983205673214", "111111111118", "000000000000"]
INVALID_MY_NUMBERS = ["123456789019", "983205673210", "12345678901", "1234567890180", "12345678901a"]

# The rule assumed for 住民票コード (modulus 11, weights 2..7 from the right); see the ADR 0007.
VALID_RESIDENT_CODES = ["00000000000", "12345678903", "24727059608", "99999999995"]
INVALID_RESIDENT_CODES = ["12345678901", "24727059609", "1234567890", "123456789012", "1234567890x"]

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


def test_my_number_weights_follow_the_ordinance() -> None:
    # P1 (just left of the check digit) has weight 2, P6 weight 7, P7 weight 2, P11 weight 6.
    assert my_number_remainder("00000000001") == 2
    assert my_number_remainder("00000100000") == 7
    assert my_number_remainder("00001000000") == 2
    assert my_number_remainder("10000000000") == 6
    # 1·6 + 2·5 + 3·4 + 4·3 + 5·2 + 6·7 + 7·6 + 8·5 + 9·4 + 0·3 + 1·2 = 212; 212 mod 11 = 3; 11 − 3 = 8
    assert my_number_check_digit("12345678901") == 8


def test_remainders_0_and_1_give_check_digit_0() -> None:
    assert my_number_remainder("00000000000") == 0 and my_number_check_digit("00000000000") == 0
    first11 = next(f"{n:011d}" for n in range(10**6) if my_number_remainder(f"{n:011d}") == 1)
    assert my_number_check_digit(first11) == 0
    assert resident_code_check_digit("0000000000") == 0
    first10 = next(f"{n:010d}" for n in range(10**6) if resident_code_remainder(f"{n:010d}") == 1)
    assert resident_code_check_digit(first10) == 0


@pytest.mark.parametrize("number", VALID_MY_NUMBERS)
def test_known_valid_my_numbers(number: str) -> None:
    assert is_valid_my_number(number)


@pytest.mark.parametrize("number", INVALID_MY_NUMBERS)
def test_known_invalid_my_numbers(number: str) -> None:
    assert not is_valid_my_number(number)


def test_resident_code_weights_are_2_to_7_from_the_right() -> None:
    assert [resident_code_remainder(f"{10**p:010d}") for p in range(10)] == [2, 3, 4, 5, 6, 7, 2, 3, 4, 5]
    # 1·5 + 2·4 + 3·3 + 4·2 + 5·7 + 6·6 + 7·5 + 8·4 + 9·3 + 0·2 = 195; 195 mod 11 = 8; 11 − 8 = 3
    assert resident_code_check_digit("1234567890") == 3


@pytest.mark.parametrize("code", VALID_RESIDENT_CODES)
def test_known_valid_resident_codes(code: str) -> None:
    assert is_valid_resident_code(code)


@pytest.mark.parametrize("code", INVALID_RESIDENT_CODES)
def test_known_invalid_resident_codes(code: str) -> None:
    assert not is_valid_resident_code(code)


def test_full_width_digits_are_not_valid_unnormalised() -> None:
    assert not is_valid_my_number("１２３４５６７８９０１８")
    assert not is_valid_resident_code("１２３４５６７８９０３")


def _single_digit_changes(number: str) -> list[str]:
    return [
        number[:i] + d + number[i + 1 :] for i in range(len(number)) for d in "0123456789" if d != number[i]
    ]


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_my_number_single_digit_changes(first11: str) -> None:
    """Every single-digit change is detected, except one that moves the remainder between 0 and 1
    (both give check digit 0): the formula's own limit, which the ordinance accepts."""
    number = first11 + str(my_number_check_digit(first11))
    before = my_number_remainder(first11)
    for changed in _single_digit_changes(number):
        if is_valid_my_number(changed):
            assert {before, my_number_remainder(changed[:-1])} == {0, 1}


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_resident_code_single_digit_changes(first10: str) -> None:
    code = first10 + str(resident_code_check_digit(first10))
    before = resident_code_remainder(first10)
    for changed in _single_digit_changes(code):
        if is_valid_resident_code(changed):
            assert {before, resident_code_remainder(changed[:-1])} == {0, 1}


def test_every_single_digit_change_of_the_known_numbers_is_detected() -> None:
    for number in ["123456789018", "983205673214"]:
        assert not any(is_valid_my_number(changed) for changed in _single_digit_changes(number))
    for code in ["12345678903", "24727059608"]:
        assert not any(is_valid_resident_code(changed) for changed in _single_digit_changes(code))


def test_the_undetected_case_exists() -> None:
    """Remainder 0 → 1 by one digit: both numbers are valid (documented, not a bug)."""
    assert is_valid_my_number("100000000030") and is_valid_my_number("120000000030")
    assert is_valid_resident_code("10000000030") and is_valid_resident_code("13000000030")


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_appending_the_check_digit_makes_a_valid_my_number(first11: str) -> None:
    assert is_valid_my_number(first11 + str(my_number_check_digit(first11)))


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_appending_the_check_digit_makes_a_valid_resident_code(first10: str) -> None:
    assert is_valid_resident_code(first10 + str(resident_code_check_digit(first10)))


@given(st.text(alphabet="0123456789", min_size=11, max_size=11), digits)
def test_only_the_computed_check_digit_is_valid(first11: str, last: str) -> None:
    assert is_valid_my_number(first11 + last) == (int(last) == my_number_check_digit(first11))


@pytest.mark.parametrize("bad", ["1234567890", "123456789012", "１２３４５６７８９０１", "1234567890a", ""])
def test_my_number_check_digit_refuses_anything_but_11_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        my_number_check_digit(bad)


@pytest.mark.parametrize("bad", ["123456789", "12345678901", "１２３４５６７８９０", "123456789a", ""])
def test_resident_code_check_digit_refuses_anything_but_10_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        resident_code_check_digit(bad)


@pytest.mark.parametrize(
    "typed",
    [
        "123456789018",
        "１２３４５６７８９０１８",  # full-width digits
        "1234-5678-9018",
        "１２３４－５６７８－９０１８",  # full-width hyphen-minus
        "1234 5678 9018",
        "１２３４　５６７８　９０１８",  # ideographic space
        "1234ー5678ー9018",  # the long-vowel mark an IME gives for "-"
        "1234‐5678−9018",  # hyphen and minus sign
        " 123456789018\t",
    ],
)
def test_normalise_my_number(typed: str) -> None:
    assert normalise_my_number(typed) == "123456789018"
    assert parse_my_number(typed) == "123456789018"


@pytest.mark.parametrize(
    "typed",
    ["12345678901", "1234567890181", "12345678901８a", "1234.5678.9018", "一二三四五六七八九〇一八", ""],
)
def test_normalise_my_number_refuses_anything_but_12_digits(typed: str) -> None:
    with pytest.raises(DomainError) as raised:
        normalise_my_number(typed, field="members[0].my_number")
    assert raised.value.code == MY_NUMBER_INVALID
    assert raised.value.field == "members[0].my_number"
    assert raised.value.message == "個人番号は12桁の数字で入力してください"


def test_non_ascii_digits_that_nfkc_keeps_are_refused() -> None:
    with pytest.raises(DomainError):
        normalise_my_number("١٢٣٤٥٦٧٨٩٠١٨")  # Arabic-Indic digits are digits, but not ASCII


def test_parse_my_number_refuses_a_wrong_check_digit_without_echoing_the_number() -> None:
    with pytest.raises(DomainError) as raised:
        parse_my_number("1234-5678-9019")
    assert raised.value.code == MY_NUMBER_INVALID
    assert raised.value.field == "my_number"
    assert "検査用数字" in raised.value.message
    assert "9019" not in raised.value.message


def test_normalise_and_parse_resident_code() -> None:
    assert normalise_resident_code("１２３４５－６７８９０３") == "12345678903"
    assert parse_resident_code("1234 5678 903") == "12345678903"
    with pytest.raises(DomainError) as raised:
        parse_resident_code("12345678901")
    assert (raised.value.code, raised.value.field) == (RESIDENT_CODE_INVALID, "resident_code")
    assert "検査数字" in raised.value.message
    with pytest.raises(DomainError) as short:
        normalise_resident_code("1234567890")
    assert short.value.message == "住民票コードは11桁の数字で入力してください"


def test_resident_code_issues_name_each_invalid_code_by_position() -> None:
    issues = resident_code_issues(
        ["12345678903", "12345678901", "24727059608", "１２３４５６７８９０３", "123"]
    )
    assert [(i.code, i.field, i.severity) for i in issues] == [
        (RESIDENT_CODE_INVALID, "codes[1]", "error"),
        (RESIDENT_CODE_INVALID, "codes[3]", "error"),
        (RESIDENT_CODE_INVALID, "codes[4]", "error"),
    ]
    assert issues[0].message == "2件目の住民票コードが正しくありません（検査数字が一致しません）"
    assert issues[1].message == "4件目の住民票コードが正しくありません（11桁の半角数字ではありません）"
    assert resident_code_issues(VALID_RESIDENT_CODES) == ()
