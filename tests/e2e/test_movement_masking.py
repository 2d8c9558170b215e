"""A movement read over HTTP shows the guarded items of its notice only to roles that may see
them: reading a movement needs no more than reading a record, so it blanks the same items."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from api_support import APPROVER, CLERK, VIEWER, ApiClient
from juki.domain.codes import resident_code_check_digit
from test_foreign_resident import card, foreign_items
from test_move_in_flow import MOVE_IN

KOSEKI = {"domicile": "静岡県静岡市葵区追手町5番地", "head": "駿府家康", "domicile_municipality_code": None}
STATUS_ITEMS = ("residence_status_code", "period_of_stay", "expiry_date", "card_number")


def brought_code() -> str:
    """A 住民票コード from a 転出証明書 that nobody here holds (random: 120 demo residents hold one)."""
    first10 = f"{uuid.uuid4().int % 10**10:010d}"
    return first10 + str(resident_code_check_digit(first10))


def move_in(code: str, card_number: str) -> dict[str, Any]:
    """A Japanese head with 本籍 and the 住民票コード they bring, and a foreign resident with a card."""
    kana = "".join("アイウエオカキクケコ"[int(c)] for c in card_number[2:6])
    body: dict[str, Any] = copy.deepcopy(MOVE_IN)
    body["members"] = [
        {"name": {"family_name": "駿府", "given_name": "伏字", "family_name_kana": "スンプ",
                  "given_name_kana": "フセジ" + kana},
         "birth_date": "1980-02-02", "sex": "female", "relationship": "世帯主", "koseki": KOSEKI,
         "resident_code": code},
        {"name": {"family_name": "グエン", "given_name": "ヴァン", "family_name_kana": "グエン",
                  "given_name_kana": "ヴァン" + kana},
         "birth_date": "1995-05-05", "sex": "male", "relationship": "同居人",
         "foreign_resident": foreign_items(card_number)},
    ]  # fmt: skip
    return body


def guarded(movement: dict[str, Any]) -> dict[str, Any]:
    japanese, foreign = movement["command"]["members"]
    return {
        "resident_code": japanese["resident_code"],
        "koseki": japanese["koseki"],
        **{item: foreign["foreign_resident"][item] for item in STATUS_ITEMS},
    }


def test_a_movement_shows_each_role_only_the_guarded_items_it_may_see(api: ApiClient) -> None:
    code, card_number = brought_code(), card()
    created = api.request("POST", "/movements", CLERK, move_in(code, card_number))
    assert created.status_code == 201, created.text
    movement_id = created.json()["movement_id"]
    as_entered = {"resident_code": code, "koseki": KOSEKI} | {
        item: foreign_items(card_number)[item] for item in STATUS_ITEMS
    }
    blank_code = as_entered | {"resident_code": None}
    all_blank = dict.fromkeys(as_entered)

    # The clerk who entered it: 本籍 and 在留資格 yes, 住民票コード no (even the one just typed).
    assert created.json()["masked_items"] == ["resident_code"]
    assert guarded(created.json()) == blank_code
    clerk = api.request("GET", f"/movements/{movement_id}", CLERK).json()
    assert (guarded(clerk), clerk["masked_items"]) == (blank_code, ["resident_code"])

    # Another department's viewer: none of them; the category and nationality stay.
    viewer = api.request("GET", f"/movements/{movement_id}", VIEWER)
    assert viewer.status_code == 200, viewer.text
    assert guarded(viewer.json()) == all_blank
    assert viewer.json()["masked_items"] == ["resident_code", "koseki", "residence_status"]
    foreign = viewer.json()["command"]["members"][1]["foreign_resident"]
    assert (foreign["category"], foreign["nationality"]) == ("mid_to_long_term", "ベトナム")
    listed = api.request("GET", "/movements", VIEWER).json()["movements"]
    (in_list,) = [m for m in listed if m["movement_id"] == movement_id]
    assert guarded(in_list) == all_blank
    assert in_list["masked_items"] == ["resident_code", "koseki", "residence_status"]

    # The approver sees everything, so the stored notice kept what was entered.
    approver = api.request("GET", f"/movements/{movement_id}", APPROVER).json()
    assert (guarded(approver), approver["masked_items"]) == (as_entered, [])
    preview = api.request("GET", f"/movements/{movement_id}/preview", APPROVER)
    assert preview.status_code == 200, preview.text
    assert preview.json()["masked_items"] == []
    assert guarded(preview.json()["movement"]) == as_entered
    afters = [change["after"] for change in preview.json()["changes"] if change["record"] == "person"]
    assert sorted(after["resident_code"] or "" for after in afters) == ["", code]
    assert [after["foreign_resident"]["card_number"] for after in afters if after["foreign_resident"]] == [
        card_number
    ]

    rejected = api.request("POST", f"/movements/{movement_id}/reject", APPROVER, {"reason": "試験の差戻し"})
    assert rejected.status_code == 200, rejected.text
    assert (guarded(rejected.json()), rejected.json()["masked_items"]) == (as_entered, [])
    after_rejection = api.request("GET", f"/movements/{movement_id}", VIEWER).json()
    assert (after_rejection["status"], guarded(after_rejection)) == ("rejected", all_blank)
