"""A foreign resident over HTTP: moved in with the foreign-resident items instead of a 本籍, found
by residence card number (a renewed card and the old one alike), and the card renewed."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from api_support import APPROVER, CLERK, VIEWER, ApiClient
from test_move_in_flow import MOVE_IN, TODAY


def card() -> str:
    digits = f"{uuid.uuid4().int % 10**8:08d}"
    return f"AB{digits}CD"


def foreign_items(card_number: str) -> dict[str, Any]:
    return {"category": "mid_to_long_term", "residence_status_code": "21", "period_of_stay": "3年",
            "expiry_date": "2029-04-01", "card_number": card_number, "nationality_code": "704",
            "nationality": "ベトナム", "became_foreign_resident_on": "2024-04-01"}  # fmt: skip


def final(api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    draft = api.request("POST", "/movements", CLERK, body)
    assert draft.status_code == 201, draft.text
    done = api.request("POST", f"/movements/{draft.json()['movement_id']}/approve", APPROVER)
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result


def found(api: ApiClient, card_number: str) -> list[str]:
    response = api.request("GET", f"/search/persons?card_number={card_number}", VIEWER)
    assert response.status_code == 200, response.text
    return [hit["person"]["person_id"] for hit in response.json()["persons"]]


def test_a_foreign_resident_is_found_by_card_before_and_after_renewal(api: ApiClient) -> None:
    first_card, second_card = card(), card()
    body: dict[str, Any] = copy.deepcopy(MOVE_IN)
    name = {"family_name": "グエン", "given_name": "ヴァン", "family_name_kana": "グエン",
            "given_name_kana": "ヴァン" + "".join("アイウエオ"[int(c) % 5] for c in first_card[2:5])}  # fmt: skip
    body["members"] = [{"name": name, "birth_date": "1995-05-05", "sex": "male", "relationship": "世帯主",
                        "foreign_resident": foreign_items(first_card)}]  # fmt: skip
    (person,) = final(api, body)["result"]["person_ids"]
    assert found(api, first_card.lower()) == [person]

    renewal = {"kind": "foreign_resident_change", "effective_date": TODAY.isoformat(),
               "notified_date": TODAY.isoformat(), "person_id": person, "reason": "status_change",
               "foreign_resident": foreign_items(second_card) | {"expiry_date": "2032-04-01"}}  # fmt: skip
    final(api, renewal)
    assert found(api, second_card) == [person]
    assert found(api, first_card) == [person]  # the old card still finds the person
    current = api.request("GET", f"/persons/{person}", CLERK).json()["person"]
    assert current["foreign_resident"]["card_number"] == second_card
    seen_by_viewer = api.request("GET", f"/persons/{person}", VIEWER).json()
    assert seen_by_viewer["masked_items"] == ["resident_code", "koseki", "residence_status"]
    assert seen_by_viewer["person"]["foreign_resident"]["card_number"] is None
    assert current["koseki"] is None
