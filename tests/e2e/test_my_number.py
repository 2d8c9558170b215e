"""個人番号 over HTTP: taken in plain at the counter, stored only sealed, shown only with a purpose
to a permitted role (and logged), found by its blind index, changed by a movement."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from api_support import APPROVER, CLERK, VIEWER, ApiClient, oplog_items
from juki.domain.codes import my_number_check_digit
from juki_local.system import LocalSystem
from test_move_in_flow import MOVE_IN, TODAY


def a_number() -> str:
    first11 = f"{uuid.uuid4().int % 10**11:011d}"
    return first11 + str(my_number_check_digit(first11))


def everything_stored(system: LocalSystem) -> str:
    """Every item of every table, as text."""
    dynamodb = system.emulator.client("dynamodb")
    dumps = []
    for table in system.description.tables:
        pages = dynamodb.get_paginator("scan").paginate(TableName=system.description.name(table.id))
        dumps += [json.dumps(item, ensure_ascii=False) for page in pages for item in page["Items"]]
    return "\n".join(dumps)


def moved_in_with(api: ApiClient, number: str) -> str:
    body: dict[str, Any] = copy.deepcopy(MOVE_IN)
    kana = "".join("アイウエオカキクケコサシスセソタ"[int(c, 16)] for c in uuid.uuid4().hex[:6])
    body["members"] = [
        dict(
            body["members"][0], my_number=number, name=dict(body["members"][0]["name"], family_name_kana=kana)
        )
    ]
    draft = api.request("POST", "/movements", CLERK, body)
    assert draft.status_code == 201, draft.text
    assert number not in draft.text  # the answer shows only that a number is recorded
    assert draft.json()["command"]["members"][0]["sealed_my_number"] == {"recorded": True}
    final = api.request("POST", f"/movements/{draft.json()['movement_id']}/approve", APPROVER)
    assert final.status_code == 200, final.text
    (person,) = final.json()["result"]["person_ids"]
    return str(person)


def test_my_number_is_sealed_found_shown_with_a_purpose_and_changed(
    api: ApiClient, local_system: LocalSystem
) -> None:
    number = a_number()
    person = moved_in_with(api, number)

    read = api.request("GET", f"/persons/{person}", VIEWER)
    assert read.json()["person"]["my_number"] == {"recorded": True}
    assert number not in read.text

    assert (
        api.request("POST", "/search/persons/by-my-number", VIEWER, {"my_number": number}).status_code == 403
    )
    found = api.request("POST", "/search/persons/by-my-number", APPROVER, {"my_number": number})
    assert found.status_code == 200, found.text
    assert [hit["person"]["person_id"] for hit in found.json()["persons"]] == [person]

    assert api.request("POST", f"/persons/{person}/my-number", VIEWER, {"purpose": "確認"}).status_code == 403
    assert api.request("POST", f"/persons/{person}/my-number", APPROVER, {}).status_code == 422
    shown = api.request("POST", f"/persons/{person}/my-number", APPROVER, {"purpose": "カード交付の本人確認"})
    assert shown.status_code == 200, shown.text
    assert shown.json() == {"person_id": person, "my_number": number, "purpose": "カード交付の本人確認"}
    entries = oplog_items(local_system)
    reveals = [e["body"]["M"] for e in entries if e["body"]["M"]["function"]["S"] == "my_number.reveal"]
    assert any(r["my_number_shown"]["BOOL"] and r["purpose"]["S"] == "カード交付の本人確認" for r in reveals)

    new_number = a_number()
    change = {"kind": "my_number_change", "effective_date": TODAY.isoformat(), "notified_date": TODAY.isoformat(),
              "person_id": person, "my_number": new_number}  # fmt: skip
    draft = api.request("POST", "/movements", CLERK, change)
    assert draft.status_code == 201, draft.text
    assert (
        api.request("POST", f"/movements/{draft.json()['movement_id']}/approve", APPROVER).json()["status"]
        == "final"
    )
    again = api.request("POST", "/search/persons/by-my-number", APPROVER, {"my_number": new_number}).json()[
        "persons"
    ]
    assert [hit["person"]["person_id"] for hit in again] == [person]

    stored = everything_stored(local_system)
    assert number not in stored
    assert new_number not in stored


def test_a_forged_seal_and_a_bad_number_are_refused(api: ApiClient) -> None:
    body: dict[str, Any] = copy.deepcopy(MOVE_IN)
    body["members"] = [
        dict(body["members"][0], sealed_my_number={"ciphertext": "QUJD", "blind_index": "a" * 64})
    ]
    assert api.request("POST", "/movements", CLERK, body).status_code == 422
    good = a_number()
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)  # a wrong check digit
    body["members"] = [dict(MOVE_IN["members"][0], my_number=bad)]
    refused = api.request("POST", "/movements", CLERK, body)
    assert refused.status_code == 422
    assert bad not in refused.text


def test_a_number_recorded_for_someone_else_is_refused(api: ApiClient) -> None:
    number = a_number()
    moved_in_with(api, number)
    body: dict[str, Any] = copy.deepcopy(MOVE_IN)
    body["members"] = [
        dict(
            body["members"][0],
            my_number=number,
            name=dict(body["members"][0]["name"], family_name_kana="ベツジン"),
        )
    ]
    refused = api.request("POST", "/movements", CLERK, body)
    assert refused.status_code == 422, refused.text
    assert (refused.json()["error"]["code"], refused.json()["error"]["field"]) == (
        "MY_NUMBER_IN_USE",
        "members[0].my_number",
    )
    assert number not in refused.text
