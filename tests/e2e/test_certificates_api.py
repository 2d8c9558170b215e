"""Certificates over HTTP: the counter issues a 住民票の写し (the PDF behind a short-lived link, read
back with pdftotext), lists the 交付履歴, and the certificate-issuing system (コンビニ交付) asks for a
copy for a card-authenticated resident with its own SigV4 credential; the counter system's
credential may not use the kiosk route."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import shutil
import subprocess
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from api_support import APPROVER, CLERK, VIEWER, ApiClient, oplog_bodies
from juki_fn.movement_tasks import print_move_out_certificate_handler
from juki_local.lambda_context import new_context
from juki_local.sigv4 import CallerCredential, sign_headers
from juki_local.system import COUNTER_SYSTEM, KIOSK_SYSTEM, LocalSystem
from test_foreign_resident import card, final, foreign_items
from test_move_in_flow import MOVE_IN

KIOSK_TERMINAL = "FM-0001-SHIZUOKA"


def certificate_exports(local_system: LocalSystem, person: str) -> list[dict[str, Any]]:
    """The person's export entries, without the dispatcher's deliveries to the peers (提供)."""
    return [
        b
        for b in oplog_bodies(local_system)
        if person in b["persons"] and b["action"] == "export" and b["function"] != "linkage.dispatch"
    ]


def moved_in(api: ApiClient, card_number: str) -> tuple[str, str]:
    """A foreign resident of their own household (the card identifies them at the kiosk)."""
    body: dict[str, Any] = copy.deepcopy(MOVE_IN)
    family = "ノ" + "".join("アイウエオカキクケコ"[int(c)] for c in card_number[2:7])
    name = {
        "family_name": family,
        "given_name": "ミン",
        "family_name_kana": family,
        "given_name_kana": "ミン",
    }
    body["members"] = [
        {
            "name": name,
            "birth_date": "1990-03-03",
            "sex": "female",
            "relationship": "世帯主",
            "foreign_resident": foreign_items(card_number),
        }
    ]
    (person,) = final(api, body)["result"]["person_ids"]
    return str(person), family


def kiosk(
    system: LocalSystem, body: dict[str, Any], credential: CallerCredential = KIOSK_SYSTEM
) -> requests.Response:
    """Signed as the certificate-issuing system signs, with its terminal; no staff token."""
    url = f"{system.api_url}/kiosk/certificates"
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Juki-Kiosk-Terminal": KIOSK_TERMINAL}
    signed = sign_headers("POST", url, headers, data, credential, system.emulator.region)
    return requests.post(url, headers=signed, data=data, timeout=60)


def pdf_text(url: str) -> tuple[bytes, str]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf = requests.get(url, timeout=30)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf.content, capture_output=True, check=True
    )
    return pdf.content, done.stdout.decode()


def request_body(person: str) -> dict[str, Any]:
    return {
        "kind": "resident_copy",
        "layout": "individual",
        "person_ids": [person],
        "items": ["head_and_relationship"],
        "requester_kind": "self",
        "requester_name": "本人",
        "purpose": "運転免許の更新",
        "fee_category": "paid",
    }


def test_the_counter_issues_a_copy_and_lists_the_history(api: ApiClient, local_system: LocalSystem) -> None:
    person, family = moved_in(api, card())
    issued = api.request("POST", "/certificates", CLERK, request_body(person))
    assert issued.status_code == 201, issued.text
    answer = issued.json()
    assert answer["pages"] >= 1
    (number,) = answer["issue_numbers"]
    pdf, text = pdf_text(answer["pdf_url"])
    assert family in text
    assert number in text.replace(" ", "")
    assert hashlib.sha256(pdf).hexdigest() == answer["pdf_sha256"]

    history = api.request("GET", f"/persons/{person}/certificates", CLERK)
    assert history.status_code == 200, history.text
    (record,) = history.json()["issuances"]
    assert (record["issue_id"], record["pdf_sha256"]) == (answer["issue_id"], answer["pdf_sha256"])
    assert (record["staff_id"], record["fee_category"], record["purpose"]) == (
        CLERK.staff_id,
        "paid",
        "運転免許の更新",
    )
    assert api.request("GET", f"/persons/{person}/certificates", VIEWER).status_code == 403
    assert api.request("POST", "/certificates", VIEWER, request_body(person)).status_code == 403

    exports = certificate_exports(local_system, person)
    assert [(e["function"], e["staff_id"], e["outcome"]) for e in exports] == [
        ("certificate.issue", CLERK.staff_id, "success")
    ]


def test_the_kiosk_issues_for_the_card_holder(api: ApiClient, local_system: LocalSystem) -> None:
    card_number = card()
    person, family = moved_in(api, card_number)
    issued = kiosk(
        local_system,
        {"card_serial": card_number, "layout": "individual", "items": [], "fee_category": "paid"},
    )
    assert issued.status_code == 201, issued.text
    answer = issued.json()
    assert answer["person_ids"] == [person]
    assert f"-{KIOSK_TERMINAL}-" in answer["issue_numbers"][0]
    _, text = pdf_text(answer["pdf_url"])
    assert family in text

    (record,) = api.request("GET", f"/persons/{person}/certificates", CLERK).json()["issuances"]
    assert (record["channel"], record["staff_id"], record["requester_kind"]) == (
        "kiosk",
        "system:kiosk",
        "self",
    )
    exports = certificate_exports(local_system, person)
    assert [(e["function"], e["terminal"]) for e in exports] == [("certificate.kiosk", KIOSK_TERMINAL)]

    unknown = kiosk(local_system, {"card_serial": "ZZ00000000ZZ"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "CARD_NOT_FOUND"


def test_the_kiosk_route_is_the_kiosk_systems_alone(api: ApiClient, local_system: LocalSystem) -> None:
    refused = kiosk(local_system, {"card_serial": card()}, credential=COUNTER_SYSTEM)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "KIOSK_CALLER_NOT_ALLOWED"
    as_staff = api.request("POST", "/kiosk/certificates", CLERK, {"card_serial": card()})
    assert as_staff.status_code == 403


def test_the_kiosk_issues_for_a_my_number_card_holder_by_resident_code(
    api: ApiClient, local_system: LocalSystem
) -> None:
    """A 個人番号カード is resolved by the issuing center to the holder's 住民票コード; the demo
    residents are Japanese residents with codes and no residence card."""
    demo = api.request("GET", "/persons/0000000019", APPROVER).json()["person"]  # the approver sees codes
    issued = kiosk(local_system, {"resident_code": demo["resident_code"], "layout": "individual"})
    assert issued.status_code == 201, issued.text
    assert issued.json()["person_ids"] == ["0000000019"]
    _, text = pdf_text(issued.json()["pdf_url"])
    assert demo["name"]["family_name"] in text
    both = kiosk(local_system, {"resident_code": demo["resident_code"], "card_serial": card()})
    assert both.status_code == 422, "one identification, not two"
    nobody = kiosk(local_system, {"resident_code": "10000000019"})
    assert nobody.status_code in (404, 422)  # unknown code, or not a valid one


def test_a_move_out_gets_its_certificate_from_the_notice(api: ApiClient, local_system: LocalSystem) -> None:
    """転出証明書 for a 転出 just made final: the people, destination and dates from the notice."""
    person, family = moved_in(api, card())
    today = date.today()
    move_out = {"kind": "move_out", "person_ids": [person], "planned_date": (today + timedelta(days=7)).isoformat(),
                "notified_date": today.isoformat(),
                "destination": {"prefecture": "愛知県", "municipality": "名古屋市中区", "street": "三の丸三丁目1番1号"}}  # fmt: skip
    movement = final(api, move_out)
    path = f"/movements/{movement['movement_id']}/move-out-certificate"
    assert api.request("POST", path, VIEWER).status_code == 403
    issued = api.request("POST", path, CLERK)
    assert issued.status_code == 201, issued.text
    answer = issued.json()
    assert (answer["kind"], answer["person_ids"]) == ("move_out", [person])
    pdf = (
        base64.b64decode(answer["pdf_base64"]) if answer.get("pdf_base64") else pdf_text(answer["pdf_url"])[0]
    )
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "転出証明書" in text and family in text and "名古屋市中区" in text
    history = api.request("GET", f"/persons/{person}/certificates", CLERK).json()["issuances"]
    (record,) = [r for r in history if r["issue_id"] == answer["issue_id"]]  # the automatic one is there too
    assert (record["kind"], record["fee_category"], record["channel"]) == ("move_out", "exempt", "counter")
    not_move_out = api.request("POST", f"/movements/{'0' * 32}/move-out-certificate", CLERK)
    assert (not_move_out.status_code, not_move_out.json()["error"]["code"]) == (404, "MOVEMENT_NOT_FOUND")


def move_out_body(person: str, *, card_move_out: bool = False) -> dict[str, Any]:
    today = date.today()
    return {"kind": "move_out", "person_ids": [person], "planned_date": (today + timedelta(days=7)).isoformat(),
            "notified_date": today.isoformat(), "card_move_out": card_move_out,
            "destination": {"prefecture": "静岡県", "municipality": "浜松市中央区", "street": "元城町103番地の2"}}  # fmt: skip


def test_a_non_card_move_out_is_printed_once_when_approved(api: ApiClient, local_system: LocalSystem) -> None:
    """The approval's state machine prints the 転出証明書 after the commit: numbered, stored, in the
    交付履歴 once, issued by the approver; the stored copy omits the 個人番号 and says so; running
    the print task again (as Step Functions retries) issues nothing more."""
    person, family = moved_in(api, card())
    movement = final(api, move_out_body(person))
    path = f"/movements/{movement['movement_id']}/move-out-certificate"

    printed = api.request("GET", path, CLERK)
    assert printed.status_code == 200, printed.text
    answer = printed.json()
    assert (answer["kind"], answer["person_ids"], answer["fee_category"]) == ("move_out", [person], "exempt")
    (number,) = answer["issue_numbers"]
    pdf, text = pdf_text(answer["pdf_url"])
    assert hashlib.sha256(pdf).hexdigest() == answer["pdf_sha256"]
    assert "転出証明書" in text and family in text
    assert "浜松市中央区元城町103番地の2" in text.replace(" ", "")  # the destination
    assert "個人番号の記載を省略" in text
    assert number in text.replace(" ", "")
    assert f"-{movement['terminal']}-" in number  # the terminal where the notice was taken

    (record,) = api.request("GET", f"/persons/{person}/certificates", CLERK).json()["issuances"]
    assert (record["issue_id"], record["pdf_sha256"]) == (answer["issue_id"], answer["pdf_sha256"])
    assert (record["channel"], record["staff_id"], record["requester_kind"], record["purpose"]) == (
        "automatic",
        movement["approved_by"],
        "self",
        "転出届",
    )
    assert api.request("GET", path, VIEWER).status_code == 403

    event = {"movement_id": movement["movement_id"], "approval_id": movement["approval_id"]}
    context = new_context("movement-print", "arn:aws:lambda:ap-northeast-1:123456789012:function:print", 60)
    first = print_move_out_certificate_handler(event, context)
    second = print_move_out_certificate_handler(event, context)
    assert first == second
    assert first["issue_id"] == answer["issue_id"] and first["issue_numbers"] == [number]
    assert len(api.request("GET", f"/persons/{person}/certificates", CLERK).json()["issuances"]) == 1
    assert family not in json.dumps(first, ensure_ascii=False)  # ids, numbers and counts only

    exports = certificate_exports(local_system, person)
    issued = [e for e in exports if e["staff_id"] == "system:movement-print"]
    assert [(e["approved_by"], e["movement_id"], e["my_number_shown"]) for e in issued] == [
        (movement["approved_by"], movement["movement_id"], False)
    ]


def test_a_card_move_out_gets_no_printed_certificate(api: ApiClient) -> None:
    person, _ = moved_in(api, card())
    movement = final(api, move_out_body(person, card_move_out=True))
    assert movement["status"] == "final"
    none = api.request("GET", f"/movements/{movement['movement_id']}/move-out-certificate", CLERK)
    assert (none.status_code, none.json()["error"]["code"]) == (404, "MOVE_OUT_CERTIFICATE_NOT_PRINTED")
    assert api.request("GET", f"/persons/{person}/certificates", CLERK).json()["issuances"] == []
