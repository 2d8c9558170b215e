"""開示請求 over HTTP: a person moves in and changes their 個人番号, a support measure protects them,
and the privacy officer prepares their disclosure: the JSON answer, the PDF behind a short-lived
link, both kept in the documents bucket, and one export entry in the operation log."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import requests
from api_support import APPROVER, AUDITOR, CLERK, ApiClient, oplog_items, run_machine
from juki_local.system import LocalSystem
from juki_local.tokens import DemoStaff
from pypdf import PdfReader
from test_move_in_flow import TODAY
from test_my_number import a_number, moved_in_with

# The demo staff member with the privacy_officer role (the local system registers the same one).
PRIVACY_OFFICER = DemoStaff("S6001", "開示 三郎", ("privacy_officer",), "静岡市役所", "CITY-PRIVACY-01")
REQUEST = {"requester": "駿府 家康 (本人)", "identity_document": "運転免許証", "reference": "開示-0001"}


def changed_my_number(api: ApiClient, person: str, number: str) -> None:
    change = {"kind": "my_number_change", "effective_date": TODAY.isoformat(), "notified_date": TODAY.isoformat(),
              "person_id": person, "my_number": number}  # fmt: skip
    draft = api.request("POST", "/movements", CLERK, change)
    assert draft.status_code == 201, draft.text
    final = api.request("POST", f"/movements/{draft.json()['movement_id']}/approve", APPROVER)
    assert final.json()["status"] == "final", final.text


def export_entries(system: LocalSystem, person: str) -> list[dict[str, Any]]:
    items = oplog_items(system)
    return [
        item["body"]["M"]
        for item in items
        if item["body"]["M"]["function"]["S"] == "disclosure.prepare"
        and [p["S"] for p in item["body"]["M"]["persons"]["L"]] == [person]
    ]


def test_the_privacy_officer_prepares_a_disclosure_as_json_and_pdf(
    api: ApiClient, local_system: LocalSystem
) -> None:
    first, second = a_number(), a_number()
    person = moved_in_with(api, first)
    changed_my_number(api, person, second)
    protected = api.request(
        "POST", "/support-measures", APPROVER, {"person_id": person, "starts_on": TODAY.isoformat()}
    )
    assert protected.status_code == 201, protected.text
    path = f"/persons/{person}/disclosure"

    assert api.request("POST", path, CLERK, REQUEST).status_code == 403  # not a clerk's function
    missing = api.request("POST", path, token=local_system.token(PRIVACY_OFFICER), body={"requester": "本人"})
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "identity_document"
    assert export_entries(local_system, person) == []
    # Under a support measure, only the person themself may ask (a representative may be the
    # very person they are protected from); the refusal is logged.
    by_proxy = api.request("POST", path, PRIVACY_OFFICER, REQUEST | {"by_representative": True})
    assert (by_proxy.status_code, by_proxy.json()["error"]["code"]) == (403, "SUPPORT_MEASURE")
    assert [e["outcome"]["S"] for e in export_entries(local_system, person)] == ["refused"]

    assert run_machine(local_system, "linkage-dispatch")["status"] == "SUCCEEDED"  # the CS has them
    answer = api.request("POST", path, token=local_system.token(PRIVACY_OFFICER), body=REQUEST)
    assert answer.status_code == 201, answer.text
    prepared = answer.json()
    report = prepared["report"]
    assert report["person_id"] == person and report["prepared_by"] == PRIVACY_OFFICER.staff_id
    assert report["request"] == REQUEST | {"by_representative": False}
    # The person's own 個人番号 is shown to them, the earlier one too; the records keep it masked.
    assert (report["my_number"], report["previous_my_numbers"]) == (second, [first])
    assert [v["version"] for v in report["records"]] == [1, 2]
    assert all(v["my_number"] == {"recorded": True} for v in report["records"])
    assert [m["kind"] for m in report["movements"]] == ["move_in", "my_number_change"]
    household = report["records"][-1]["household_id"]
    assert [(h["household_id"], h["head_is_self"], h["relationship"]) for h in report["households"]] == [
        (household, True, "世帯主")
    ]
    # The support measure does not block the person's own disclosure, and is in it.
    assert [m["measure_id"] for m in report["support_measures"]] == [protected.json()["measure_id"]]
    # Every provision of their data: the same records the auditor sees.
    provisions = api.request("GET", f"/persons/{person}/provisions", AUDITOR).json()["provisions"]
    assert {p["message_id"] for p in report["provisions"]} == {p["message_id"] for p in provisions}
    assert {(p["destination"], p["kind"], p["status"]) for p in report["provisions"]} >= {
        ("cs", "identity.created", "delivered"),
        ("cs", "identity.changed", "delivered"),
    }
    assert all(p["legal_basis"] and p["fields"] for p in report["provisions"])
    assert report["certificates"]["source_available"] is True, "the issuance history is the source"
    assert report["certificates"]["issuances"] == [], "no certificate was issued for them"

    pdf = requests.get(prepared["pdf_url"], timeout=30)  # the presigned link, straight from S3
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = re.sub(
        r"\s", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    )
    assert "駿府家康" in text and "昭和50年1月31日" in text
    assert "＊" * 8 + second[-4:] in text and second not in text, (
        "the printed copy shows the last four digits"
    )

    s3 = local_system.emulator.client("s3")
    bucket = local_system.resources.buckets["documents"]
    assert prepared["json_key"] == f"disclosures/{report['report_id']}/report.json"
    stored = json.loads(s3.get_object(Bucket=bucket, Key=prepared["json_key"])["Body"].read())
    masked = {"my_number": "＊" * 8 + second[-4:], "previous_my_numbers": ["＊" * 8 + first[-4:]]}
    assert stored == report | masked, "no plaintext 個人番号 at rest"
    assert s3.get_object(Bucket=bucket, Key=prepared["pdf_key"])["Body"].read() == pdf.content

    (entry,) = [e for e in export_entries(local_system, person) if e["outcome"]["S"] == "success"]
    assert entry["action"]["S"] == "export" and entry["staff_id"]["S"] == PRIVACY_OFFICER.staff_id
    assert entry["my_number_shown"]["BOOL"] and entry["purpose"]["S"] == "開示請求"
    assert first not in json.dumps(entry, ensure_ascii=False) and second not in json.dumps(
        entry, ensure_ascii=False
    )


def test_an_unknown_person_is_not_found(api: ApiClient, local_system: LocalSystem) -> None:
    answer = api.request(
        "POST", "/persons/9999999999/disclosure", token=local_system.token(PRIVACY_OFFICER), body=REQUEST
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "PERSON_NOT_FOUND"
