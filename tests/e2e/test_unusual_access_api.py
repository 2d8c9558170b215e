"""The auditor's unusual-access report over HTTP: who may read it, a day without one, and the read
itself in the operation log."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from api_support import APPROVER, ApiClient
from juki.adapters.oplog_reader import DynamoOperationLogReader
from juki.adapters.reports import build_unusual_access
from juki.bootstrap import Services
from juki.domain.oplog import OperationLogEntry
from juki.domain.staff import SystemActor
from juki.domain.unusual_access import JAPAN
from juki.services.unusual_access import report_key
from juki_local.tokens import DEMO_STAFF

AUDITOR = next(staff for staff in DEMO_STAFF if "auditor" in staff.roles)  # registered at start
DAY = date(2031, 3, 4)  # a day of this test's own, far from the others' entries
NIGHT_OWL = f"U{uuid.uuid4().hex[:6]}N"


@pytest.fixture(scope="module")
def reported(services: Services) -> str:
    """A report for ``DAY`` with one finding: a read at 22:00 by this test's own staff id."""
    services.store.append(
        OperationLogEntry(
            entry_id=uuid.uuid4().hex,
            at=datetime.combine(DAY, time(22, 0), JAPAN),
            staff_id=NIGHT_OWL,
            office="葵区役所",
            terminal="AOI-TEST-02",
            caller="arn:aws:iam::000000000000:role/test",
            function="resident.read",
            action="read",
            persons=["9999999999"],
            request_id=uuid.uuid4().hex,
        )
    )
    summary = services.part(build_unusual_access).run(SystemActor("unusual-access", "e2e"), DAY)
    return summary.report_key


def test_an_auditor_reads_the_days_report_and_the_read_is_logged(
    api: ApiClient, services: Services, reported: str
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    response = api.request("GET", f"/audit/unusual-access/{DAY.isoformat()}", AUDITOR)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["day"] == DAY.isoformat()
    (finding,) = [f for f in report["findings"] if f["staff_id"] == NIGHT_OWL]
    assert (finding["rule"], finding["count"]) == ("OUTSIDE_HOURS", 1)
    assert "9999999999" not in response.text

    reader = DynamoOperationLogReader(
        services.settings.oplog_table, services.settings.region, services.settings.endpoint_url
    )
    reads = [e for e in reader.by_staff(AUDITOR.staff_id, before, datetime.now(UTC)) if e.subject == reported]
    assert [(e.function, e.action, e.outcome) for e in reads] == [("audit.read", "read", "success")]


def test_only_auditors_read_reports(api: ApiClient, reported: str) -> None:
    response = api.request("GET", f"/audit/unusual-access/{DAY.isoformat()}", APPROVER)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"


def test_a_day_without_a_report_is_not_found_and_a_bad_day_is_refused(api: ApiClient) -> None:
    missing = api.request("GET", "/audit/unusual-access/2031-03-05", AUDITOR)
    assert missing.status_code == 404
    assert (missing.json()["error"]["code"], missing.json()["error"]["field"]) == (
        "UNUSUAL_ACCESS_REPORT_NOT_FOUND",
        "day",
    )
    assert report_key(date(2031, 3, 5)) not in missing.text
    invalid = api.request("GET", "/audit/unusual-access/2031-02-30", AUDITOR)
    assert invalid.status_code == 422
