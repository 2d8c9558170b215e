"""Linkage over the local system (issue 6): committed changes reach the CS and the approved
recipient systems through the dispatcher, in order per person, exactly once at the peer, with a
provision record each; faults at the peer are retried or parked, and a parked message is redriven.

The peers are the simulators of ``simulators/`` (``local_system.peers``), reached over HTTP."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from api_support import APPROVER, AUDITOR, CLERK, CONTRACTOR, STAFF_ADMIN, ApiClient, run_machine
from juki.adapters.linkage import build_linkage_store
from juki.adapters.system import JST
from juki.bootstrap import Services
from juki.domain.linkage import IDENTITY_FIELDS, OutboundMessage
from juki_local.system import LocalSystem
from juki_local.tokens import DemoStaff

TODAY = datetime.now(JST).date()
ADDRESS = {"postal_code": "420-0852", "ward": "葵区", "town": "紺屋町", "lot": "7番2号"}
MOVED = {"postal_code": "422-8067", "ward": "駿河区", "town": "南町", "lot": "11番1号"}
AGAIN = {"postal_code": "424-0816", "ward": "清水区", "town": "真砂町", "lot": "2番8号"}
KOSEKI = {"domicile": "静岡県静岡市葵区紺屋町7番地", "head": "連携太郎"}
ELSEWHERE = {"prefecture": "神奈川県", "municipality": "横浜市中区", "street": "日本大通1番地"}
SECOND_ADMIN = DemoStaff("S7002", "管理 七郎", ("staff_admin",), "静岡市役所", "CITY-ADMIN-02")


def final(api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    created = api.request("POST", "/movements", CLERK, body)
    assert created.status_code == 201, created.text
    approved = api.request("POST", f"/movements/{created.json()['movement_id']}/approve", APPROVER)
    assert approved.status_code == 200, approved.text
    result: dict[str, Any] = approved.json()
    return result


def move_in(api: ApiClient, given: str, kana: str) -> str:
    moved = final(api, {
        "kind": "move_in", "effective_date": (TODAY - timedelta(days=3)).isoformat(),
        "notified_date": TODAY.isoformat(), "address": ADDRESS, "previous_address": ELSEWHERE,
        "members": [{"name": {"family_name": "連携", "given_name": given, "family_name_kana": "レンケイ",
                              "given_name_kana": kana},
                     "birth_date": "1988-02-02", "sex": "female", "relationship": "世帯主", "koseki": KOSEKI}],
    })  # fmt: skip
    (person,) = moved["result"]["person_ids"]
    return str(person)


def move_within(api: ApiClient, person: str, address: dict[str, str], days_ago: int) -> None:
    final(api, {
        "kind": "in_city_move", "effective_date": (TODAY - timedelta(days=days_ago)).isoformat(),
        "notified_date": TODAY.isoformat(), "person_ids": [person], "address": address,
        "destination": {"mode": "same_household"},
    })  # fmt: skip


def dispatch(local_system: LocalSystem) -> None:
    """One run of each linkage job, as the schedule runs them every minute: deliver, then apply
    what the peers sent back (the CS answers a 個人番号 request with a file)."""
    for job in ("linkage-dispatch", "linkage-receive"):
        described = run_machine(local_system, job)
        assert described["status"] == "SUCCEEDED", described


def identity_lane(local_system: LocalSystem, person: str) -> list[tuple[int, str]]:
    return [(m.sequence, m.kind) for m in local_system.peers.cs.applied(f"cs.identity:{person}")]


def test_a_move_in_reaches_the_cs_once_with_a_provision_record(
    api: ApiClient, local_system: LocalSystem
) -> None:
    person = move_in(api, "一葉", "イチヨウ")
    dispatch(local_system)
    # The CS designated a 個人番号 on the request routed with the move-in; it came back as a file,
    # was recorded (version 2), and the change of the number went to the CS in its turn.
    dispatch(local_system)
    dispatch(local_system)  # nothing more to send
    assert identity_lane(local_system, person) == [(1, "identity.created"), (2, "identity.changed")]
    designated = next(d for d in local_system.peers.cs.designations() if d.person_id == person)
    assert local_system.peers.cs.record_of_person(person)["my_number"] == designated.my_number  # type: ignore[index]
    cs_record = local_system.peers.cs.record_of_person(person)
    assert cs_record is not None and cs_record["name"] == "連携　一葉"
    assert [n["person_id"] for n in local_system.peers.cs.notices("move_in.notice")].count(person) == 1

    provisions = api.request("GET", f"/persons/{person}/provisions", AUDITOR)
    assert provisions.status_code == 200, provisions.text
    sent = {(p["recipient"], p["kind"], p["outcome"]) for p in provisions.json()["provisions"]}
    assert ("cs", "identity.created", "delivered") in sent
    assert ("cs", "move_in.notice", "delivered") in sent
    identity = next(p for p in provisions.json()["provisions"] if p["kind"] == "identity.created")
    assert identity["legal_basis"] == "住民基本台帳法第30条の6"
    assert "my_number" in identity["fields"] and identity["persons"] == [person]
    assert api.request("GET", f"/persons/{person}/provisions", CLERK).status_code == 403


def test_a_birth_gets_its_number_from_the_cs_and_yields_a_sending_address_record(
    api: ApiClient, local_system: LocalSystem
) -> None:
    mother = move_in(api, "七葉", "ナナハ")
    household = api.request("GET", f"/persons/{mother}", APPROVER).json()["person"]["household_id"]
    born = final(api, {
        "kind": "birth", "effective_date": TODAY.isoformat(), "notified_date": TODAY.isoformat(),
        "household_id": household, "sex": "male", "relationship": "子", "koseki": KOSEKI,
        "name": {"family_name": "連携", "given_name": "一", "family_name_kana": "レンケイ", "given_name_kana": "ハジメ"},
    })  # fmt: skip
    (baby,) = born["result"]["person_ids"]
    wait_for_lane(local_system, baby, 2)  # created without a number, then the number recorded

    cs = local_system.peers.cs
    requested = [m for m in cs.applied(f"cs.my_number:{baby}") if m.kind == "my_number.request"]
    assert len(requested) == 1
    designated = next(d for d in cs.designations() if d.person_id == baby)
    revealed = api.request(
        "POST", f"/persons/{baby}/my-number", APPROVER, {"purpose": "出生届後の番号通知の確認"}
    )
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["my_number"] == designated.my_number

    # With a 個人番号, the 中間サーバー gets it once (to obtain the 符号, which it keeps) and then the
    # 副本 of the 住民票関係情報, which never carries the number.
    intermediate = local_system.peers.intermediate
    for _ in range(20):
        if intermediate.copy_of(baby) is not None:
            break
        dispatch(local_system)
    assert intermediate.linked(baby)
    assert [m.kind for m in intermediate.applied(f"intermediate.code:{baby}")] == ["code.request"]
    copy = intermediate.copy_of(baby)
    assert copy is not None and copy["household_id"] == household and "my_number" not in copy

    s3 = local_system.emulator.client("s3")
    bucket = local_system.resources.buckets["exchange"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="outbound/jlis/sending-addresses/")
    keys = [
        o["Key"]
        for o in listed.get("Contents", [])
        if o["Key"].endswith(f"{designated.file_message_id}.json")
    ]
    assert len(keys) == 1, "one 送付先情報 record for the number designated"
    body = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read().decode()
    record = json.loads(body)
    assert record["resident_code"] == cs.record_of_person(baby)["resident_code"]  # type: ignore[index]
    assert designated.my_number not in body, "the 個人番号 is sealed in the file, never plain"
    versions = s3.list_object_versions(Bucket=bucket, Prefix="inbound/cs/").get("Versions", [])
    assert not [v for v in versions if designated.file_message_id in v["Key"]], "the CS's file is gone"


def test_order_and_exactly_once_survive_a_failing_peer_and_lost_answers(
    api: ApiClient, local_system: LocalSystem
) -> None:
    cs = local_system.peers.cs
    person = move_in(api, "二葉", "フタバ")
    move_within(api, person, MOVED, 2)
    cs.fail_next(3)  # down for three requests
    dispatch(local_system)
    cs.lose_answers(1)  # applied, but the answer never comes back: the dispatcher will send it again
    move_within(api, person, AGAIN, 0)
    for _ in range(6):
        dispatch(local_system)
    lane = identity_lane(local_system, person)
    history = api.request("GET", f"/persons/{person}/history", APPROVER)
    assert history.status_code == 200, history.text
    versions = [v["version"] for v in history.json()["versions"]]
    # Every version changed an identity item (created, number recorded, moved twice): each reached
    # the CS exactly once, in version order, whatever the faults on the way.
    assert lane == [(1, "identity.created")] + [(v, "identity.changed") for v in versions[1:]]
    assert len(versions) == 4
    assert cs.duplicates >= 1  # the lost answer's message came again and was not applied twice
    assert cs.record_of_person(person)["address"].endswith("清水区真砂町2番8号")  # type: ignore[index]


def wait_for_lane(local_system: LocalSystem, person: str, count: int) -> None:
    """Commits start the dispatcher on their own: wait until the CS has ``count`` identity messages."""
    for _ in range(200):
        if len(identity_lane(local_system, person)) >= count:
            return
        dispatch(local_system)
    raise AssertionError(identity_lane(local_system, person))


def test_a_refused_message_is_parked_holds_its_lane_and_is_redriven(
    api: ApiClient, local_system: LocalSystem
) -> None:
    cs = local_system.peers.cs
    person = move_in(api, "三葉", "ミツバ")
    wait_for_lane(local_system, person, 2)  # created, then the 個人番号 the CS designated
    cs.refuse_on_lane(f"cs.identity:{person}", status=422)  # the CS refuses the next one itself
    move_within(api, person, MOVED, 0)  # version 3: parked, retrying cannot help
    dispatch(local_system)
    parked = api.request("GET", "/linkage/parked", CONTRACTOR)
    assert parked.status_code == 200, parked.text
    mine = [m for m in parked.json()["messages"] if m["lane"] == f"cs.identity:{person}"]
    assert [(m["sequence"], m["last_error"]) for m in mine] == [(3, "REFUSED_ON_LANE")]
    move_within(api, person, AGAIN, 0)  # version 4 waits behind the parked version 3
    dispatch(local_system)
    assert [sequence for sequence, _ in identity_lane(local_system, person)] == [1, 2]
    assert api.request("GET", "/linkage/parked", CLERK).status_code == 403

    redriven = api.request("POST", f"/linkage/parked/{mine[0]['message_id']}/redrive", CONTRACTOR)
    assert redriven.status_code == 202, redriven.text
    again = api.request("POST", f"/linkage/parked/{mine[0]['message_id']}/redrive", CONTRACTOR)
    assert again.status_code == 409 and again.json()["error"]["code"] == "MESSAGE_NOT_PARKED"
    wait_for_lane(local_system, person, 4)
    assert [sequence for sequence, _ in identity_lane(local_system, person)] == [1, 2, 3, 4]
    provisions = api.request("GET", f"/persons/{person}/provisions", AUDITOR).json()["provisions"]
    outcomes = [p["outcome"] for p in provisions if p["message_id"] == mine[0]["message_id"]]
    assert outcomes == ["parked", "delivered"]


def test_a_recipient_system_gets_nothing_until_approved_and_only_its_fields(
    api: ApiClient, local_system: LocalSystem
) -> None:
    local_system.register_staff(SECOND_ADMIN)
    platform = local_system.peers.platform
    fields = ["person_id", "name", "address", "effective_date"]
    registered = api.request("POST", "/linkage/recipients", STAFF_ADMIN, {
        "system_id": "kokuho", "name": "国民健康保険システム",
        "legal_basis": "番号法第9条第2項に基づく静岡市条例", "fields": fields,
    })  # fmt: skip
    assert registered.status_code == 201, registered.text
    before = move_in(api, "四葉", "ヨツバ")
    dispatch(local_system)
    assert platform.lanes("kokuho").get(f"platform.kokuho:{before}", []) == []  # registered, not approved

    self_approved = api.request("POST", "/linkage/recipients/kokuho/approve", STAFF_ADMIN)
    assert self_approved.status_code == 422
    assert self_approved.json()["error"]["code"] == "RECIPIENT_SELF_APPROVAL"
    approved = api.request("POST", "/linkage/recipients/kokuho/approve", SECOND_ADMIN)
    assert approved.status_code == 200, approved.text

    after = move_in(api, "五葉", "イツハ")
    dispatch(local_system)
    received = platform.lanes("kokuho").get(f"platform.kokuho:{after}", [])
    assert [m.kind for m in received] == ["resident.changed"]
    assert set(received[0].data) <= set(fields)
    assert platform.fields_received("kokuho") <= set(fields)
    assert api.request("GET", "/linkage/recipients", CLERK).status_code == 403

    suspended = api.request("POST", "/linkage/recipients/kokuho/suspend", SECOND_ADMIN)
    assert suspended.status_code == 200, suspended.text
    later = move_in(api, "六葉", "ムツハ")
    dispatch(local_system)
    assert platform.lanes("kokuho").get(f"platform.kokuho:{later}", []) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"system_id": "BAD", "name": "x", "legal_basis": "x", "fields": ["name"]}, "VALIDATION_ERROR"),
        (
            {"system_id": "nenkin", "name": "年金", "legal_basis": "x", "fields": ["my_number"]},
            "VALIDATION_ERROR",
        ),
    ],
)
def test_a_bad_registration_is_refused_with_a_code(api: ApiClient, body: dict[str, Any], code: str) -> None:
    refused = api.request("POST", "/linkage/recipients", STAFF_ADMIN, body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == code


def test_an_online_move_out_waits_as_a_draft_for_the_counter(
    api: ApiClient, local_system: LocalSystem
) -> None:
    person = move_in(api, "八葉", "ヤツハ")
    code = api.request("GET", f"/persons/{person}", APPROVER).json()["person"]["resident_code"]
    local_system.peers.application.send_online_move_out([code], TODAY + timedelta(days=10), ELSEWHERE, TODAY)
    for _ in range(2):  # read twice (a retried run): one draft
        assert run_machine(local_system, "linkage-receive")["status"] == "SUCCEEDED"

    drafts = api.request("GET", "/movements", APPROVER)
    assert drafts.status_code == 200, drafts.text
    online = [m for m in drafts.json()["movements"] if m["command"].get("person_ids") == [person]]
    assert [(m["kind"], m["entered_by"], m["office"]) for m in online] == [
        ("move_out", "system:online-application", "online")
    ]
    # Nothing reaches the record until an approver has looked at it.
    before = api.request("GET", f"/persons/{person}/history", APPROVER).json()["versions"]
    assert all(v["movement_kind"] != "move_out" for v in before)
    approved = api.request("POST", f"/movements/{online[0]['movement_id']}/approve", APPROVER)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "final"
    history = api.request("GET", f"/persons/{person}/history", APPROVER).json()["versions"]
    assert (
        history[-1]["movement_kind"] == "move_out" and history[-1]["movement_id"] == online[0]["movement_id"]
    )


def test_a_copy_the_intermediate_server_cannot_file_asks_for_the_code_again(
    api: ApiClient, local_system: LocalSystem
) -> None:
    intermediate = local_system.peers.intermediate
    person = move_in(api, "九葉", "クヨウ")
    for _ in range(20):
        if intermediate.copy_of(person) is not None:
            break
        dispatch(local_system)
    intermediate.unlink(person)  # as for a record migrated with its number: no 符号 on the server
    move_within(api, person, AGAIN, 0)
    for _ in range(20):
        copy = intermediate.copy_of(person)
        if copy is not None and copy["address"]["town"] == AGAIN["town"]:
            break
        dispatch(local_system)
    else:
        raise AssertionError("the 副本 never reached the 中間サーバー")
    assert intermediate.linked(person)
    assert [m.kind for m in intermediate.applied(f"intermediate.link:{person}")] == ["code.request"]


def test_a_version_the_peer_has_passed_is_skipped_not_sent_late(
    api: ApiClient, local_system: LocalSystem, services: Services
) -> None:
    """If routing ever put an older version on a lane after a newer one went out (a race the
    dispatcher guards against), the older one is skipped (the peer holds newer state), never sent
    out of order, where the peer would refuse it and the lane would park for good."""
    person = move_in(api, "十葉", "トオハ")
    move_within(api, person, MOVED, 0)
    lane = f"cs.identity:{person}"
    for _ in range(20):
        if len(identity_lane(local_system, person)) >= 3:  # created, number, moved
            break
        dispatch(local_system)
    (first, *_) = local_system.peers.cs.applied(lane)
    store = services.part(build_linkage_store)
    late = OutboundMessage(
        message_id=f"late-{uuid.uuid4().hex}", recipient="cs", kind="identity.changed", movement_id="late",
        person_id=person, household_id="late", sequence=first.sequence, created_at=datetime.now(JST),
        stream="cs.identity", legal_basis="住民基本台帳法第30条の6", fields=IDENTITY_FIELDS,
    )  # fmt: skip
    assert store.add_delivery(late)
    dispatch(local_system)
    assert store.get(late.message_id)[0] == "skipped"  # type: ignore[index]
    assert late.message_id not in {m.message_id for m in local_system.peers.cs.applied(lane)}
