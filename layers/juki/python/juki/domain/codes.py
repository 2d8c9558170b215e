"""個人番号 (``my_number``) and 住民票コード (``resident_code``): normalisation and check digits.

個人番号: twelve digits, the last a check digit (検査用数字). The formula is 第5条 of the
省令 (平成26年総務省令第85号, 「行政手続における特定の個人を識別するための番号の利用等に関する法律の
規定による通知カード及び個人番号カード並びに情報提供ネットワークシステムによる特定個人情報の提供等に
関する省令」, the 算式 that 施行令第8条 refers to): with the first eleven digits P1..P11 counted
from the right (P1 is the digit just left of the check digit), Qn = n + 1 for 1 ≤ n ≤ 6 and
n − 5 for 7 ≤ n ≤ 11; r = Σ Pn × Qn mod 11; the check digit is 0 when r ≤ 1, else 11 − r.
The weights from the left are therefore 6 5 4 3 2 7 6 5 4 3 2.

住民票コード: ten random digits and a check digit (検査数字, 住民基本台帳法施行規則第1条), computed by
the 算式 of 平成14年総務省告示第436号. The text of that notice could not be checked while writing
this module; the rule implemented is modulus 11 with weights 2 to 7 from the right (2, 3, 4, 5,
6, 7, 2, 3, 4, 5), check digit 0 when the remainder is 0 or 1, else 11 − remainder — an
assumption recorded in docs/decisions/0007-resident-code-pool.md.

Both are modulus-11 codes that map the remainders 0 and 1 to the same check digit 0, so a
single-digit change is detected except when it moves the remainder between 0 and 1.

The values are never put into error messages: a 個人番号 is specific personal information.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

from juki.domain.errors import DomainError, Issue

MY_NUMBER_LENGTH = 12
RESIDENT_CODE_LENGTH = 11

MY_NUMBER_INVALID = "MY_NUMBER_INVALID"
RESIDENT_CODE_INVALID = "RESIDENT_CODE_INVALID"

# After NFKC (full-width digits, hyphen-minus and ideographic space become ASCII): the
# separators people type between groups of digits, including the look-alikes an IME produces.
_SEPARATORS = str.maketrans("", "", " \t-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc")


def _weighted_remainder(digits: str, weights: Sequence[int]) -> int:
    """Σ digit × weight mod 11, the digits and the weights both counted from the right."""
    return sum(int(digit) * weights[position] for position, digit in enumerate(reversed(digits))) % 11


def _ascii_digits(text: str, length: int) -> bool:
    return len(text) == length and text.isascii() and text.isdigit()


def _check_digit_from(remainder: int) -> int:
    return 0 if remainder <= 1 else 11 - remainder


# -- 個人番号 ------------------------------------------------------------------------------
_MY_NUMBER_WEIGHTS = tuple(n + 1 if n <= 6 else n - 5 for n in range(1, MY_NUMBER_LENGTH))


def my_number_remainder(first11: str) -> int:
    """r = Σ Pn × Qn mod 11 of the eleven digits before the check digit."""
    if not _ascii_digits(first11, MY_NUMBER_LENGTH - 1):
        raise ValueError("eleven ASCII digits expected")
    return _weighted_remainder(first11, _MY_NUMBER_WEIGHTS)


def my_number_check_digit(first11: str) -> int:
    return _check_digit_from(my_number_remainder(first11))


def is_valid_my_number(text: str) -> bool:
    """True for exactly twelve ASCII digits whose last digit is the check digit (the stored form;
    normalise what a person typed with ``normalise_my_number`` first)."""
    return _ascii_digits(text, MY_NUMBER_LENGTH) and my_number_check_digit(text[:-1]) == int(text[-1])


def _typed_digits(text: str, length: int, code: str, message: str, field: str) -> str:
    """``length`` ASCII digits from what was typed: NFKC (full-width digits), separators removed."""
    digits = unicodedata.normalize("NFKC", text).translate(_SEPARATORS)
    if not _ascii_digits(digits, length):
        raise DomainError(code, message, field)
    return digits


def _checked(digits: str, valid: Callable[[str], bool], code: str, message: str, field: str) -> str:
    if not valid(digits):
        raise DomainError(code, message, field)
    return digits


def normalise_my_number(text: str, field: str = "my_number") -> str:
    """Twelve ASCII digits from what was typed; the check digit is checked by ``parse_my_number``."""
    return _typed_digits(
        text, MY_NUMBER_LENGTH, MY_NUMBER_INVALID, "個人番号は12桁の数字で入力してください", field
    )


def parse_my_number(text: str, field: str = "my_number") -> str:
    """The normalised 個人番号, refused unless its check digit is right."""
    message = "個人番号の検査用数字が一致しません。番号を確認してください"
    return _checked(normalise_my_number(text, field), is_valid_my_number, MY_NUMBER_INVALID, message, field)


# -- 住民票コード ---------------------------------------------------------------------------
_RESIDENT_CODE_WEIGHTS = tuple(2 + position % 6 for position in range(RESIDENT_CODE_LENGTH - 1))


def resident_code_remainder(first10: str) -> int:
    if not _ascii_digits(first10, RESIDENT_CODE_LENGTH - 1):
        raise ValueError("ten ASCII digits expected")
    return _weighted_remainder(first10, _RESIDENT_CODE_WEIGHTS)


def resident_code_check_digit(first10: str) -> int:
    return _check_digit_from(resident_code_remainder(first10))


def is_valid_resident_code(text: str) -> bool:
    """True for exactly eleven ASCII digits whose last digit is the check digit."""
    return _ascii_digits(text, RESIDENT_CODE_LENGTH) and resident_code_check_digit(text[:-1]) == int(text[-1])


def normalise_resident_code(text: str, field: str = "resident_code") -> str:
    message = "住民票コードは11桁の数字で入力してください"
    return _typed_digits(text, RESIDENT_CODE_LENGTH, RESIDENT_CODE_INVALID, message, field)


def parse_resident_code(text: str, field: str = "resident_code") -> str:
    message = "住民票コードの検査数字が一致しません。コードを確認してください"
    return _checked(
        normalise_resident_code(text, field), is_valid_resident_code, RESIDENT_CODE_INVALID, message, field
    )


def resident_code_issues(codes: Sequence[str], field: str = "codes") -> tuple[Issue, ...]:
    """One error per code that is not an exact, valid 住民票コード, naming its position (1-based
    in the message, 0-based in the field): codes from the CS are taken as they are, never
    normalised."""
    issues: list[Issue] = []
    for index, code in enumerate(codes):
        if is_valid_resident_code(code):
            continue
        reason = (
            "検査数字が一致しません"
            if _ascii_digits(code, RESIDENT_CODE_LENGTH)
            else "11桁の半角数字ではありません"
        )
        issues.append(
            Issue(
                code=RESIDENT_CODE_INVALID,
                message=f"{index + 1}件目の住民票コードが正しくありません（{reason}）",
                field=f"{field}[{index}]",
            )
        )
    return tuple(issues)
