"""The foundation flow over HTTP: a household moves in, a second person approves, it reads back."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import APPROVER, CLERK, VIEWER, ApiClient, oplog_items
from juki.adapters.system import JST
from juki.domain.commands import MoveIn
from juki.domain.ids import is_valid_id
from juki_local.sigv4 import CallerCredential
from juki_local.system import LocalSystem
from juki_local.tokens import DemoStaff

# The README's example request (if it stops working, this test says so), dated relative to today.
MOVE_IN: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "examples" / "move_in.json").read_text(encoding="utf-8")
)
TODAY = datetime.now(JST).date()
MOVE_IN["effective_date"] = (TODAY - timedelta(days=6)).isoformat()
MOVE_IN["notified_date"] = (TODAY - timedelta(days=1)).isoformat()
SECOND_APPROVER = DemoStaff("S2002", "審査 二郎", ("approver",), "駿河区役所", "SURUGA-REVIEW-01")


def movement_count(system: LocalSystem) -> int:
    dynamodb = system.emulator.client("dynamodb")
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=system.description.name("ledger"),
        FilterExpression="begins_with(pk, :m)",
        ExpressionAttributeValues={":m": {"S": "MOVEMENT#"}},
        Select="COUNT",
    )
    return sum(page["Count"] for page in pages)


def test_move_in_draft_approval_and_read_back(api: ApiClient, local_system: LocalSystem) -> None:
    local_system.register_staff(SECOND_APPROVER)
    created = api.request("POST", "/movements", CLERK, MOVE_IN)
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["status"] == "draft"
    assert draft["entered_by"] == CLERK.staff_id
    assert MoveIn.model_validate(draft["command"]) == MoveIn.model_validate(MOVE_IN)  # as entered

    own = api.request("POST", f"/movements/{draft['movement_id']}/approve", CLERK)
    assert own.status_code == 403
    assert own.json()["error"]["code"] == "PERMISSION_DENIED"  # a clerk cannot approve at all

    approved = api.request("POST", f"/movements/{draft['movement_id']}/approve", APPROVER)
    assert approved.status_code == 200, approved.text
    final = approved.json()
    assert final["status"] == "final"
    assert final["approved_by"] == APPROVER.staff_id
    (household_id,) = final["result"]["household_ids"]
    person_ids = final["result"]["person_ids"]
    assert is_valid_id(household_id) and all(is_valid_id(p) for p in person_ids)

    again = api.request("POST", f"/movements/{draft['movement_id']}/approve", APPROVER)
    assert (again.status_code, again.json()) == (200, final)  # a retry after a lost answer
    other = api.request(
        "POST", f"/movements/{draft['movement_id']}/approve", token=local_system.token(SECOND_APPROVER)
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "MOVEMENT_NOT_DRAFT"

    read = api.request("GET", f"/households/{household_id}", VIEWER)
    assert read.status_code == 200, read.text
    view = read.json()
    assert view["household"]["version"] == 1
    assert view["household"]["head_person_id"] == person_ids[0]
    assert view["household"]["address"]["katagaki"] == "追手町レジデンス203号室"
    assert [m["name"]["given_name"] for m in view["members"]] == ["家康", "築山", "信康"]
    assert [m["relationship"] for m in view["members"]] == ["世帯主", "妻", "子"]
    assert {m["version"] for m in view["members"]} == {1}
    assert {m["resident_since"] for m in view["members"]} == {"2026-11-20"}

    person = api.request("GET", f"/persons/{person_ids[2]}", VIEWER)
    assert person.status_code == 200
    assert person.json()["person"]["birth_date"] == "2010-03-05"

    movement = api.request("GET", f"/movements/{draft['movement_id']}", VIEWER)
    assert movement.status_code == 200
    assert movement.json()["result"]["person_ids"] == person_ids


def test_self_approval_is_refused(api: ApiClient, local_system: LocalSystem) -> None:
    """A staff member with both roles still cannot approve what they entered."""
    both = DemoStaff("S4901", "兼務 三郎", ("clerk", "approver"), "清水区役所", "SHIMIZU-01")
    local_system.register_staff(both)
    body = copy.deepcopy(MOVE_IN)
    body["members"] = [
        dict(body["members"][0], name=dict(body["members"][0]["name"], given_name_kana="ミツヨシ"))
    ]
    draft = api.request("POST", "/movements", token=local_system.token(both), body=body).json()
    refused = api.request(
        "POST", f"/movements/{draft['movement_id']}/approve", token=local_system.token(both)
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "SELF_APPROVAL"
    assert api.request("GET", f"/movements/{draft['movement_id']}", VIEWER).json()["status"] == "draft"


def test_moving_in_a_current_resident_is_an_error(api: ApiClient, local_system: LocalSystem) -> None:
    demo = api.request("GET", "/households/0000000019", VIEWER).json()["members"][0]
    body = copy.deepcopy(MOVE_IN)
    body["members"] = [
        {
            "name": demo["name"],
            "birth_date": demo["birth_date"],
            "sex": demo["sex"],
            "relationship": "世帯主",
            "koseki": MOVE_IN["members"][0]["koseki"],
        }
    ]
    refused = api.request("POST", "/movements", CLERK, body)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("ALREADY_RESIDENT", "members[0]")
    assert "0000000019" not in refused.text  # finding the resident is a search, which is logged
    entries = oplog_items(local_system)
    refusals = [e for e in entries if e["body"]["M"]["outcome"]["S"] == "refused" and "0000000019" in str(e)]
    assert refusals, "a refused move-in that matched a resident is in the operation log"


def test_a_similar_resident_is_an_alert_for_the_approver(api: ApiClient, local_system: LocalSystem) -> None:
    demo = api.request("GET", "/households/0000000027", CLERK).json()["members"][0]
    voiced = dict(demo["name"], given_name="別人", given_name_kana=demo["name"]["given_name_kana"])
    body = copy.deepcopy(MOVE_IN)
    body["members"] = [
        {
            "name": voiced,
            "birth_date": demo["birth_date"],
            "sex": demo["sex"],
            "relationship": "世帯主",
            "koseki": demo["koseki"],
        }
    ]
    created = api.request("POST", "/movements", CLERK, body)
    assert created.status_code == 201, created.text
    assert [(a["code"], a["severity"]) for a in created.json()["alerts"]] == [("POSSIBLY_RESIDENT", "alert")]


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(MOVE_IN)
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (_with(["members", 0, "birth_date"], "1975-02-30"), "VALIDATION_ERROR", "members[0].birth_date"),
        (_with(["members", 1, "relationship"], "友人"), "VALIDATION_ERROR", "members[1].relationship"),
        (_with(["members", 0, "name", "given_name_kana"], "ieyasu"), "VALIDATION_ERROR", "members[0].name.given_name_kana"),
        (_with(["address", "postal_code"], "4200853"), "VALIDATION_ERROR", "address.postal_code"),
        (_with(["members"], []), "VALIDATION_ERROR", "members"),
        (_with(["effective_date"], "2099-01-01"), "FUTURE_EFFECTIVE_DATE", "effective_date"),
        (_with(["members", 1, "relationship"], "世帯主"), "HEAD_DUPLICATED", "members[1].relationship"),
        ({"kind": "move_in"}, "VALIDATION_ERROR", "effective_date"),
    ],
)  # fmt: skip
def test_bad_input_is_a_clear_error_and_changes_nothing(
    api: ApiClient, local_system: LocalSystem, body: dict[str, Any], code: str, field: str
) -> None:
    before = movement_count(local_system)
    response = api.request("POST", "/movements", CLERK, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert any("\u3040" <= ch <= "\u9fff" for ch in error["message"])  # Japanese
    assert movement_count(local_system) == before


def test_malformed_json_is_a_clear_error(api: ApiClient) -> None:
    response = api.request("POST", "/movements", CLERK, raw=b'{"kind": "move_in",')
    assert response.status_code == 422
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
        "VALIDATION_ERROR",
        "body",
    )


@pytest.mark.parametrize("raw", [b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000])
def test_unreadable_bodies_are_a_client_error(api: ApiClient, raw: bytes) -> None:
    response = api.request("POST", "/movements", CLERK, raw=raw)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "BODY_INVALID"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["members", 0, "birth_date"], "1975-01-31T00:00:00"),
        (["members", 0, "birth_date"], "0001-01-01"),
        (["members", 0, "name", "given_name"], "   "),
        (["members", 0, "name", "given_name"], "家\u0000康"),
        (["members", 0, "name", "given_name_kana"], "ーー"),
        (["members", 0, "sex"], 1),
        (["members"], {"0": "x"}),
    ],
)
def test_odd_values_are_refused(api: ApiClient, path: list[Any], value: Any) -> None:
    response = api.request("POST", "/movements", CLERK, _with(path, value))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    ("method", "path", "staff", "status", "code"),
    [
        ("POST", "/movements", None, 401, "TOKEN_MISSING"),
        ("POST", "/movements", VIEWER, 403, "PERMISSION_DENIED"),
        ("POST", "/movements", APPROVER, 403, "PERMISSION_DENIED"),
        ("GET", "/households/0000000019", None, 401, "TOKEN_MISSING"),
        ("GET", "/households/0000000018", VIEWER, 404, "HOUSEHOLD_NOT_FOUND"),
        ("GET", "/persons/12345", VIEWER, 422, "VALIDATION_ERROR"),
        ("GET", "/movements/" + "0" * 32, VIEWER, 404, "MOVEMENT_NOT_FOUND"),
        ("GET", "/nowhere", VIEWER, 404, "ROUTE_NOT_FOUND"),
    ],
)
def test_access_is_denied_unless_allowed(
    api: ApiClient, method: str, path: str, staff: Any, status: int, code: str
) -> None:
    response = api.request(method, path, staff, MOVE_IN if method == "POST" else None)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_requests_must_be_signed_by_a_known_calling_system(local_system: LocalSystem) -> None:
    import requests

    unsigned = requests.get(f"{local_system.api_url}/households/0000000019", timeout=10)
    assert unsigned.status_code == 403
    assert unsigned.json()["error"]["code"] == "SIGNATURE_MISSING"
    impostor = ApiClient(local_system, CallerCredential("AKIAJUKILOCALCOUNTER", "wrong-secret", "arn:x", "x"))
    forged = impostor.request("GET", "/households/0000000019", VIEWER)
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "SIGNATURE_MISMATCH"


def test_openapi_document_and_browser(local_system: LocalSystem) -> None:
    import requests

    spec = requests.get(f"{local_system.api_url}/openapi.json", timeout=10).json()
    assert {"/movements", "/movements/{movement_id}/approve", "/households/{household_id}"} <= set(
        spec["paths"]
    )
    schemas = spec["components"]["schemas"]
    move_in = schemas.get("MoveIn") or schemas["MoveIn-Input"]  # pydantic names input and output apart
    assert move_in["properties"]["effective_date"]["description"] == "異動日"
    kinds = {
        ref["$ref"].rsplit("/", 1)[1].removesuffix("-Input")
        for ref in spec["paths"]["/movements"]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ]["oneOf"]
    }
    assert {"MoveIn", "InCityMove", "MoveOut", "Birth", "Death", "HeadChange", "Cancellation"} <= kinds
    page = requests.get(f"{local_system.api_url}/docs", timeout=10)
    assert page.status_code == 200
    assert "異動の決裁" in page.text


def test_without_a_token_nothing_is_read(api: ApiClient) -> None:
    """Authentication comes first: no schema details, no body parsing for an unknown caller."""
    for raw in (b'{"kind": 1}', b"\xff", b"[" * 5000):
        response = api.request("POST", "/movements", raw=raw)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "TOKEN_MISSING"
