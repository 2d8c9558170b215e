"""Person ids (宛名番号) and household ids (世帯番号): sequence numbers with a check digit.

The check digit is modulus 11 with weights 2 to 7 (standard spec §1, j130): the digits of
the sequence number are weighted 2, 3, 4, 5, 6, 7, 2, 3, … from the right, the weighted sum
is divided by 11, and the check digit is 11 minus the remainder; a result of 10 or 11
becomes 0.
"""

from __future__ import annotations

SEQUENCE_DIGITS = 9
ID_LENGTH = SEQUENCE_DIGITS + 1
_WEIGHTS = (2, 3, 4, 5, 6, 7)


def check_digit(sequence_digits: str) -> int:
    if not sequence_digits.isdigit():
        raise ValueError("digits only")
    total = sum(
        int(digit) * _WEIGHTS[position % len(_WEIGHTS)]
        for position, digit in enumerate(reversed(sequence_digits))
    )
    result = 11 - total % 11
    return 0 if result >= 10 else result


def make_id(sequence: int) -> str:
    """The id for a sequence number: nine digits, then the check digit."""
    if not 0 < sequence < 10**SEQUENCE_DIGITS:
        raise ValueError(f"sequence out of range: {sequence}")
    digits = f"{sequence:0{SEQUENCE_DIGITS}d}"
    return f"{digits}{check_digit(digits)}"


def is_valid_id(value: str) -> bool:
    return (
        len(value) == ID_LENGTH
        and value.isascii()
        and value.isdigit()
        and check_digit(value[:-1]) == int(value[-1])
    )
