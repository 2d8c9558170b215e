"""Search over HTTP: signed, with a staff token, answered from the indexes, and logged."""

from __future__ import annotations

import copy
import random
from typing import Any
from urllib.parse import urlencode

import pytest
from api_support import APPROVER, CLERK, VIEWER, ApiClient, oplog_bodies
from juki.domain.kana import match_key
from juki_local.system import LocalSystem
from test_move_in_flow import MOVE_IN

DEMO_HOUSEHOLD = "0000000019"


def search(api: ApiClient, staff: Any = VIEWER, **criteria: Any) -> Any:
    return api.request("GET", f"/search/persons?{urlencode(criteria)}", staff)


@pytest.fixture(scope="module")
def demo_household(api: ApiClient) -> dict[str, Any]:
    view: dict[str, Any] = api.request("GET", f"/households/{DEMO_HOUSEHOLD}", VIEWER).json()
    return view


@pytest.fixture(scope="module")
def demo_head(demo_household: dict[str, Any]) -> dict[str, Any]:
    head: dict[str, Any] = demo_household["members"][0]
    return head


def test_a_search_by_reading_and_birth_date(api: ApiClient, demo_head: dict[str, Any]) -> None:
    name = demo_head["name"]
    response = search(
        api,
        family_name_kana=match_key(name["family_name_kana"]),  # without voicing marks or small kana
        given_name_kana=name["given_name_kana"][:1],
        birth_date=demo_head["birth_date"].replace("-", "/"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert demo_head["person_id"] in [hit["person"]["person_id"] for hit in body["persons"]]
    assert body["next"] is None


@pytest.fixture(scope="module")
def new_family(api: ApiClient) -> tuple[str, list[str]]:
    """The README's household of three, under a reading nobody else in the session has."""
    reading = "".join(random.choice("アイウエオカキクケコ") for _ in range(6))
    body = copy.deepcopy(MOVE_IN)
    for member in body["members"]:
        member["name"]["family_name_kana"] = reading
    draft = api.request("POST", "/movements", CLERK, body).json()
    final = api.request("POST", f"/movements/{draft['movement_id']}/approve", APPROVER).json()
    return reading, final["result"]["person_ids"]


def test_pages_over_http(api: ApiClient, new_family: tuple[str, list[str]]) -> None:
    reading, person_ids = new_family
    pages: list[list[str]] = []
    token: str | None = None
    while not pages or token is not None:
        page = search(api, family_name_kana=reading, limit=2, **({"next": token} if token else {})).json()
        pages.append([hit["person"]["person_id"] for hit in page["persons"]])
        token = page["next"]
    assert [len(page) for page in pages] == [2, 1]
    assert sorted(pid for page in pages for pid in page) == sorted(person_ids)
    first = search(api, family_name_kana=reading, limit=2).json()
    foreign = search(api, town="追手町", next=first["next"])
    assert foreign.status_code == 422
    assert (foreign.json()["error"]["code"], foreign.json()["error"]["field"]) == ("CURSOR_INVALID", "next")


@pytest.mark.parametrize(
    ("criteria", "field", "message"),
    [
        ({"family_name_kana": "shizuoka"}, "family_name_kana", "フリガナは全角カタカナ"),
        ({"birth_date": "平成32年1月1日"}, "birth_date", "平成32年は存在しません"),
        ({"given_name": "太郎"}, "given_name", "氏 (漢字) も指定してください"),
        ({"town": "追手町", "limit": 101}, "limit", "値が大きすぎます"),
        ({}, "body", "検索条件を一つ以上指定してください"),
    ],
)
def test_a_bad_query_is_a_clear_error(
    api: ApiClient, criteria: dict[str, Any], field: str, message: str
) -> None:
    response = search(api, **criteria)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("VALIDATION_ERROR", field)
    assert any("\u3040" <= ch <= "\u9fff" for ch in error["message"])  # Japanese
    if field != "limit":
        assert message in error["message"]
    assert "shizuoka" not in response.text  # the rejected value is not echoed


def test_the_search_is_in_the_operation_log(
    api: ApiClient, local_system: LocalSystem, demo_head: dict[str, Any]
) -> None:
    response = search(api, person_id=demo_head["person_id"])
    assert response.status_code == 200, response.text
    request_id = response.headers["x-amzn-RequestId"]
    (entry,) = [body for body in oplog_bodies(local_system) if body["request_id"] == request_id]
    assert (entry["function"], entry["action"], entry["staff_id"]) == (
        "resident.search",
        "read",
        VIEWER.staff_id,
    )
    assert entry["persons"] == [demo_head["person_id"]]
    assert entry["households"] == [DEMO_HOUSEHOLD]


def test_without_a_token_nothing_is_searched(api: ApiClient) -> None:
    response = search(api, staff=None, town="追手町")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "TOKEN_MISSING"
