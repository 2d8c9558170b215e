"""Unusual-access rules over operation-log entries: each rule at and just past its threshold."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from juki.domain.oplog import Action, OperationLogEntry, Outcome
from juki.domain.unusual_access import (
    JAPAN,
    Basis,
    Finding,
    Rule,
    Thresholds,
    busiest_hour,
    detect,
)

DAY = date(2031, 2, 3)  # a Monday
NOON = datetime.combine(DAY, time(12, 0), JAPAN)
_serial = iter(range(1_000_000))


def entry(
    staff_id: str = "S1001",
    at: datetime = NOON,
    *,
    function: str = "resident.read",
    action: Action = "read",
    persons: list[str] | None = None,
    households: list[str] | None = None,
    outcome: Outcome = "success",
    my_number_shown: bool = False,
    subject: str | None = None,
) -> OperationLogEntry:
    return OperationLogEntry(
        entry_id=f"e{next(_serial):06d}",
        at=at,
        staff_id=staff_id,
        office=None,
        terminal=None,
        caller=None,
        function=function,
        action=action,
        persons=persons or [],
        households=households or [],
        my_number_shown=my_number_shown,
        request_id="r",
        outcome=outcome,
        subject=subject,
    )


def reads(count: int, staff_id: str = "S1001", prefix: str = "P") -> list[OperationLogEntry]:
    """``count`` person reads, one distinct person each, a minute apart within office hours."""
    start = datetime.combine(DAY, time(9, 0), JAPAN)
    return [
        entry(
            staff_id, start + timedelta(minutes=i), persons=[f"{prefix}{i:04d}"], households=[f"H{prefix}{i}"]
        )
        for i in range(count)
    ]


def findings(
    entries: list[OperationLogEntry], rule: Rule, baseline: dict[str, int] | None = None, **limits: object
) -> list[Finding]:
    report = detect(DAY, entries, baseline or {}, Thresholds.model_validate(limits))
    return [f for f in report.findings if f.rule == rule]


# -- UNRELATED_VIEWS ---------------------------------------------------------------------------


def test_unrelated_views_above_the_threshold_are_found_with_their_entries() -> None:
    assert findings(reads(30), Rule.UNRELATED_VIEWS) == []
    day = reads(31)
    (found,) = findings(day, Rule.UNRELATED_VIEWS)
    assert (found.staff_id, found.basis, found.count, found.limit) == (
        "S1001",
        Basis.UNRELATED_PERSONS,
        31,
        30,
    )
    assert found.entry_ids == [e.entry_id for e in day]


def test_the_same_person_read_twice_counts_once() -> None:
    assert findings(reads(30) + reads(5), Rule.UNRELATED_VIEWS) == []


def test_people_of_a_movement_the_reader_handled_are_related() -> None:
    day = reads(34)
    entered = entry(function="movement.enter", action="create", persons=["P0000", "P0001", "P0002"])
    approved = entry(
        "S1001", NOON - timedelta(days=1), function="movement.approve", action="approve", persons=["P0003"]
    )
    assert findings([*day, entered], Rule.UNRELATED_VIEWS)[0].count == 31
    assert findings([*day, entered, approved], Rule.UNRELATED_VIEWS) == []  # 31 → 30 with yesterday's


def test_a_movement_handled_by_someone_else_or_too_long_ago_or_refused_relates_nobody() -> None:
    day = reads(31)
    others = [
        entry("S2001", function="movement.approve", action="approve", persons=["P0000"]),
        entry(
            "S1001", NOON - timedelta(days=2), function="movement.enter", action="create", persons=["P0001"]
        ),
        entry("S1001", function="movement.enter", action="create", persons=["P0002"], outcome="refused"),
    ]
    assert findings([*day, *others], Rule.UNRELATED_VIEWS)[0].count == 31
    wider = findings([*day, *others], Rule.UNRELATED_VIEWS, relation_days_before=2)
    assert wider == []  # two days back now counts: P0001 is related, 30 are left


def test_a_movement_on_the_household_relates_a_read_of_that_household_but_not_a_search_page() -> None:
    household_read = entry(persons=[f"M{i}" for i in range(40)], households=["H1"])
    search_page = entry(
        function="resident.search", persons=[f"S{i}" for i in range(40)], households=["H1", "H2"]
    )
    moved = entry(function="movement.enter", action="create", households=["H1"])
    assert findings([household_read, moved], Rule.UNRELATED_VIEWS) == []
    (found,) = findings([search_page, moved], Rule.UNRELATED_VIEWS)
    assert (found.count, found.entry_ids) == (40, [search_page.entry_id])


def test_refused_reads_and_system_reads_are_not_views() -> None:
    refused = [entry(persons=[f"R{i}"], outcome="refused") for i in range(40)]
    system = [entry("system:movement-commit", persons=[f"Y{i}"]) for i in range(40)]
    assert findings(refused + system, Rule.UNRELATED_VIEWS) == []


# -- OUTSIDE_HOURS -----------------------------------------------------------------------------


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), JAPAN)


def test_office_hours_edges_on_a_weekday() -> None:
    inside = [entry(at=at(DAY, 8)), entry(at=at(DAY, 18, 59, 59))]
    outside = [entry(at=at(DAY, 7, 59, 59)), entry(at=at(DAY, 19)), entry(at=at(DAY, 23, 30))]
    (found,) = findings(inside + outside, Rule.OUTSIDE_HOURS)
    assert (found.count, found.entry_ids) == (3, [e.entry_id for e in outside])
    assert (found.first_at, found.last_at) == (at(DAY, 7, 59, 59), at(DAY, 23, 30))


def test_weekends_holidays_and_year_end_are_closed_unless_declared_open() -> None:
    limits = Thresholds(holidays=(date(2031, 2, 11),), open_days=(date(2031, 3, 29),))
    assert not limits.is_office_time(at(date(2031, 2, 1), 12))  # Saturday
    assert not limits.is_office_time(at(date(2031, 2, 2), 12))  # Sunday
    assert not limits.is_office_time(at(date(2031, 2, 11), 12))  # 建国記念の日
    assert limits.is_office_time(at(date(2031, 3, 29), 12))  # a Saturday opening (休日開庁)
    assert not limits.is_office_time(at(date(2031, 3, 29), 20))  # still only in office hours
    assert not limits.is_office_time(at(date(2031, 12, 29), 12))
    assert not limits.is_office_time(at(date(2032, 1, 2), 12))
    assert limits.is_office_time(at(date(2031, 12, 26), 12))  # a Friday before the closure
    assert Thresholds(year_end_closure=False).is_office_time(at(date(2031, 12, 29), 12))  # a Monday


def test_office_time_is_judged_in_japan_whatever_the_stored_zone() -> None:
    assert Thresholds().is_office_time(datetime(2031, 2, 3, 0, 30, tzinfo=UTC))  # 09:30 JST
    assert not Thresholds().is_office_time(datetime(2031, 2, 3, 10, 30, tzinfo=UTC))  # 19:30 JST


def test_outside_hours_by_system_jobs_is_not_a_finding_and_staff_are_grouped() -> None:
    night = at(DAY, 2)
    entries = [
        entry("system:oplog-seal", night),
        entry("S1001", night),
        entry("S2001", night),
        entry("S1001", night),
    ]
    assert [(f.staff_id, f.count) for f in findings(entries, Rule.OUTSIDE_HOURS)] == [
        ("S1001", 2),
        ("S2001", 1),
    ]


# -- BULK_READ -----------------------------------------------------------------------------------


def test_one_entry_touching_more_than_the_limit() -> None:
    fifty = entry(function="movement.read", persons=[f"P{i}" for i in range(50)])
    assert findings([fifty], Rule.BULK_READ) == []
    wide = [entry(function="resident.search", persons=[f"P{i}" for i in range(n)]) for n in (51, 80)]
    (found,) = findings([fifty, *wide], Rule.BULK_READ, unrelated_persons_per_day=1000)
    assert (found.basis, found.count, found.peak, found.limit) == (Basis.PERSONS_IN_ONE_ENTRY, 2, 80, 50)


def test_reads_in_any_sixty_minutes() -> None:
    start = at(DAY, 10, 30)
    hundred = [entry(at=start + timedelta(seconds=35 * i), persons=["P1"]) for i in range(100)]
    assert findings(hundred, Rule.BULK_READ) == []
    one_more = entry(at=start + timedelta(minutes=59, seconds=59), persons=["P1"])
    (found,) = findings([*hundred, one_more], Rule.BULK_READ)
    assert (found.basis, found.count, found.limit) == (Basis.READS_IN_ONE_HOUR, 101, 100)
    assert found.first_at == start  # across the clock hour: 10:30 to 11:29:59
    just_out = entry(at=start + timedelta(minutes=60), persons=["P1"])
    assert findings([*hundred, just_out], Rule.BULK_READ) == []


def test_busiest_hour_is_the_earliest_of_equal_windows() -> None:
    early = [entry(at=at(DAY, 9, i)) for i in range(3)]
    late = [entry(at=at(DAY, 14, i)) for i in range(3)]
    assert busiest_hour(late + early) == early
    assert busiest_hour([]) == []


def test_every_export_by_staff_is_a_finding() -> None:
    exports = [
        entry("S5001", function="disclosure.prepare", action="export", persons=["P1"]),
        entry("system:unusual-access", function="audit.unusual_access", action="export"),
    ]
    (found,) = findings(exports, Rule.BULK_READ)
    assert (found.staff_id, found.basis, found.count) == ("S5001", Basis.EXPORTS, 1)


# -- MY_NUMBER_RATE ------------------------------------------------------------------------------


def reveals(count: int, staff_id: str = "S2001") -> list[OperationLogEntry]:
    return [
        entry(
            staff_id,
            at(DAY, 10, i % 60),
            function="my_number.reveal",
            persons=[f"P{i}"],
            households=[f"H{i}"],
            my_number_shown=True,
        )
        for i in range(count)
    ]


def test_reveals_without_history_are_judged_against_the_minimum() -> None:
    assert findings(reveals(10), Rule.MY_NUMBER_RATE) == []
    (found,) = findings(reveals(11), Rule.MY_NUMBER_RATE)
    assert (found.count, found.limit, found.baseline_mean) == (11, 10, 0)


def test_reveals_above_the_multiple_of_the_usual_rate() -> None:
    usual = {"S2001": 150}  # 5 a day over 30 days: the limit is 15
    assert findings(reveals(15), Rule.MY_NUMBER_RATE, baseline=usual) == []
    (found,) = findings(reveals(16), Rule.MY_NUMBER_RATE, baseline=usual)
    assert (found.count, found.limit, found.baseline_mean) == (16, 15, 5)
    assert len(found.entry_ids) == 16


def test_the_rate_is_per_staff_member_and_the_report_keeps_the_day_counts() -> None:
    report = detect(DAY, reveals(3, "S2001") + reveals(12, "S2002"), {"S2002": 300})
    assert [f for f in report.findings if f.rule == Rule.MY_NUMBER_RATE] == []  # 12 ≤ 3 × 10
    assert report.my_number_reveals == {"S2001": 3, "S2002": 12}


# -- REPEATED_LOGIN_REFUSALS ---------------------------------------------------------------------


def test_repeated_refusals_for_one_account_across_routes() -> None:
    """Entries shaped as the API writes them: the claimed account in staff_id, the route in subject."""
    routes = ["GET /persons/{person_id}", "GET /search/persons", "POST /movements"]

    def refusals(n: int, claimed: str) -> list[OperationLogEntry]:
        return [
            entry(
                f"unverified:{claimed}",
                at(DAY, 9, i),
                function="auth.sign_in",
                action="login",
                outcome="refused",
                subject=routes[i % len(routes)],
            )
            for i in range(n)
        ]

    assert findings(refusals(5, "S1001"), Rule.REPEATED_LOGIN_REFUSALS) == []
    found = findings(refusals(6, "S1001") + refusals(5, "S1002"), Rule.REPEATED_LOGIN_REFUSALS)
    assert [(f.staff_id, f.count, f.limit) for f in found] == [("unverified:S1001", 6, 5)]


# -- the report ----------------------------------------------------------------------------------


def test_the_report_is_the_same_for_the_same_log_in_any_order_and_names_no_person() -> None:
    day = [*reads(40), *reveals(12), entry(at=at(DAY, 22), persons=["Q1"])]
    yesterday = [entry(at=NOON - timedelta(days=1), persons=["Z1"])]
    shuffled = [*day, *yesterday]
    random.Random(7).shuffle(shuffled)
    first = detect(DAY, [*yesterday, *day], {})
    again = detect(DAY, shuffled, {})
    assert first.model_dump_json() == again.model_dump_json()
    assert first.entries_examined == len(day)  # yesterday's read is only context
    assert first.counts == {
        "UNRELATED_VIEWS": 1,
        "OUTSIDE_HOURS": 1,
        "BULK_READ": 0,
        "MY_NUMBER_RATE": 1,
        "REPEATED_LOGIN_REFUSALS": 0,
    }
    assert [f.rule for f in first.findings] == [Rule.UNRELATED_VIEWS, Rule.OUTSIDE_HOURS, Rule.MY_NUMBER_RATE]
    text = first.model_dump_json()
    assert "P0001" not in text
    assert '"H' not in text


def test_thresholds_echo_sorted_days() -> None:
    limits = Thresholds(holidays=(date(2031, 5, 5), date(2031, 1, 1), date(2031, 5, 5)))
    assert limits.holidays == (date(2031, 1, 1), date(2031, 5, 5))
