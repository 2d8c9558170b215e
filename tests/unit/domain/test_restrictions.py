"""抑止 and 支援措置 rules: when in force, error or alert, temporary release, terms and extension."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from juki.adapters.system import JST
from juki.domain.errors import Conflict, DomainError
from juki.domain.restrictions import (
    NewRestriction,
    NewSupportMeasure,
    Process,
    Restricted,
    Restriction,
    SupportMeasure,
    TemporaryReleaseRequest,
    check,
    decide,
    end,
    enforce,
    extend,
    extension_opens,
    in_force,
    new_restriction,
    new_support_measure,
    release,
    term_end,
)
from pydantic import ValidationError

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=JST)
PERSON = "0000000019"


def at(day: str, time: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{time}:00+09:00")


def restriction(**overrides: Any) -> Restriction:
    request: dict[str, Any] = {
        "target": "person",
        "target_id": PERSON,
        "processes": ["certificate"],
        "level": "error",
        "reason": "相続手続中",
        "starts_on": "2026-11-01",
        "ends_on": "2026-12-31",
    } | overrides
    return new_restriction(NewRestriction.model_validate(request), "r1", "S2001", NOW)


def measure(starts_on: str = "2026-04-01", *, provisional: bool = False, **extra: Any) -> SupportMeasure:
    request = NewSupportMeasure(
        person_id=PERSON, starts_on=date.fromisoformat(starts_on), provisional=provisional, **extra
    )
    return new_support_measure(request, "m1", "S2001", at(starts_on))


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at("2026-10-31", "23:59"), False),  # before the start date
        (at("2026-11-01", "00:00"), True),  # from the start date
        (at("2026-12-31", "23:59"), True),  # through the end date
        (at("2027-01-01", "00:00"), False),  # after it
    ],
)
def test_restriction_in_force_between_its_dates(when: datetime, expected: bool) -> None:
    assert in_force(restriction(), when) is expected


def test_restriction_without_end_date_holds_until_ended() -> None:
    open_ended = restriction(ends_on=None)
    assert in_force(open_ended, at("2040-01-01"))
    ended = end(open_ended, "S2001", at("2026-12-01", "09:00"))
    assert (ended.status, ended.version, ended.ended_by) == ("ended", 2, "S2001")
    assert in_force(ended, at("2026-12-01", "08:59"))
    assert not in_force(ended, at("2026-12-01", "09:00"))
    with pytest.raises(Conflict) as raised:
        end(ended, "S2001", at("2026-12-02"))
    assert raised.value.code == "ALREADY_ENDED"


@pytest.mark.parametrize(
    ("level", "process", "codes"),
    [
        ("error", "certificate", [("RESTRICTED", "error")]),
        ("alert", "certificate", [("RESTRICTED_ALERT", "alert")]),
        ("error", "inquiry", []),  # another process
        ("error", "movement", []),
    ],
)
def test_error_or_alert_per_process(level: str, process: str, codes: list[tuple[str, str]]) -> None:
    issues = check([restriction(level=level)], Process(process), NOW)
    assert [(i.code, i.severity) for i in issues] == codes
    assert all(i.field == "person_id" and PERSON in i.message for i in issues)


def test_a_household_restriction_names_the_household() -> None:
    household = restriction(target="household", target_id="0000000027", processes=["movement", "inquiry"])
    (issue,) = check([household], Process.MOVEMENT, NOW)
    assert (issue.code, issue.field) == ("RESTRICTED", "household_id")
    assert "世帯番号 0000000027" in issue.message


@pytest.mark.parametrize(
    ("when", "in_effect"),
    [
        (at("2026-11-26", "09:59"), True),  # before the release
        (at("2026-11-26", "10:00"), False),  # released from the moment it is given
        (at("2026-11-26", "16:59"), False),
        (at("2026-11-26", "17:00"), True),  # applies again by itself at the end of the window
    ],
)
def test_temporary_release_window(when: datetime, in_effect: bool) -> None:
    released = release(
        restriction(),
        TemporaryReleaseRequest(until=at("2026-11-26", "17:00"), reason="本人確認済み"),
        "S2001",
        NOW,
    )
    assert released.version == 2 and len(released.releases) == 1
    assert in_force(released, when) is in_effect
    assert bool(check([released], Process.CERTIFICATE, when)) is in_effect


@pytest.mark.parametrize(
    ("until", "code"),
    [(NOW, "RELEASE_UNTIL_PAST"), (NOW + timedelta(days=7, seconds=1), "RELEASE_TOO_LONG")],
)
def test_temporary_release_limits(until: datetime, code: str) -> None:
    with pytest.raises(DomainError) as raised:
        release(restriction(), TemporaryReleaseRequest(until=until, reason="x"), "S2001", NOW)
    assert (raised.value.code, raised.value.field) == (code, "until")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"ends_on": "2026-10-31"}, "INVALID_PERIOD"),  # before the start
        ({"starts_on": "2026-01-01", "ends_on": "2026-11-25"}, "PERIOD_IN_PAST"),  # ended yesterday
    ],
)
def test_restriction_dates_are_validated(overrides: dict[str, Any], code: str) -> None:
    with pytest.raises(DomainError) as raised:
        restriction(**overrides)
    assert (raised.value.code, raised.value.field) == (code, "ends_on")
    assert "日" in raised.value.message


def test_the_same_process_twice_is_refused() -> None:
    with pytest.raises(ValidationError):
        restriction(processes=["inquiry", "inquiry"])


@pytest.mark.parametrize(
    ("start", "last_day"),
    [
        ("2026-04-01", "2027-03-31"),
        ("2026-03-31", "2027-03-30"),
        ("2028-02-29", "2029-02-28"),  # no 29 February a year later: the month's last day
        ("2027-03-01", "2028-02-29"),  # a leap year inside the term
    ],
)
def test_support_measure_term_is_one_year_from_the_start(start: str, last_day: str) -> None:
    assert term_end(date.fromisoformat(start)) == date.fromisoformat(last_day)
    assert measure(start).ends_on == date.fromisoformat(last_day)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at("2026-03-31"), False),
        (at("2026-04-01", "00:00"), True),
        (at("2027-03-31", "23:59"), True),
        (at("2027-04-01", "00:00"), False),  # expired: computed, no job
    ],
)
def test_support_measure_in_force_for_its_term(when: datetime, expected: bool) -> None:
    assert in_force(measure(), when) is expected


@pytest.mark.parametrize(
    ("process", "code", "severity"),
    [
        (Process.CERTIFICATE, "SUPPORT_MEASURE", "error"),
        (Process.INQUIRY, "SUPPORT_MEASURE_ALERT", "alert"),
        (Process.MOVEMENT, "SUPPORT_MEASURE_ALERT", "alert"),
    ],
)
def test_support_measure_blocks_certificates_and_alerts_otherwise(
    process: Process, code: str, severity: str
) -> None:
    (issue,) = check([measure()], process, at("2026-06-01"))
    assert (issue.code, issue.severity, issue.field) == (code, severity, "person_id")
    assert not any(word in issue.message for word in ("DV", "暴力", "支援措置", "加害"))
    assert "保護" in issue.message


def test_enforce_refuses_errors_and_returns_alerts() -> None:
    issues = check(
        [measure(), restriction(level="alert", starts_on="2026-04-01")], Process.CERTIFICATE, at("2026-11-26")
    )
    with pytest.raises(Restricted) as raised:
        enforce(issues)
    assert (raised.value.status, raised.value.code) == (403, "SUPPORT_MEASURE")
    assert [i.code for i in enforce(check([measure()], Process.INQUIRY, at("2026-06-01")))] == [
        "SUPPORT_MEASURE_ALERT"
    ]


@pytest.mark.parametrize(
    ("today", "outcome"),
    [
        ("2027-02-28", "EXTENSION_TOO_EARLY"),  # one day too early
        ("2027-03-01", "2028-03-31"),  # exactly one month before expiry
        ("2027-03-31", "2028-03-31"),  # the last day
        ("2027-04-01", "EXTENSION_AFTER_EXPIRY"),  # lapsed: a new application is needed
    ],
)
def test_extension_window(today: str, outcome: str) -> None:
    current = measure()
    assert extension_opens(current) == date(2027, 3, 1)
    if outcome[0].isdigit():
        extended = extend(current, "S2001", at(today))
        assert (extended.ends_on, extended.extensions, extended.version) == (
            date.fromisoformat(outcome),
            1,
            2,
        )
        assert extended.starts_on == current.starts_on
    else:
        with pytest.raises(DomainError) as raised:
            extend(current, "S2001", at(today))
        assert (raised.value.code, raised.value.field) == (outcome, "ends_on")


def test_extension_window_opens_a_month_before_in_short_months() -> None:
    current = measure("2026-10-01")  # ends 2027-09-30, expires at the start of 2027-10-01
    assert extension_opens(current) == date(2027, 9, 1)
    ended_march = measure("2026-03-31")  # ends 2027-03-30
    assert extension_opens(ended_march) == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("ends_on", "expected"),
    [(None, "2026-11-30"), (date(2026, 11, 10), "2026-11-10"), (date(2026, 12, 1), "PROVISIONAL_TOO_LONG")],
)
def test_provisional_term(ends_on: date | None, expected: str) -> None:
    if expected[0].isdigit():
        provisional = measure("2026-11-01", provisional=True, ends_on=ends_on)
        assert provisional.provisional and provisional.ends_on == date.fromisoformat(expected)
        assert check([provisional], Process.CERTIFICATE, at("2026-11-05"))[0].code == "SUPPORT_MEASURE"
    else:
        with pytest.raises(DomainError) as raised:
            measure("2026-11-01", provisional=True, ends_on=ends_on)
        assert (raised.value.code, raised.value.field) == (expected, "ends_on")


def test_provisional_is_decided_not_extended() -> None:
    provisional = measure("2026-11-01", provisional=True)
    with pytest.raises(DomainError) as raised:
        extend(provisional, "S2001", at("2026-11-20"))
    assert raised.value.code == "PROVISIONAL_NOT_EXTENDABLE"
    decided = decide(provisional, "S2002", at("2026-11-20"))
    assert (decided.provisional, decided.decided_on, decided.ends_on) == (
        False,
        date(2026, 11, 20),
        date(2027, 11, 19),
    )
    assert decided.starts_on == date(2026, 11, 1)  # protected without a gap since the application
    with pytest.raises(Conflict):
        decide(decided, "S2002", at("2026-11-21"))
    with pytest.raises(DomainError) as lapsed:
        decide(provisional, "S2002", at("2026-12-01"))
    assert lapsed.value.code == "PROVISIONAL_EXPIRED"


def test_a_formal_measure_has_no_chosen_end_date() -> None:
    with pytest.raises(DomainError) as raised:
        measure(ends_on=date(2026, 6, 1))
    assert (raised.value.code, raised.value.field) == ("TERM_FIXED", "ends_on")


def test_an_ended_measure_is_no_longer_in_force() -> None:
    ended = end(measure(), "S2001", at("2026-06-01", "12:00"))
    assert check([ended], Process.CERTIFICATE, at("2026-06-01", "11:59"))
    assert not check([ended], Process.CERTIFICATE, at("2026-06-01", "12:00"))


def test_one_issue_per_code_and_target() -> None:
    twice = [restriction(), restriction(processes=["certificate", "inquiry"])]
    assert [i.code for i in check(twice, Process.CERTIFICATE, NOW)] == ["RESTRICTED"]
