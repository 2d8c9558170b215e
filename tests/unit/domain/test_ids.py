import pytest
from juki.domain.ids import check_digit, is_valid_id, make_id


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        # weights 2,3,4,5,6,7,2,3,4 from the right; 11 - (sum mod 11); 10 and 11 become 0
        ("000000001", 9),  # 1*2 = 2 → 11 - 2
        ("000000010", 8),  # 1*3 = 3 → 11 - 3
        ("123456789", 2),  # 18+24+28+30+30+28+6+6+4 = 174; 174 mod 11 = 9 → 2
    ],
)
def test_check_digit_known_values(digits: str, expected: int) -> None:
    assert check_digit(digits) == expected


def test_remainder_zero_and_one_give_zero() -> None:
    # 5 * 2 = 10 → 11 - 10 = 1; 11 → 0 remainder → 11 → 0
    assert check_digit("000000005") == 1
    assert check_digit("000000011") == 6  # 1*2 + 1*3 = 5 → 6
    assert check_digit("000000000") == 0  # sum 0 → 11 → 0
    assert check_digit("000000104") == 0  # 4*2 + 1*4 = 12 → 1 → 10 → 0


def test_make_id_round_trip() -> None:
    for sequence in (1, 2, 99, 123456, 999_999_999):
        value = make_id(sequence)
        assert len(value) == 10
        assert is_valid_id(value)


def test_a_changed_digit_is_detected() -> None:
    value = make_id(4321)
    for position in range(9):
        digit = int(value[position])
        changed = value[:position] + str((digit + 1) % 10) + value[position + 1 :]
        assert not is_valid_id(changed)


@pytest.mark.parametrize("bad", ["", "123", "abcdefghij", "00000000190", "０００００００００１"])
def test_malformed_ids_are_invalid(bad: str) -> None:
    assert not is_valid_id(bad)


@pytest.mark.parametrize("sequence", [0, -1, 10**9])
def test_sequence_out_of_range(sequence: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        make_id(sequence)
