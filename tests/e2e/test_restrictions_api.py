"""Restrictions and support measures over HTTP: who may set them, listings, and clear refusals."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from api_support import APPROVER, CLERK, VIEWER, ApiClient
from juki.adapters.system import JST
from juki.domain.restrictions import term_end
from test_move_in_flow import MOVE_IN

TODAY = datetime.now(JST).date()


def new_resident(api: ApiClient) -> str:
    """A resident of the caller's own (moved in and approved), so no other test meets its restrictions."""
    body = copy.deepcopy(MOVE_IN)
    kana = "".join("アイウエオカキクケコサシスセソタ"[int(c, 16)] for c in uuid.uuid4().hex[:6])
    body["members"] = [dict(body["members"][0], name=dict(body["members"][0]["name"], family_name_kana=kana))]
    draft = api.request("POST", "/movements", CLERK, body)
    assert draft.status_code == 201, draft.text
    final = api.request("POST", f"/movements/{draft.json()['movement_id']}/approve", APPROVER)
    assert final.status_code == 200, final.text
    (person,) = final.json()["result"]["person_ids"]
    return str(person)


@pytest.fixture(scope="module")
def person_id(api: ApiClient) -> str:
    return new_resident(api)


def measure_ids(api: ApiClient, query: str = "") -> set[str]:
    response = api.request("GET", f"/support-measures{query}", APPROVER)
    assert response.status_code == 200, response.text
    return {m["measure_id"] for m in response.json()["support_measures"]}


def test_an_approver_starts_a_support_measure_and_lists_it(api: ApiClient, person_id: str) -> None:
    created = api.request(
        "POST", "/support-measures", APPROVER, {"person_id": person_id, "starts_on": TODAY.isoformat()}
    )
    assert created.status_code == 201, created.text
    measure = created.json()
    assert (measure["provisional"], measure["status"], measure["created_by"]) == (
        False,
        "active",
        APPROVER.staff_id,
    )
    assert measure["ends_on"] == term_end(TODAY).isoformat()

    assert measure["measure_id"] in measure_ids(api)
    assert measure["measure_id"] not in measure_ids(api, "?expiring_within_days=30")
    on_person = api.request("GET", f"/persons/{person_id}/restrictions", APPROVER)
    assert on_person.status_code == 200
    assert [m["measure_id"] for m in on_person.json()["support_measures"]] == [measure["measure_id"]]

    too_early = api.request("POST", f"/support-measures/{measure['measure_id']}/extend", APPROVER)
    assert too_early.status_code == 422
    assert (too_early.json()["error"]["code"], too_early.json()["error"]["field"]) == (
        "EXTENSION_TOO_EARLY",
        "ends_on",
    )


def test_a_restriction_is_set_released_and_ended(api: ApiClient, person_id: str) -> None:
    body = {
        "target": "person",
        "target_id": person_id,
        "processes": ["movement"],
        "level": "alert",
        "reason": "確認が必要",
        "starts_on": TODAY.isoformat(),
    }
    created = api.request("POST", "/restrictions", APPROVER, body)
    assert created.status_code == 201, created.text
    rid = created.json()["restriction_id"]
    until = (datetime.now(JST) + timedelta(hours=1)).isoformat()
    released = api.request(
        "POST", f"/restrictions/{rid}/release", APPROVER, {"until": until, "reason": "窓口で確認済み"}
    )
    assert released.status_code == 200, released.text
    assert len(released.json()["releases"]) == 1
    ended = api.request("POST", f"/restrictions/{rid}/end", APPROVER)
    assert (ended.status_code, ended.json()["status"]) == (200, "ended")
    again = api.request("POST", f"/restrictions/{rid}/end", APPROVER)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "ALREADY_ENDED")


MEASURE = {"person_id": "0000000019", "starts_on": TODAY.isoformat()}
RESTRICTION = {
    "target": "person",
    "target_id": "0000000019",
    "processes": ["certificate"],
    "level": "error",
    "reason": "試験",
    "starts_on": TODAY.isoformat(),
}


@pytest.mark.parametrize(
    ("method", "path", "staff", "body"),
    [
        ("POST", "/support-measures", VIEWER, MEASURE),
        ("POST", "/support-measures", CLERK, MEASURE),
        ("GET", "/support-measures", VIEWER, None),
        ("GET", "/persons/0000000019/restrictions", CLERK, None),
        ("POST", "/restrictions", VIEWER, RESTRICTION),
    ],
)
def test_only_a_manager_may_touch_them(api: ApiClient, method: str, path: str, staff: Any, body: Any) -> None:
    response = api.request(method, path, staff, body)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        ("/support-measures", {"starts_on": "2027-02-30"}, "VALIDATION_ERROR", "starts_on"),
        ("/support-measures", {"starts_on": "2026/11/01"}, "VALIDATION_ERROR", "starts_on"),
        ("/support-measures", {"provisional": True, "ends_on": "+40"}, "PROVISIONAL_TOO_LONG", "ends_on"),
        ("/support-measures", {"ends_on": "+10"}, "TERM_FIXED", "ends_on"),
        ("/support-measures", {"starts_on": "-400"}, "PERIOD_IN_PAST", "ends_on"),
        ("/restrictions", {"ends_on": "-1"}, "INVALID_PERIOD", "ends_on"),
        ("/restrictions", {"processes": []}, "VALIDATION_ERROR", "processes"),
    ],
)
def test_invalid_dates_are_a_clear_error(
    api: ApiClient, person_id: str, path: str, body: dict[str, Any], code: str, field: str
) -> None:
    """Dates in the table are relative to today when written as "+N" / "-N" days."""
    base: dict[str, Any] = (
        dict(MEASURE, person_id=person_id)
        if path == "/support-measures"
        else dict(RESTRICTION, target_id=person_id)
    )
    for key, value in body.items():
        relative = isinstance(value, str) and value[:1] in "+-"
        base[key] = (TODAY + timedelta(days=int(value))).isoformat() if relative else value
    response = api.request("POST", path, APPROVER, base)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert any("\u3040" <= ch <= "\u9fff" for ch in error["message"])


def test_listing_days_must_be_a_small_number(api: ApiClient) -> None:
    response = api.request("GET", "/support-measures?expiring_within_days=-1", APPROVER)
    assert (response.status_code, response.json()["error"]["field"]) == (422, "expiring_within_days")


def restrict(api: ApiClient, person: str, processes: list[str], level: str) -> None:
    body = {"target": "person", "target_id": person, "processes": processes, "level": level,
            "reason": "試験", "starts_on": TODAY.isoformat()}  # fmt: skip
    created = api.request("POST", "/restrictions", APPROVER, body)
    assert created.status_code == 201, created.text


def test_an_inquiry_restriction_refuses_the_read_and_logs_the_refusal(api: ApiClient) -> None:
    person = new_resident(api)
    restrict(api, person, ["inquiry"], "error")
    refused = api.request("GET", f"/persons/{person}", VIEWER)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "RESTRICTED"
    assert "試験" not in refused.text  # the reason stays inside the office
    history = api.request("GET", f"/persons/{person}/history", VIEWER)
    assert history.status_code == 403


def test_a_support_measure_alerts_an_inquiry(api: ApiClient) -> None:
    person = new_resident(api)
    created = api.request(
        "POST", "/support-measures", APPROVER, {"person_id": person, "starts_on": TODAY.isoformat()}
    )
    assert created.status_code == 201, created.text
    read = api.request("GET", f"/persons/{person}", VIEWER)
    assert read.status_code == 200
    assert [a["code"] for a in read.json()["alerts"]] == ["SUPPORT_MEASURE_ALERT"]


def test_a_movement_restriction_refuses_the_entry(api: ApiClient) -> None:
    person = new_resident(api)
    restrict(api, person, ["movement"], "error")
    body = {
        "kind": "death",
        "effective_date": TODAY.isoformat(),
        "notified_date": TODAY.isoformat(),
        "person_id": person,
    }
    refused = api.request("POST", "/movements", CLERK, body)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "RESTRICTED"


def test_a_movement_alert_reaches_the_approver(api: ApiClient) -> None:
    person = new_resident(api)
    restrict(api, person, ["movement"], "alert")
    body = {
        "kind": "death",
        "effective_date": TODAY.isoformat(),
        "notified_date": TODAY.isoformat(),
        "person_id": person,
    }
    created = api.request("POST", "/movements", CLERK, body)
    assert created.status_code == 201, created.text
    assert [a["code"] for a in created.json()["alerts"]] == ["RESTRICTED_ALERT"]
    preview = api.request("GET", f"/movements/{created.json()['movement_id']}/preview", APPROVER)
    assert [i["code"] for i in preview.json()["issues"]] == ["RESTRICTED_ALERT"]


def test_a_protected_person_is_absent_from_search_and_their_movements_are_refused(api: ApiClient) -> None:
    person = new_resident(api)
    read = api.request("GET", f"/persons/{person}", VIEWER).json()["person"]
    kana = read["name"]["family_name_kana"]
    assert [
        h["person"]["person_id"]
        for h in api.request("GET", f"/search/persons?family_name_kana={kana}", VIEWER).json()["persons"]
    ] == [person]
    restrict(api, person, ["inquiry"], "error")
    assert api.request("GET", f"/search/persons?family_name_kana={kana}", VIEWER).json()["persons"] == []
    movement = api.request("GET", f"/persons/{person}/history", APPROVER)
    assert movement.status_code == 403
    moved_in = read["movement_id"]
    refused = api.request("GET", f"/movements/{moved_in}", VIEWER)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "RESTRICTED"
