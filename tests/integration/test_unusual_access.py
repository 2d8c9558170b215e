"""Unusual-access detection end to end on the local system: entries written through the operation
log's write path for a day of their own, the real state machine run for that day, the report read
back from the documents bucket.

The day is far in the future (2031-02-03, a Monday) so that no other test's entries fall on it or on
the days its rules look back on, and the staff ids are this run's own.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from juki.adapters.oplog_reader import DynamoOperationLogReader
from juki.adapters.reports import build_unusual_access
from juki.adapters.stepfunctions import StepFunctionsWorkflow
from juki.bootstrap import Services
from juki.domain.oplog import Action, OperationLogEntry, Outcome
from juki.domain.staff import SystemActor
from juki.domain.unusual_access import JAPAN, Basis, Rule, Thresholds, UnusualAccessReport
from juki.observability import logger
from juki.services.unusual_access import JOB, UNUSUAL_ACCESS_FOUND, report_key
from juki_local.system import LocalSystem

DAY = date(2031, 2, 3)
RUN = uuid.uuid4().hex[:6]
BROWSER, APPROVER, USUAL, NIGHT, LISTER = (f"U{RUN}{n}" for n in "ABCDE")
PROBED = f"unverified:U{RUN}X"


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), JAPAN)


def person(n: int) -> str:
    return f"9{RUN[:3]}{n:06d}"[:10]


def household(n: int) -> str:
    return f"8{RUN[:3]}{n:06d}"[:10]


def entry(
    staff_id: str,
    when: datetime,
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
        entry_id=uuid.uuid4().hex,
        at=when,
        staff_id=staff_id,
        office="葵区役所",
        terminal="AOI-TEST-01",
        caller="arn:aws:iam::000000000000:role/test",
        function=function,
        action=action,
        persons=persons or [],
        households=households or [],
        my_number_shown=my_number_shown,
        purpose="個人番号カード交付の本人確認" if my_number_shown else None,
        request_id=uuid.uuid4().hex,
        outcome=outcome,
        subject=subject,
    )


def the_day() -> Iterator[OperationLogEntry]:
    # A clerk handles two notices (yesterday's and today's) and reads their people: related.
    yield entry(
        BROWSER,
        at(DAY - timedelta(days=1), 16),
        function="movement.enter",
        action="create",
        persons=[person(1)],
        households=[household(1)],
    )
    yield entry(BROWSER, at(DAY, 9), persons=[person(1)], households=[household(1)])
    yield entry(BROWSER, at(DAY, 9, 5), function="movement.enter", action="create", persons=[person(2)])
    yield entry(BROWSER, at(DAY, 9, 6), persons=[person(2)], households=[household(2)])
    # ... then looks at 31 other people, one by one: UNRELATED_VIEWS.
    for n in range(31):
        yield entry(BROWSER, at(DAY, 13, n), persons=[person(100 + n)], households=[household(100 + n)])
    # An approver shows 11 個人番号 with no history: MY_NUMBER_RATE (limit 10).
    for n in range(11):
        yield entry(
            APPROVER,
            at(DAY, 10, n),
            function="my_number.reveal",
            persons=[person(200 + n)],
            households=[household(200 + n)],
            my_number_shown=True,
        )
    # Another shows 12, but does so every day (120 in the baseline: limit 12): nothing.
    for n in range(12):
        yield entry(
            USUAL,
            at(DAY, 11, n),
            function="my_number.reveal",
            persons=[person(300 + n)],
            my_number_shown=True,
        )
    for n in range(3):  # part of the baseline, in the log of a day without a report
        yield entry(
            USUAL,
            at(DAY - timedelta(days=10), 11, n),
            function="my_number.reveal",
            persons=[person(400 + n)],
            my_number_shown=True,
        )
    # Someone reads a record at 21:30: OUTSIDE_HOURS.
    yield entry(NIGHT, at(DAY, 21, 30), persons=[person(500)], households=[household(500)])
    # A search page of 60 people and an export: BULK_READ twice.
    yield entry(
        LISTER,
        at(DAY, 14),
        function="resident.search",
        persons=[person(600 + n) for n in range(60)],
        households=[household(600 + n) for n in range(60)],
    )
    yield entry(LISTER, at(DAY, 15), function="disclosure.prepare", action="export", persons=[person(600)])
    # Six refused sign-ins for one account, on two routes (as the API logs them): REPEATED_LOGIN_REFUSALS.
    for n in range(6):
        yield entry(PROBED, at(DAY, 8, 30, n), function="auth.sign_in", action="login", outcome="refused",
                    subject=("GET /persons/{person_id}", "GET /search/persons")[n % 2])  # fmt: skip
    # A system job at night is no finding.
    yield entry("system:movement-commit", at(DAY, 2), function="movement.commit", action="commit")


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def written(services: Services, local_system: LocalSystem) -> None:
    for item in the_day():
        services.store.append(item)
    # The day before yesterday's report is there already: its counts are the baseline for that day.
    earlier = UnusualAccessReport(
        day=DAY - timedelta(days=2),
        thresholds=Thresholds(),
        entries_examined=117,
        staff_examined=1,
        counts={},
        findings=[],
        my_number_reveals={USUAL: 117},
    )
    local_system.emulator.client("s3").put_object(
        Bucket=services.settings.documents_bucket,
        Key=report_key(DAY - timedelta(days=2)),
        Body=earlier.model_dump_json().encode(),
    )


def run(local_system: LocalSystem, day: date) -> dict[str, object]:
    workflow = StepFunctionsWorkflow(
        local_system.emulator.client("stepfunctions"), local_system.resources.state_machines["unusual-access"]
    )
    arn = workflow.start(f"test-{RUN}-{uuid.uuid4().hex[:8]}", {"day": day.isoformat()})
    outcome = workflow.wait(arn, 120)
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.output is not None
    return outcome.output


def stored(services: Services, local_system: LocalSystem) -> bytes:
    s3 = local_system.emulator.client("s3")
    body: bytes = s3.get_object(Bucket=services.settings.documents_bucket, Key=report_key(DAY))["Body"].read()
    return body


def test_the_state_machine_reports_the_days_unusual_access(
    services: Services, local_system: LocalSystem, written: None
) -> None:
    alarm = Kept()
    logging.getLogger(logger.name).addHandler(alarm)
    started = datetime.now(UTC)
    try:
        output = run(local_system, DAY)
    finally:
        logging.getLogger(logger.name).removeHandler(alarm)

    key = report_key(DAY)
    assert output["report_key"] == key == "reports/unusual-access/2031-02-03.json"
    assert output["day"] == "2031-02-03"
    body = stored(services, local_system)
    report = UnusualAccessReport.model_validate_json(body)
    mine = {f.staff_id for f in report.findings} & {BROWSER, APPROVER, USUAL, NIGHT, LISTER, PROBED}
    found = {(f.rule, f.basis, f.staff_id, f.count) for f in report.findings if f.staff_id in mine}
    assert found == {
        (Rule.UNRELATED_VIEWS, Basis.UNRELATED_PERSONS, BROWSER, 31),
        (Rule.MY_NUMBER_RATE, Basis.MY_NUMBER_REVEALS, APPROVER, 11),
        (Rule.OUTSIDE_HOURS, Basis.ENTRIES_OUTSIDE_HOURS, NIGHT, 1),
        (Rule.UNRELATED_VIEWS, Basis.UNRELATED_PERSONS, LISTER, 60),
        (Rule.BULK_READ, Basis.PERSONS_IN_ONE_ENTRY, LISTER, 1),
        (Rule.BULK_READ, Basis.EXPORTS, LISTER, 1),
        (Rule.REPEATED_LOGIN_REFUSALS, Basis.LOGIN_REFUSALS, PROBED, 6),
    }
    assert report.my_number_reveals[USUAL] == 12  # 12 ≤ 3 × (117 + 3) / 30: no finding
    unrelated = next(f for f in report.findings if f.rule == Rule.UNRELATED_VIEWS and f.staff_id == BROWSER)
    assert len(unrelated.entry_ids) == 31
    assert output["findings"] == len(report.findings) >= 6
    assert not any(person(n) in body.decode() for n in (1, 100, 200, 500, 600))  # ids of entries only

    (line,) = [r for r in alarm.records if getattr(r, "code", None) == UNUSUAL_ACCESS_FOUND]
    assert (line.levelno, line.findings) == (logging.WARNING, output["findings"])  # type: ignore[attr-defined]

    reader = DynamoOperationLogReader(
        services.settings.oplog_table, services.settings.region, services.settings.endpoint_url
    )
    logged = [
        e
        for e in reader.by_staff("system:unusual-access", started - timedelta(seconds=5), datetime.now(UTC))
        if e.subject == key
    ]
    assert [(e.action, e.function, e.persons) for e in logged] == [("export", "audit.unusual_access", [])]


def test_running_the_same_day_again_gives_the_same_report(
    services: Services, local_system: LocalSystem, written: None
) -> None:
    first = run(local_system, DAY)
    body = stored(services, local_system)
    again = run(local_system, DAY)
    assert stored(services, local_system) == body
    assert again["written"] is False
    assert {k: v for k, v in again.items() if k != "written"} == {
        k: v for k, v in first.items() if k != "written"
    }
    assert json.loads(body)["day"] == "2031-02-03"


def test_a_retried_run_logs_once(services: Services, written: None) -> None:
    service = services.part(build_unusual_access)
    actor = SystemActor(JOB, "retry-test")
    started = datetime.now(UTC)
    run_id = f"retry-{RUN}"
    first = service.run(actor, DAY, run_id=run_id, started_at=started)
    again = service.run(actor, DAY, run_id=run_id, started_at=started)
    assert (first.report_key, first.findings) == (again.report_key, again.findings)
    reader = DynamoOperationLogReader(
        services.settings.oplog_table, services.settings.region, services.settings.endpoint_url
    )
    logged = [
        e
        for e in reader.by_staff(f"system:{JOB}", started, datetime.now(UTC))
        if e.request_id == "retry-test"
    ]
    assert len(logged) == 1
    assert logged[0].at >= started  # stamped when written, never back-dated to the start
