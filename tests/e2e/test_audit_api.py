"""The auditor's operation-log search over HTTP (GET /audit/oplog)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from api_support import VIEWER, ApiClient
from juki.adapters.system import JST
from juki_local.tokens import DEMO_BY_ROLE
from test_search_api import DEMO_HOUSEHOLD

AUDITOR = DEMO_BY_ROLE["auditor"]


def audit(api: ApiClient, staff: Any = AUDITOR, **query: Any) -> Any:
    return api.request("GET", f"/audit/oplog?{urlencode(query)}", staff)


def test_an_auditor_finds_a_read_by_staff_person_and_function_and_the_search_is_logged(
    api: ApiClient,
) -> None:
    view = api.request("GET", f"/households/{DEMO_HOUSEHOLD}", VIEWER).json()
    person_id = view["members"][0]["person_id"]
    today = datetime.now(JST).date().isoformat()
    found = audit(api, **{"from": today, "to": today, "staff_id": VIEWER.staff_id, "person_id": person_id})
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["order"] == "oldest_first"
    assert body["entries"], body
    assert all(person_id in e["persons"] and e["staff_id"] == VIEWER.staff_id for e in body["entries"])
    times = [e["at"] for e in body["entries"]]
    assert times == sorted(times)

    logged = audit(
        api, **{"from": today, "to": today, "staff_id": AUDITOR.staff_id, "function": "audit.read"}
    )
    searches = [e for e in logged.json()["entries"] if e["persons"] == [person_id]]
    assert searches and searches[-1]["action"] == "read"
    assert searches[-1]["subject"].startswith("oplog.search")


def test_pages_follow_the_cursor(api: ApiClient) -> None:
    start = (datetime.now(JST) - timedelta(hours=1)).isoformat(timespec="seconds")
    end = (datetime.now(JST) + timedelta(minutes=1)).isoformat(timespec="seconds")
    first = audit(api, **{"from": start, "to": end, "limit": 2}).json()
    assert len(first["entries"]) == 2 and first["next_cursor"]
    second = audit(api, **{"from": start, "to": end, "limit": 2, "cursor": first["next_cursor"]}).json()
    assert second["entries"]
    assert second["entries"][0]["at"] >= first["entries"][-1]["at"]
    assert {e["entry_id"] for e in first["entries"]}.isdisjoint(e["entry_id"] for e in second["entries"])


def test_a_period_longer_than_31_days_is_refused(api: ApiClient) -> None:
    response = audit(api, **{"from": "2025-01-01", "to": "2025-02-15"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "OPLOG_RANGE_TOO_LONG"


def test_only_auditors_may_search(api: ApiClient) -> None:
    today = datetime.now(JST).date().isoformat()
    assert audit(api, VIEWER, **{"from": today, "to": today}).status_code == 403


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        ("2025-01-01", "9999-12-31", "OPLOG_RANGE_INVALID"),  # the day after the end is not a date
        ("9999-12-31", "9999-12-31", "OPLOG_RANGE_INVALID"),
        ("0001-01-01", "0001-01-01", "OPLOG_RANGE_INVALID"),  # before the first instant in UTC
        ("9999-12-31T20:00:00+09:00", "9999-12-31T23:00:00-12:00", "OPLOG_RANGE_INVALID"),
        ("2025-02-01", "2025-01-31", "OPLOG_RANGE_INVALID"),  # from after to
        ("2025-01-01T10:00:00+09:00", "2025-01-01T10:00:00+09:00", "OPLOG_RANGE_INVALID"),
        ("2025-13-01", "2025-01-31", "OPLOG_RANGE_INVALID"),
        ("0001-01-01", "2025-01-31", "OPLOG_RANGE_INVALID"),
    ],
)
def test_a_bound_outside_the_calendar_or_the_wrong_way_round_is_refused(
    api: ApiClient, start: str, end: str, code: str
) -> None:
    response = audit(api, **{"from": start, "to": end})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-02", "0001-01-02"),  # the far past: a valid period, with no entries
        ("9999-12-30", "9999-12-30"),  # the far future, up to the last representable day
        ("9999-12-31T00:00:00+09:00", "9999-12-31T12:00:00+09:00"),
    ],
)
def test_a_period_at_the_ends_of_the_calendar_finds_nothing(api: ApiClient, start: str, end: str) -> None:
    response = audit(api, **{"from": start, "to": end})
    assert response.status_code == 200, response.text
    assert response.json()["entries"] == []


def test_a_forged_cursor_is_refused_or_bounded_by_the_period(api: ApiClient) -> None:
    today = datetime.now(JST).date().isoformat()

    def cursor(sk: str) -> str:
        return base64.urlsafe_b64encode(sk.encode()).decode().rstrip("=")

    refused = audit(api, **{"from": today, "to": today, "cursor": cursor("not a sort key")})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "CURSOR_INVALID"
    assert audit(api, **{"from": today, "to": today}).status_code == 200  # logged: today has an entry
    before = audit(api, **{"from": today, "to": today, "cursor": cursor("2025-01-01T10:00:00+09:00#x")})
    assert before.status_code == 200, before.text
    assert before.json()["entries"]  # a cursor before the period reads the period from its start
    after = audit(api, **{"from": today, "to": today, "cursor": cursor(f"{today}T23:59:59.999999+09:00#x")})
    assert after.status_code == 200, after.text
    assert (after.json()["entries"], after.json()["next_cursor"]) == ([], None)
