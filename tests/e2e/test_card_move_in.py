"""特例転入 (card move-in) over the local system (issue 6): the CS simulator sends the 転出証明書情報,
the linkage job stores it, a clerk enters the move-in against it over HTTP, a second person approves;
the record keeps the 住民票コード the certificate brought, the certificate is claimed in the commit
(so it serves one move-in only), and the new resident reaches the CS."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from api_support import APPROVER, CLERK, VIEWER, ApiClient, run_machine
from juki.adapters.retention_stores import DynamoMoveOutCertificates
from juki.adapters.system import JST
from juki.bootstrap import Services
from juki.domain.codes import resident_code_check_digit
from juki.domain.errors import Conflict
from juki.domain.oplog import entry_for
from juki.domain.retention import MoveOutCertificateClaim
from juki.domain.staff import SystemActor
from juki_local.system import LocalSystem

TODAY = datetime.now(JST).date()
ADDRESS = {"postal_code": "420-0839", "ward": "葵区", "town": "鷹匠一丁目", "lot": "4番4号"}
PREVIOUS = {"prefecture": "神奈川県", "municipality": "横浜市西区", "street": "みなとみらい二丁目2番1号"}
KOSEKI = {"domicile": "神奈川県横浜市西区みなとみらい二丁目2番地", "head": "特例一郎"}


def new_code() -> str:
    first10 = f"{uuid.uuid4().int % 10**10:010d}"
    return f"{first10}{resident_code_check_digit(first10)}"


def name(given: str, kana: str) -> dict[str, str]:
    return {
        "family_name": "特例",
        "given_name": given,
        "family_name_kana": "トクレイ",
        "given_name_kana": kana,
    }


def send_certificate(local_system: LocalSystem, persons: list[dict[str, Any]]) -> str:
    """The CS simulator drops a 転出証明書情報 and the receiving job stores it; its id."""
    certificate_id = f"cs-{uuid.uuid4().hex[:12]}"
    local_system.peers.cs.send_move_out_certificate(
        {
            "certificate_id": certificate_id,
            "from_municipality_code": "141038",
            "persons": persons,
            "previous_address": PREVIOUS,
            "planned_destination": {
                "prefecture": "静岡県",
                "municipality": "静岡市葵区",
                "street": "鷹匠一丁目",
            },
            "planned_date": (TODAY - timedelta(days=4)).isoformat(),
        }
    )
    received = run_machine(local_system, "linkage-receive")
    assert received["status"] == "SUCCEEDED", received
    return certificate_id


def certificate_person(given: str, kana: str, born: str, sex: str, code: str, head: bool) -> dict[str, Any]:
    return {"name": name(given, kana), "birth_date": born, "sex": sex, "resident_code": code,
            "relationship": "世帯主" if head else "妻", "head_of_household": head}  # fmt: skip


def card_move_in(certificate_id: str, members: list[dict[str, Any]]) -> dict[str, Any]:
    """What the clerk enters: the address in the city, and the members as confirmed at the counter."""
    return {
        "kind": "move_in", "move_in_type": "card", "move_out_certificate_id": certificate_id,
        "effective_date": (TODAY - timedelta(days=2)).isoformat(), "notified_date": TODAY.isoformat(),
        "address": ADDRESS, "previous_address": PREVIOUS, "members": members,
    }  # fmt: skip


def member(person: dict[str, Any]) -> dict[str, Any]:
    return {"name": person["name"], "birth_date": person["birth_date"], "sex": person["sex"],
            "relationship": person["relationship"], "resident_code": person["resident_code"], "koseki": KOSEKI}  # fmt: skip


def refused(api: ApiClient, body: dict[str, Any]) -> tuple[int, str, str | None]:
    response = api.request("POST", "/movements", CLERK, body)
    error = response.json()["error"]
    return response.status_code, error["code"], error["field"]


def certificate_item(local_system: LocalSystem, certificate_id: str) -> dict[str, Any]:
    dynamodb = local_system.emulator.client("dynamodb")
    item = dynamodb.get_item(
        TableName=local_system.description.name("ledger"),
        Key={"pk": {"S": f"MOVEOUT_CERT#{certificate_id}"}, "sk": {"S": "MOVEOUT_CERT"}},
        ConsistentRead=True,
    )["Item"]
    return dict(item)


def test_a_card_move_in_claims_the_certificate_the_cs_sent(
    api: ApiClient, local_system: LocalSystem, services: Services
) -> None:
    head = certificate_person("一郎", "イチロウ", "1979-09-09", "male", new_code(), head=True)
    wife = certificate_person("桜", "サクラ", "1981-03-30", "female", new_code(), head=False)
    certificate_id = send_certificate(local_system, [head, wife])
    # The counter reads what the CS sent, to confirm it with the person (a logged read).
    shown = api.request("GET", f"/move-out-certificates/{certificate_id}", CLERK)
    assert shown.status_code == 200, shown.text
    assert [p["resident_code"] for p in shown.json()["persons"]] == [
        head["resident_code"],
        wife["resident_code"],
    ]
    assert shown.json()["previous_address"]["street"] == PREVIOUS["street"]
    assert api.request("GET", f"/move-out-certificates/{certificate_id}", VIEWER).status_code == 403
    body = card_move_in(certificate_id, [member(head), member(wife)])

    created = api.request("POST", "/movements", CLERK, body)
    assert created.status_code == 201, created.text
    rival = api.request("POST", "/movements", CLERK, body)  # entered twice: both drafts are valid
    assert rival.status_code == 201, rival.text
    approved = api.request("POST", f"/movements/{created.json()['movement_id']}/approve", APPROVER)
    assert approved.status_code == 200, approved.text
    final = approved.json()
    assert final["status"] == "final"
    person_ids = final["result"]["person_ids"]

    records = [api.request("GET", f"/persons/{pid}", APPROVER).json()["person"] for pid in person_ids]
    assert [r["resident_code"] for r in records] == [head["resident_code"], wife["resident_code"]]
    assert {r["previous_address"]["street"] for r in records} == {PREVIOUS["street"]}

    # Claimed by this movement in its commit: the fact kept, the personal data gone.
    item = certificate_item(local_system, certificate_id)
    assert item["claimed_by"]["S"] == final["movement_id"]
    assert "body" not in item and "gsi1pk" not in item
    gone = api.request("GET", f"/move-out-certificates/{certificate_id}", CLERK)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "MOVE_OUT_CERTIFICATE_NOT_FOUND")

    # The certificate serves one move-in: a new entry is refused, and so is the rival draft's commit.
    assert refused(api, body) == (422, "MOVE_OUT_CERTIFICATE_CLAIMED", "move_out_certificate_id")
    lost = api.request("POST", f"/movements/{rival.json()['movement_id']}/approve", APPROVER)
    assert lost.status_code == 409, lost.text
    assert "MOVE_OUT_CERTIFICATE_CLAIMED" in {issue["code"] for issue in lost.json()["error"]["issues"]}
    # The claim's write is conditional on the certificate being unclaimed (a race is a Conflict).
    certificates = DynamoMoveOutCertificates(
        services.settings.ledger_table, services.settings.oplog_table,
        region=services.settings.region, host=services.settings.endpoint_url,
    )  # fmt: skip
    now = datetime.now(JST)
    late = MoveOutCertificateClaim(certificate_id=certificate_id, claimed_at=now, claimed_by="e" * 32)
    log = entry_for(SystemActor("test", "race"), entry_id=uuid.uuid4().hex, at=now, function="test",
                    action="update", subject=f"move_out_certificate {certificate_id}")  # fmt: skip
    try:
        certificates.claim(late, log)
    except Conflict:
        pass
    else:
        raise AssertionError("a second claim was written")
    assert certificate_item(local_system, certificate_id)["claimed_by"]["S"] == final["movement_id"]

    # The new residents reach the CS.
    cs = local_system.peers.cs
    for _ in range(20):
        if all(cs.applied(f"cs.identity:{pid}") for pid in person_ids):
            break
        assert run_machine(local_system, "linkage-dispatch")["status"] == "SUCCEEDED"
    for pid in person_ids:
        assert [m.kind for m in cs.applied(f"cs.identity:{pid}")][:1] == ["identity.created"]
    assert cs.record_of_person(person_ids[0])["resident_code"] == head["resident_code"]  # type: ignore[index]


def test_a_card_move_in_that_disagrees_with_its_certificate_is_refused(
    api: ApiClient, local_system: LocalSystem
) -> None:
    head = certificate_person("二郎", "ジロウ", "1985-12-12", "male", new_code(), head=True)
    certificate_id = send_certificate(local_system, [head])

    wrong_birth = member(head) | {"birth_date": "1985-12-13"}
    assert refused(api, card_move_in(certificate_id, [wrong_birth])) == (
        422, "MOVE_OUT_CERTIFICATE_MISMATCH", "members[0]",
    )  # fmt: skip
    wrong_code = member(head) | {"resident_code": new_code()}
    assert refused(api, card_move_in(certificate_id, [wrong_code])) == (
        422, "MOVE_OUT_CERTIFICATE_MISMATCH", "members[0]",
    )  # fmt: skip
    moved_from_elsewhere = card_move_in(certificate_id, [member(head)]) | {
        "previous_address": PREVIOUS | {"street": "みなとみらい三丁目1番1号"}
    }
    assert refused(api, moved_from_elsewhere) == (422, "MOVE_OUT_CERTIFICATE_MISMATCH", "previous_address")
    assert refused(api, card_move_in("cs-never-sent", [member(head)])) == (
        422, "MOVE_OUT_CERTIFICATE_NOT_FOUND", "move_out_certificate_id",
    )  # fmt: skip
    without_id = card_move_in(certificate_id, [member(head)]) | {"move_out_certificate_id": None}
    assert api.request("POST", "/movements", CLERK, without_id).status_code == 422

    # None of it touched the certificate: it is still there for the right entry.
    item = certificate_item(local_system, certificate_id)
    assert "claimed_by" not in item and "body" in item
    created = api.request("POST", "/movements", CLERK, card_move_in(certificate_id, [member(head)]))
    assert created.status_code == 201, created.text
    returned = api.request(
        "POST", f"/movements/{created.json()['movement_id']}/reject", APPROVER, {"reason": "届出人の確認待ち"}
    )
    assert returned.status_code == 200, returned.text
