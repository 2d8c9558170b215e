"""A realistic family's life over HTTP: move-in of four, a birth, an in-city move of one member
into a new household, the head's death and a head change, a move-out confirmed by a move-in
notice, a mistaken correction cancelled; then the household as of three past dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from api_support import APPROVER, CLERK, VIEWER, ApiClient
from juki.adapters.system import JST

TODAY = datetime.now(JST).date()
BASE = TODAY - timedelta(days=100)
ADDRESS = {"postal_code": "424-0806", "ward": "清水区", "town": "辻一丁目", "lot": "3番5号"}
NEW_ADDRESS = {
    "postal_code": "420-0031",
    "ward": "葵区",
    "town": "呉服町一丁目",
    "lot": "1番1号",
    "katagaki": "呉服町テラス305",
}
KOSEKI = {"domicile": "静岡県静岡市清水区辻一丁目3番地", "head": "清水一郎"}
ELSEWHERE = {"prefecture": "愛知県", "municipality": "名古屋市中区", "street": "三の丸三丁目1番1号"}


def day(offset: int) -> str:
    return (BASE + timedelta(days=offset)).isoformat()


def name(given: str, kana: str) -> dict[str, str]:
    return {"family_name": "清水", "given_name": given, "family_name_kana": "シミズ", "given_name_kana": kana}


def final(api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    """Enter as the clerk, approve as the approver: the movement is final."""
    created = api.request("POST", "/movements", CLERK, body)
    assert created.status_code == 201, created.text
    approved = api.request("POST", f"/movements/{created.json()['movement_id']}/approve", APPROVER)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "final"
    result: dict[str, Any] = approved.json()
    return result


def household(api: ApiClient, household_id: str, as_of: date | None = None) -> dict[str, Any]:
    query = f"?as_of={as_of.isoformat()}" if as_of else ""
    response = api.request("GET", f"/households/{household_id}{query}", VIEWER)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def members(view: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["name"]["given_name"], m["relationship"]) for m in view["members"]]


def test_a_familys_life(api: ApiClient) -> None:
    moved_in = final(api, {
        "kind": "move_in", "effective_date": day(0), "notified_date": day(3), "address": ADDRESS,
        "previous_address": ELSEWHERE,
        "members": [
            {"name": name("一郎", "イチロウ"), "birth_date": "1970-05-05", "sex": "male", "relationship": "世帯主", "koseki": KOSEKI},
            {"name": name("幸子", "サチコ"), "birth_date": "1972-08-08", "sex": "female", "relationship": "妻", "koseki": KOSEKI},
            {"name": name("健太", "ケンタ"), "birth_date": "1998-04-01", "sex": "male", "relationship": "子", "koseki": KOSEKI},
            {"name": name("美咲", "ミサキ"), "birth_date": "2004-10-10", "sex": "female", "relationship": "子", "koseki": KOSEKI},
        ],
    })  # fmt: skip
    (home,) = moved_in["result"]["household_ids"]
    father, mother, son, daughter = moved_in["result"]["person_ids"]

    born = final(api, {"kind": "birth", "effective_date": day(20), "notified_date": day(25), "household_id": home,
                       "name": name("陽菜", "ヒナ"), "sex": "female", "relationship": "子", "koseki": KOSEKI})  # fmt: skip
    baby = next(p for p in born["result"]["person_ids"])

    split = final(api, {"kind": "in_city_move", "effective_date": day(40), "notified_date": day(41),
                        "person_ids": [son], "address": NEW_ADDRESS,
                        "destination": {"mode": "new_household", "head_person_id": son}})  # fmt: skip
    (sons_home,) = [h for h in split["result"]["household_ids"] if h != home]

    final(api, {"kind": "death", "effective_date": day(60), "notified_date": day(62), "person_id": father})
    headless = api.request("GET", "/lists/headless-households", VIEWER).json()["households"]
    assert home in [h["household_id"] for h in headless]

    final(api, {"kind": "head_change", "effective_date": day(65), "notified_date": day(66), "household_id": home,
                "new_head_person_id": mother, "relationships": {daughter: "子", baby: "子"}})  # fmt: skip
    headless = api.request("GET", "/lists/headless-households", VIEWER).json()["households"]
    assert home not in [h["household_id"] for h in headless]

    final(api, {"kind": "move_out", "person_ids": [daughter], "planned_date": day(80), "notified_date": day(75),
                "destination": ELSEWHERE})  # fmt: skip
    unconfirmed = api.request("GET", "/lists/unconfirmed-move-outs", VIEWER).json()["persons"]
    assert daughter in [p["person_id"] for p in unconfirmed]
    final(api, {"kind": "move_out_confirmation", "person_id": daughter, "moved_in_date": day(78),
                "destination": {**ELSEWHERE, "street": "栄三丁目1番1号"}, "notified_date": day(90)})  # fmt: skip
    unconfirmed = api.request("GET", "/lists/unconfirmed-move-outs", VIEWER).json()["persons"]
    assert daughter not in [p["person_id"] for p in unconfirmed]
    moved_out = api.request("GET", f"/persons/{daughter}", VIEWER).json()["person"]
    assert moved_out["move_out"]["planned_destination"]["street"] == "三の丸三丁目1番1号"  # kept
    assert moved_out["move_out"]["confirmed_destination"]["street"] == "栄三丁目1番1号"
    assert moved_out["removal"] == {"reason": "move_out", "removed_on": day(78)}  # the earlier date

    mistake = final(api, {"kind": "correction", "basis": "error", "effective_date": day(95), "notified_date": day(95),
                          "person_id": baby, "changes": {"sex": "male"}, "reason": "入力誤り"})  # fmt: skip
    assert api.request("GET", f"/persons/{baby}", VIEWER).json()["person"]["sex"] == "male"
    final(api, {"kind": "cancellation", "movement_id": mistake["movement_id"], "notified_date": day(96),
                "reason": "誤った修正の取消し"})  # fmt: skip
    restored = api.request("GET", f"/persons/{baby}", VIEWER).json()["person"]
    assert (restored["sex"], restored["version"]) == ("female", 3)

    history = api.request("GET", f"/persons/{baby}/history", VIEWER).json()["versions"]
    assert [v["movement_kind"] for v in history] == ["birth", "correction", "cancellation"]

    # Now, and as of three past dates.
    assert members(household(api, home)) == [("幸子", "世帯主"), ("陽菜", "子")]
    assert household(api, home)["household"]["head_person_id"] == mother
    early = household(api, home, BASE + timedelta(days=10))
    assert members(early) == [("一郎", "世帯主"), ("幸子", "妻"), ("健太", "子"), ("美咲", "子")]
    middle = household(api, home, BASE + timedelta(days=30))
    assert members(middle) == [
        ("一郎", "世帯主"),
        ("幸子", "妻"),
        ("健太", "子"),
        ("美咲", "子"),
        ("陽菜", "子"),
    ]
    later = household(api, home, BASE + timedelta(days=70))
    assert members(later) == [("幸子", "世帯主"), ("美咲", "子"), ("陽菜", "子")]
    assert later["household"]["head_person_id"] == mother
    sons = household(api, sons_home)
    assert (members(sons), sons["household"]["address"]["katagaki"]) == (
        [("健太", "世帯主")],
        "呉服町テラス305",
    )
    before_home = api.request("GET", f"/households/{home}?as_of={day(-1)}", VIEWER)
    assert before_home.status_code == 404
