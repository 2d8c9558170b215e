"""Search against the session's local system: the GSIs built from the one description, versions
written by real movements, past names and addresses, paging and removed records."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from juki.adapters.system import JST
from juki.bootstrap import Services
from juki.domain.codes import resident_code_check_digit
from juki.domain.commands import MovementCommand
from juki.domain.errors import DomainError, Forbidden
from juki.domain.model import MovementStatus
from juki.domain.search import SearchQuery
from juki.domain.staff import Actor, Role
from juki.services.search import SearchResult
from juki_local.system import LocalSystem
from pydantic import TypeAdapter

CLERK = Actor("S1001", frozenset({Role.CLERK}), "葵区役所", "T1", "caller", "search-clerk")
APPROVER = Actor("S2001", frozenset({Role.APPROVER}), "葵区役所", "T2", "caller", "search-approver")
commands: TypeAdapter[MovementCommand] = TypeAdapter(MovementCommand)
TODAY = datetime.now(JST).date()
PLAIN_KANA = "アイウエオナニヌネノマミムメモラリルレロ"  # no voicing marks, no small forms
KANJI = "松竹梅桜桃杉桐柏楓榎欅椿楠檜柳栗"


def unique(alphabet: str, length: int = 5) -> str:
    return "".join(random.choice(alphabet) for _ in range(length))


def day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def settle(services: Services, body: dict[str, Any]) -> list[str]:
    """Enter and approve a movement; the ids of the persons it made (none for other kinds)."""
    draft = services.movements.enter(commands.validate_python(body), CLERK)
    outcome = services.movements.approve(draft.movement_id, APPROVER, 30)
    assert outcome.movement.status == MovementStatus.FINAL, outcome.movement
    assert outcome.movement.result is not None
    return outcome.movement.result.person_ids


class Family:
    """A household of five nobody else in the session has: a voiced family reading, a small kana."""

    def __init__(self, services: Services) -> None:
        self.tail = unique(PLAIN_KANA)
        self.family_kana = "ガ" + self.tail  # found by カ… too
        self.family_name = "検" + unique(KANJI)
        self.town = "検索町" + unique(KANJI, 4)
        self.town_code = "22" + "".join(random.choice("0123456789") for _ in range(10))
        members = [
            ("太郎", "タロウ", "1980-04-01", "male", "世帯主"),
            ("花子", "ハナコ", "1982-05-05", "female", "妻"),
            ("一郎", "イチロウ", "2010-01-01", "male", "子"),
            ("次郎", "ジロウ", "2012-02-02", "male", "子"),
            ("京子", "キョウコ", "2014-03-03", "female", "子"),
        ]
        self.ids = self.move_in(services, members)
        self.head, self.wife, self.first, self.second, self.daughter = self.ids

    def move_in(self, services: Services, members: list[tuple[str, str, str, str, str]]) -> list[str]:
        return settle(
            services,
            {
                "kind": "move_in",
                "effective_date": day(20),
                "notified_date": day(19),
                "address": self.address("3番4号"),
                "previous_address": {
                    "prefecture": "東京都",
                    "municipality": "千代田区",
                    "street": "霞が関1番",
                },
                "members": [
                    {
                        "name": {
                            "family_name": self.family_name,
                            "given_name": given,
                            "family_name_kana": self.family_kana,
                            "given_name_kana": kana,
                        },
                        "birth_date": born,
                        "sex": sex,
                        "relationship": relationship,
                        "koseki": {
                            "domicile": "静岡県静岡市葵区追手町5番地",
                            "head": self.family_name + "太郎",
                        },
                    }
                    for given, kana, born, sex, relationship in members
                ],
            },
        )

    def address(self, lot: str, town: str | None = None) -> dict[str, str]:
        return {
            "postal_code": "420-0853",
            "ward": "葵区",
            "town": town or self.town,
            "town_code": self.town_code if town is None else "22" + "0" * 10,
            "lot": lot,
        }


@pytest.fixture(scope="module")
def family(services: Services) -> Family:
    return Family(services)


def search(services: Services, actor: Actor = CLERK, **criteria: Any) -> SearchResult:
    return services.search.search(SearchQuery.model_validate(criteria), actor)


def found(services: Services, **criteria: Any) -> list[str]:
    return [hit.person.person_id for hit in search(services, **criteria).persons]


@pytest.mark.parametrize("reading", ["ガ", "カ", "が", "ｶﾞ"])
def test_readings_match_with_or_without_voicing_marks(
    services: Services, family: Family, reading: str
) -> None:
    assert sorted(found(services, family_name_kana=reading + family.tail)) == sorted(family.ids)


def test_small_kana_match_their_large_forms(services: Services, family: Family) -> None:
    for given in ("キョウコ", "キヨウコ", "キョ", "ギヨ"):
        assert found(services, family_name_kana=family.family_kana, given_name_kana=given) == [
            family.daughter
        ]


def test_kanji_name_with_a_given_name_prefix(services: Services, family: Family) -> None:
    assert found(services, family_name=family.family_name, given_name="太") == [family.head]
    assert sorted(found(services, family_name=family.family_name)) == sorted(family.ids)


@pytest.mark.parametrize("born", ["昭和55年4月1日", "S55.4.1", "1980/4/1"])
def test_birth_date_in_either_calendar(services: Services, family: Family, born: str) -> None:
    assert family.head in found(services, birth_date=born, limit=100)
    assert found(services, birth_date=born, family_name_kana=family.family_kana) == [family.head]


def test_address_by_town_town_code_and_lot(services: Services, family: Family) -> None:
    assert sorted(found(services, town=family.town)) == sorted(family.ids)
    assert sorted(found(services, town_code=family.town_code, lot="3番")) == sorted(family.ids)
    assert found(services, town=family.town, lot="9番") == []


def test_person_and_household_ids(services: Services, family: Family) -> None:
    assert found(services, person_id=family.wife) == [family.wife]
    (household_id,) = {hit.person.household_id for hit in search(services, person_id=family.head).persons}
    assert found(services, household_id=household_id) == sorted(family.ids)
    assert found(
        services, household_id=household_id, given_name_kana="ハ", family_name_kana="カ" + family.tail
    ) == [family.wife]


def all_pages(services: Services, **criteria: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    token = None
    while not pages or token is not None:
        result = search(services, **criteria, next=token)
        pages.append([hit.person.person_id for hit in result.persons])
        token = result.next
    return pages


def test_pages_return_everyone_once(services: Services, family: Family) -> None:
    pages = all_pages(services, family_name_kana=family.family_kana, limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(pid for page in pages for pid in page) == sorted(family.ids)
    by_town = all_pages(services, town=family.town, limit=1)
    assert sorted(pid for page in by_town for pid in page) == sorted(family.ids)
    assert len(by_town) == 5
    with pytest.raises(DomainError) as refused:
        search(
            services,
            family_name=family.family_name,
            limit=2,
            next=search(services, town=family.town, limit=1).next,
        )
    assert (refused.value.code, refused.value.field) == ("CURSOR_INVALID", "next")


def test_a_past_name_after_a_correction_still_finds_the_person(services: Services) -> None:
    family = Family(services)
    new_kana = "ベ" + unique(PLAIN_KANA)
    settle(
        services,
        {
            "kind": "correction",
            "basis": "ex_officio",
            "effective_date": day(10),
            "notified_date": day(10),
            "person_id": family.second,
            "changes": {
                "name": {
                    "family_name": "別姓",
                    "given_name": "次郎",
                    "family_name_kana": new_kana,
                    "given_name_kana": "ジロウ",
                }
            },
            "reason": "戸籍照合による職権修正",
        },
    )
    (by_old,) = [
        h
        for h in search(services, family_name_kana=family.family_kana).persons
        if h.person.person_id == family.second
    ]
    assert (by_old.person.name.family_name_kana, by_old.person.version, by_old.matched_version) == (
        new_kana,
        2,
        1,
    )
    (by_new,) = search(services, family_name_kana=new_kana).persons
    assert (by_new.person.person_id, by_new.matched_version) == (family.second, 2)
    assert found(services, family_name=family.family_name, given_name="次") == [family.second]
    # Paging over the old reading: the corrected person is returned once, at their old name's place.
    pages = all_pages(services, family_name_kana=family.family_kana, limit=2)
    assert sorted(pid for page in pages for pid in page) == sorted(family.ids)


def test_a_past_address_after_an_in_city_move_still_finds_the_person(services: Services) -> None:
    family = Family(services)
    new_town = "転居先町" + unique(KANJI, 4)
    settle(
        services,
        {
            "kind": "in_city_move",
            "effective_date": day(5),
            "notified_date": day(5),
            "person_ids": family.ids,
            "address": family.address("7番8号", town=new_town),
            "destination": {"mode": "same_household"},
        },
    )
    old = search(services, town=family.town, lot="3番4号").persons
    assert sorted(hit.person.person_id for hit in old) == sorted(family.ids)
    assert {(hit.person.address.town, hit.matched_version) for hit in old} == {(new_town, 1)}
    new = search(services, town=new_town).persons
    assert {(hit.person.address.town, hit.matched_version) for hit in new} == {(new_town, 2)}


def test_removed_records_only_on_request(services: Services) -> None:
    family = Family(services)
    settle(
        services,
        {
            "kind": "death",
            "effective_date": day(3),
            "notified_date": day(2),
            "person_id": family.daughter,
        },
    )
    assert family.daughter not in found(services, family_name_kana=family.family_kana)
    assert family.daughter in found(services, family_name_kana=family.family_kana, include_removed=True)
    assert found(services, person_id=family.daughter) == []
    (removed,) = search(services, person_id=family.daughter, include_removed=True).persons
    assert removed.person.status == "removed"


def test_every_search_is_logged_with_the_persons_returned(
    services: Services, family: Family, local_system: LocalSystem
) -> None:
    request_id = uuid.uuid4().hex
    actor = Actor("S3001", frozenset({Role.VIEWER}), "清水区役所", "T9", "caller", request_id)
    result = search(services, actor, family_name=family.family_name, given_name="花")
    now = datetime.now(JST)
    logged = services.oplog_reader.between(now - timedelta(minutes=5), now + timedelta(seconds=1))
    (entry,) = [e for e in logged if e.request_id == request_id]
    assert (entry.function, entry.action, entry.staff_id) == ("resident.search", "read", "S3001")
    assert entry.persons == [hit.person.person_id for hit in result.persons] == [family.wife]


def test_search_needs_the_read_permission(services: Services) -> None:
    nobody = Actor("S9999", frozenset(), "葵区役所", "T1", "caller", "r")
    with pytest.raises(Forbidden):
        search(services, nobody, town="追手町")


def test_a_person_is_found_by_resident_code(services: Services) -> None:
    demo = services.store.get_person("0000000019")
    assert demo is not None and demo.resident_code
    viewer = Actor("S3001", frozenset({Role.VIEWER}), "駿河区役所", "T", "caller", "r")
    result = services.search.search(SearchQuery(resident_code=demo.resident_code), viewer)
    assert [hit.person.person_id for hit in result.persons] == ["0000000019"]
    unheld = "0000000001" + str(resident_code_check_digit("0000000001"))
    assert services.store.resident_code_holder(unheld) is None
    assert services.search.search(SearchQuery(resident_code=unheld), viewer).persons == []
