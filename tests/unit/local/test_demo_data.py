"""The demo municipality: repeatable, exact in size, and plausible person by person."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import date
from itertools import islice

import pytest
from juki_local.demo_data import WARD_CODES, WARDS, DemoHousehold, DemoPerson, age_on, generate

TODAY = date(2026, 4, 1)
KATAKANA = re.compile(r"[ァ-ヴー]+")
POSTAL = re.compile(r"42[024]-\d{4}")
LOT = re.compile(r"\d+番\d+号|\d+番地(の\d+)?")
RELATIONSHIP_SEX = {"妻": "female", "夫": "male", "父": "male", "母": "female", "子の妻": "female"}
FAMILY = {"世帯主", "妻", "夫", "子", "父", "母", "子の妻", "孫"}


def _households(residents: int = 1000, seed: int = 221007) -> list[DemoHousehold]:
    return list(generate(residents, seed=seed, today=TODAY))


@pytest.fixture(scope="module")
def households() -> list[DemoHousehold]:
    return _households(20_000)


def _people(households: list[DemoHousehold]) -> list[DemoPerson]:
    return [person for household in households for person in household.members]


def test_same_seed_gives_the_same_households() -> None:
    assert _households(seed=7) == _households(seed=7)


def test_different_seed_gives_different_households() -> None:
    assert _households(seed=7) != _households(seed=8)


@pytest.mark.parametrize("residents", [0, 1, 2, 3, 999, 1000, 1001])
def test_resident_count_is_exact(residents: int) -> None:
    assert sum(len(household.members) for household in _households(residents)) == residents


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        generate(-1)


def test_a_longer_run_starts_with_the_shorter_one() -> None:
    short = _households(500)
    assert _households(5000)[: len(short) - 1] == short[:-1]


def test_every_ward_appears_in_a_thousand_residents() -> None:
    assert {household.address.ward for household in _households(1000)} == {ward.name for ward in WARDS}


def test_wards_are_shizuoka_wards() -> None:
    assert WARD_CODES == {"葵区": "221015", "駿河区": "221023", "清水区": "221031"}


def test_names_are_kanji_with_katakana_readings(households: list[DemoHousehold]) -> None:
    for person in _people(households):
        assert KATAKANA.fullmatch(person.family_name_kana), person
        assert KATAKANA.fullmatch(person.given_name_kana), person
        assert person.family_name
        assert person.given_name
        assert not KATAKANA.fullmatch(person.family_name)


def test_the_same_name_always_has_the_same_reading(households: list[DemoHousehold]) -> None:
    readings: dict[str, set[str]] = {}
    for person in _people(households):
        readings.setdefault(person.family_name, set()).add(person.family_name_kana)
    assert all(len(kana) == 1 for kana in readings.values())


def test_each_household_has_exactly_one_head_and_it_comes_first(households: list[DemoHousehold]) -> None:
    for household in households:
        relationships = [member.relationship for member in household.members]
        assert relationships[0] == "世帯主"
        assert relationships.count("世帯主") == 1


def test_family_members_share_the_head_family_name(households: list[DemoHousehold]) -> None:
    for household in households:
        head = household.members[0]
        for member in household.members:
            if member.relationship in FAMILY:
                assert member.family_name == head.family_name
                assert member.family_name_kana == head.family_name_kana
            else:
                assert member.relationship == "同居人"


def test_sexes_follow_relationships(households: list[DemoHousehold]) -> None:
    for person in _people(households):
        expected = RELATIONSHIP_SEX.get(person.relationship)
        assert expected is None or person.sex == expected, person


def test_birth_dates_are_in_range_and_heads_are_adults(households: list[DemoHousehold]) -> None:
    for household in households:
        for person in household.members:
            assert date(1925, 1, 1) <= person.birth_date <= TODAY
        assert age_on(household.members[0].birth_date, TODAY) >= 18


def test_children_are_18_to_45_years_younger_than_their_parents(households: list[DemoHousehold]) -> None:
    checked = 0
    for household in households:
        members = household.members
        head = members[0]
        parents = [member for member in members if member.relationship in {"世帯主", "妻", "夫"}]
        children = [member for member in members if member.relationship == "子"]
        grandchildren = [member for member in members if member.relationship == "孫"]
        couples = [(parents, children)]
        if grandchildren:
            wives = [member for member in members if member.relationship == "子の妻"]
            couples.append(([children[0], *wives], grandchildren))
        couples.append(([head], [m for m in members if m.relationship in {"父", "母"}]))
        for older, younger in couples[:-1]:
            for parent in older:
                for child in younger:
                    assert 18 <= age_on(parent.birth_date, child.birth_date) <= 45, household
                    checked += 1
        for parent in couples[-1][1]:
            assert 18 <= age_on(parent.birth_date, head.birth_date) <= 45, household
    assert checked > 1000


def test_resident_since_is_after_the_head_came_of_age(households: list[DemoHousehold]) -> None:
    for household in households:
        head = household.members[0]
        assert age_on(head.birth_date, household.resident_since) >= 18
        assert household.resident_since <= TODAY


def test_addresses_look_like_shizuoka(households: list[DemoHousehold]) -> None:
    towns = {(ward.name, town.name) for ward in WARDS for town in ward.towns}
    for household in households:
        address = household.address
        assert (address.ward, address.town) in towns
        assert POSTAL.fullmatch(address.postal_code) or address.postal_code.startswith("421-")
        assert address.town_code.startswith(WARD_CODES[address.ward])
        assert re.fullmatch(r"\d{12}", address.town_code)
        assert LOT.fullmatch(address.lot), address.lot
        assert address.katagaki is None or address.katagaki.endswith("号室")
    share = sum(household.address.katagaki is not None for household in households) / len(households)
    assert 0.2 < share < 0.3


def test_household_sizes_resemble_the_city(households: list[DemoHousehold]) -> None:
    sizes = Counter(len(household.members) for household in households[:-1])
    total = sum(sizes.values())
    assert 0.33 < sizes[1] / total < 0.43
    assert 0.24 < sizes[2] / total < 0.34
    assert sizes[5] > 0
    assert max(sizes) >= 6
    assert 2.0 < sum(size * count for size, count in sizes.items()) / total < 2.4


def test_relationships_cover_the_usual_kinds(households: list[DemoHousehold]) -> None:
    seen = {person.relationship for person in _people(households)}
    assert seen >= {"世帯主", "妻", "夫", "子", "父", "母", "孫", "子の妻", "同居人"}


def test_generation_streams_quickly() -> None:
    started = time.perf_counter()
    count = sum(len(household.members) for household in islice(generate(50_000, today=TODAY), None))
    assert count == 50_000
    assert time.perf_counter() - started < 10
