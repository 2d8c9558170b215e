"""Property-based: after any sequence of valid movements, the ledger stays whole.

A random sequence of 転入, 出生, 転居, 世帯分離, 世帯主変更, 転出 and 死亡 is checked and planned by the
domain and applied to an in-memory history (what the store keeps: every version of every record).
After each step: every current resident is in exactly one household, a household has at most one
head (a member, recorded as 世帯主), and no version is lost. At any past date, reading as of that
date equals replaying only the movements effective by then.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

from hypothesis import HealthCheck, assume, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from juki.domain import movements as rules
from juki.domain.ids import make_id
from juki.domain.model import Movement, MovementStatus
from juki.domain.movements import LedgerView
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.values import HouseholdStatus, ResidentStatus
from ledger_fixtures import commands
from pydantic import TypeAdapter

START = date(2020, 1, 1)
AT = datetime(2026, 1, 1, tzinfo=UTC)
KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"
ADDRESSES = [
    {"postal_code": "420-0853", "ward": "葵区", "town": "追手町", "lot": f"{n}番1号"} for n in range(1, 6)
]

KOSEKI = {"domicile": "静岡県静岡市葵区追手町5番地", "head": "試験一郎"}
Record = PersonRecord | HouseholdRecord
versions_of: TypeAdapter[Any] = TypeAdapter(list[PersonRecord])


class Ledger(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.today = START
        self.persons: dict[str, list[PersonRecord]] = {}
        self.households: dict[str, list[HouseholdRecord]] = {}
        self.applied: list[tuple[date, LedgerView]] = []  # effective date, then the state after it
        self.person_seq = count(1)
        self.household_seq = count(1)
        self.movement_seq = count(1)

    # -- helpers --------------------------------------------------------------------------------
    def view(self) -> LedgerView:
        return LedgerView(
            persons={pid: v[-1] for pid, v in self.persons.items()},
            households={hid: v[-1] for hid, v in self.households.items()},
        )

    def residents(self) -> list[PersonRecord]:
        return [p for p in self.view().persons.values() if p.status == ResidentStatus.RESIDENT]

    def active(self) -> list[HouseholdRecord]:
        return [h for h in self.view().households.values() if h.status == HouseholdStatus.ACTIVE]

    def run(self, body: dict[str, Any], effective: date) -> None:
        command = commands.validate_python(body)
        view = self.view()
        issues = rules.check(command, view, self.today)
        assume(not [i for i in issues if i.severity == "error"])
        persons, households = rules.new_ids_needed(command)
        movement = Movement(
            movement_id=f"{next(self.movement_seq):032x}", kind=command.kind, status=MovementStatus.APPROVED,
            command=command, entered_by="S1", entered_at=AT, office="o", terminal="t",
        )  # fmt: skip
        plan = rules.plan(
            movement, view, [make_id(next(self.person_seq)) for _ in range(persons)],
            [make_id(next(self.household_seq)) for _ in range(households)], AT,
        )  # fmt: skip
        for person in plan.persons:
            self.persons.setdefault(person.person_id, []).append(person)
        for household in plan.households:
            self.households.setdefault(household.household_id, []).append(household)
        self.applied.append((effective, self.view()))

    def advance(self, days: int) -> date:
        self.today += timedelta(days=days)
        return self.today

    # -- movements ------------------------------------------------------------------------------
    @rule(size=st.integers(1, 4), days=st.integers(0, 30), data=st.data())
    def move_in(self, size: int, days: int, data: st.DataObject) -> None:
        day = self.advance(days)
        kana = data.draw(st.text(KANA, min_size=2, max_size=4))
        members = [
            {"name": {"family_name": "試験", "given_name": f"{i}号", "family_name_kana": kana,
                      "given_name_kana": KANA[i] + "ロウ"},
             "birth_date": (date(1950, 1, 1) + timedelta(days=3000 * i + len(kana))).isoformat(),
             "sex": "male", "relationship": "世帯主" if i == 0 else "子", "koseki": KOSEKI}
            for i in range(size)
        ]  # fmt: skip
        self.run({"kind": "move_in", "effective_date": day.isoformat(), "notified_date": day.isoformat(),
                  "address": data.draw(st.sampled_from(ADDRESSES)), "previous_address": {"street": "前住所"},
                  "members": members}, day)  # fmt: skip

    @precondition(lambda self: self.active())
    @rule(days=st.integers(0, 30), data=st.data())
    def birth(self, days: int, data: st.DataObject) -> None:
        day = self.advance(days)
        home = data.draw(st.sampled_from(self.active()))
        self.run({"kind": "birth", "effective_date": day.isoformat(), "notified_date": day.isoformat(),
                  "household_id": home.household_id, "sex": "female", "relationship": "子", "koseki": KOSEKI,
                  "name": {"family_name": "試験", "given_name": "花", "family_name_kana": "シケン",
                           "given_name_kana": data.draw(st.text(KANA, min_size=2, max_size=3))}}, day)  # fmt: skip

    @precondition(lambda self: self.residents())
    @rule(days=st.integers(0, 30), data=st.data())
    def in_city_move(self, days: int, data: st.DataObject) -> None:
        day = self.advance(days)
        mover = data.draw(st.sampled_from(self.residents()))
        address = data.draw(st.sampled_from([a for a in ADDRESSES if a != mover.address.model_dump(mode="json",
                                                                                                exclude_none=True)]))  # fmt: skip
        self.run({"kind": "in_city_move", "effective_date": day.isoformat(), "notified_date": day.isoformat(),
                  "person_ids": [mover.person_id], "address": address,
                  "destination": {"mode": "new_household", "head_person_id": mover.person_id}}, day)  # fmt: skip

    @precondition(lambda self: any(len(h.member_ids) > 1 for h in self.active()))
    @rule(days=st.integers(0, 30), data=st.data())
    def head_change(self, days: int, data: st.DataObject) -> None:
        day = self.advance(days)
        home = data.draw(st.sampled_from([h for h in self.active() if len(h.member_ids) > 1]))
        new_head = data.draw(st.sampled_from([m for m in home.member_ids if m != home.head_person_id]))
        relationships = {m: "同居人" for m in home.member_ids if m != new_head}
        self.run({"kind": "head_change", "effective_date": day.isoformat(), "notified_date": day.isoformat(),
                  "household_id": home.household_id, "new_head_person_id": new_head,
                  "relationships": relationships}, day)  # fmt: skip

    @precondition(lambda self: any(len(h.member_ids) > 1 for h in self.active()))
    @rule(days=st.integers(0, 30), data=st.data())
    def split(self, days: int, data: st.DataObject) -> None:
        day = self.advance(days)
        home = data.draw(st.sampled_from([h for h in self.active() if len(h.member_ids) > 1]))
        leaving = data.draw(st.sampled_from(home.member_ids))
        self.run({"kind": "household_split", "effective_date": day.isoformat(), "notified_date": day.isoformat(),
                  "household_id": home.household_id, "person_ids": [leaving],
                  "new_head_person_id": leaving}, day)  # fmt: skip

    @precondition(lambda self: self.residents())
    @rule(days=st.integers(0, 30), data=st.data(), death=st.booleans())
    def leave(self, days: int, data: st.DataObject, death: bool) -> None:
        day = self.advance(days)
        person = data.draw(st.sampled_from(self.residents()))
        if death:
            body = {"kind": "death", "effective_date": day.isoformat(), "notified_date": day.isoformat(),
                    "person_id": person.person_id}  # fmt: skip
        else:
            body = {"kind": "move_out", "person_ids": [person.person_id], "planned_date": day.isoformat(),
                    "notified_date": day.isoformat(), "destination": {"street": "転出先"}}  # fmt: skip
        self.run(body, day)

    def teardown(self) -> None:
        event(f"movements applied: {len(self.applied) // 5 * 5}+")
        event(f"kinds: {sorted({v[-1].movement_kind.value for v in self.persons.values()})}")

    # -- invariants -----------------------------------------------------------------------------
    @invariant()
    def every_resident_is_in_exactly_one_household(self) -> None:
        view = self.view()
        for person in self.residents():
            holding = [h for h in view.households.values() if person.person_id in h.member_ids]
            assert [h.household_id for h in holding] == [person.household_id]
            assert holding[0].status == HouseholdStatus.ACTIVE
        for household in view.households.values():
            for member in household.member_ids:
                assert view.persons[member].status == ResidentStatus.RESIDENT

    @invariant()
    def a_household_has_at_most_one_head(self) -> None:
        view = self.view()
        for household in view.households.values():
            heads = [m for m in household.member_ids if view.persons[m].relationship == "世帯主"]
            if household.head_person_id is None:
                assert heads == []
            else:
                assert heads == [household.head_person_id]

    @invariant()
    def no_version_is_lost(self) -> None:
        for history in [*self.persons.values(), *self.households.values()]:
            assert [record.version for record in history] == list(range(1, len(history) + 1))
            assert [r.effective_date for r in history] == sorted(r.effective_date for r in history)

    @precondition(lambda self: self.applied)
    @rule(data=st.data())
    def as_of_equals_replay(self, data: st.DataObject) -> None:
        day = data.draw(st.dates(START, self.today))
        replayed = next(
            (state for effective, state in reversed(self.applied) if effective <= day), LedgerView()
        )
        as_of_persons = {
            pid: found for pid, history in self.persons.items()
            if (found := next((r for r in reversed(history) if r.effective_date <= day), None))
        }  # fmt: skip
        as_of_households = {
            hid: found for hid, history in self.households.items()
            if (found := next((r for r in reversed(history) if r.effective_date <= day), None))
        }  # fmt: skip
        assert as_of_persons == replayed.persons
        assert as_of_households == replayed.households


Ledger.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much],
)
test_ledger_stays_whole = Ledger.TestCase
