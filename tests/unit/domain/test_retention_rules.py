"""Retention periods at their edges: the day before a datum is due, the day itself, the day after."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from juki.domain.errors import DomainError
from juki.domain.records import PersonRecord, Removal
from juki.domain.retention import (
    RetentionPolicy,
    check_claim,
    is_due,
    merge_versions,
    move_out_certificate_due_on,
    next_job,
    removed_record_archive_on,
    removed_record_due,
    removed_record_expires_on,
    run_day,
    sending_address_cutoff,
    sending_address_due_on,
)
from juki.domain.values import RemovalReason, ResidentStatus

from tests.unit.domain.ledger_fixtures import HEAD, family

POLICY = RetentionPolicy()
DAY = timedelta(days=1)


# -- 送付先情報 -------------------------------------------------------------------------------


def test_a_sending_address_file_is_erased_330_days_after_it_was_made() -> None:
    made = date(2026, 1, 10)
    due = sending_address_due_on(made, POLICY)
    assert due == date(2026, 12, 6)
    assert not is_due(due, due - DAY)
    assert is_due(due, due)
    assert is_due(due, due + DAY)
    assert due < date(2027, 1, 10)  # 1年未満


def test_the_cutoff_agrees_with_the_due_date() -> None:
    as_of = date(2026, 12, 6)
    cutoff = sending_address_cutoff(as_of, POLICY)
    assert is_due(sending_address_due_on(cutoff, POLICY), as_of)
    assert not is_due(sending_address_due_on(cutoff + DAY, POLICY), as_of)


@pytest.mark.parametrize("days", [0, 365, 400])
def test_sending_addresses_cannot_be_configured_to_a_year_or_more(days: int) -> None:
    with pytest.raises(ValueError, match="less than a year"):
        RetentionPolicy(sending_address_days=days)


def test_the_periods_are_configurable() -> None:
    policy = RetentionPolicy(
        sending_address_days=100, move_out_certificate_days=14, removed_record_online_years=10
    )
    assert sending_address_due_on(date(2026, 1, 1), policy) == date(2026, 4, 11)
    assert move_out_certificate_due_on(date(2026, 1, 1), policy) == date(2026, 1, 16)
    assert removed_record_archive_on(date(2026, 1, 1), policy) == date(2036, 1, 2)


# -- 転出証明書情報 ---------------------------------------------------------------------------


def test_unclaimed_move_out_certificate_data_goes_the_day_after_its_30_days() -> None:
    planned = date(2026, 3, 1)
    due = move_out_certificate_due_on(planned, POLICY)
    assert due == date(2026, 4, 1)  # 3/31 is the 30th day after 3/1: the last day to claim
    assert not is_due(due, due - DAY)
    assert is_due(due, due)
    assert is_due(due, due + DAY)


def test_a_claim_is_allowed_through_the_last_day_and_refused_after() -> None:
    planned = date(2026, 3, 1)
    check_claim(planned, date(2026, 3, 30), POLICY)
    check_claim(planned, date(2026, 3, 31), POLICY)
    with pytest.raises(DomainError) as refused:
        check_claim(planned, date(2026, 4, 1), POLICY)
    assert refused.value.code == "MOVE_OUT_CERTIFICATE_EXPIRED"


# -- 除票 -------------------------------------------------------------------------------------


def removed(on: date) -> PersonRecord:
    person = family().persons[HEAD]
    return person.model_copy(
        update={
            "status": ResidentStatus.REMOVED,
            "removal": Removal(reason=RemovalReason.DEATH, removed_on=on),
            "version": 2,
        }
    )


def test_a_removed_record_is_archived_once_more_than_five_years_have_passed() -> None:
    person = removed(date(2021, 6, 15))
    assert not removed_record_due(person, date(2026, 6, 14), POLICY)
    assert not removed_record_due(person, date(2026, 6, 15), POLICY)  # exactly five years
    assert removed_record_due(person, date(2026, 6, 16), POLICY)


def test_removal_on_29_february_counts_its_anniversary_from_1_march() -> None:
    assert removed_record_archive_on(date(2024, 2, 29), POLICY) == date(2029, 3, 2)
    assert removed_record_expires_on(date(2024, 2, 29)) == date(2174, 3, 1)


def test_residents_and_records_without_removal_details_are_never_archived() -> None:
    resident = family().persons[HEAD]
    assert not removed_record_due(resident, date(2100, 1, 1), POLICY)
    no_details = resident.model_copy(update={"status": ResidentStatus.REMOVED})
    assert not removed_record_due(no_details, date(2100, 1, 1), POLICY)


def test_a_record_is_kept_150_years_from_its_removal() -> None:
    assert removed_record_expires_on(date(2026, 11, 26)) == date(2176, 11, 26)


# -- merging archive and ledger, and the run's day --------------------------------------------


def test_versions_merge_by_number_and_a_rewritten_version_stops_the_job() -> None:
    v1, v2, v3 = ({"version": n, "x": n} for n in (1, 2, 3))
    assert merge_versions([v1, v2], [v2, v3]) == [v1, v2, v3]
    assert merge_versions([], [v1]) == [v1]
    assert merge_versions([v1, v2], []) == [v1, v2]
    with pytest.raises(ValueError, match="differs"):
        merge_versions([v1], [{"version": 1, "x": "other"}])


def test_a_run_applies_todays_rules_or_a_later_days_never_an_earlier_days() -> None:
    today = date(2026, 11, 26)
    assert run_day(None, today) == today
    assert run_day(today, today) == today
    assert run_day(today + DAY, today) == today + DAY
    with pytest.raises(DomainError) as refused:
        run_day(today - DAY, today)
    assert refused.value.code == "RETENTION_AS_OF_PAST"


def test_the_jobs_run_in_order() -> None:
    assert next_job("sending_addresses") == "move_out_certificates"
    assert next_job("move_out_certificates") == "removed_records"
    assert next_job("removed_records") is None
