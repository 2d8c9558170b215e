"""The auditor's operation-log search over HTTP (GET /audit/oplog)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from conftest import VIEWER, ApiClient
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
