"""Application logs carry codes and ids, never personal data: a full move-in, approval, reads,
search, refusals and a 個人番号 reveal, with the lines the session-wide capture
(tests/e2e/conftest.py) kept while they ran read back, and none may contain the person's name,
reading, birth date, address or numbers.

The session scan reads the same lines for every person any test sent; this test names its own
person's data, so that a leak is reported here, next to the flow that made it.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from api_support import APPROVER, CLERK, VIEWER, ApiClient
from juki.domain.codes import my_number_check_digit
from log_scan import PersonalDataScan
from scan_personal_data import Needles, scan_lines
from test_move_in_flow import MOVE_IN


def test_a_whole_flow_leaves_no_personal_data_in_the_logs(
    api: ApiClient, personal_data_scan: PersonalDataScan
) -> None:
    marker = uuid.uuid4().hex[:6]
    kana = "".join("アイウエオカキクケコサシスセソタ"[int(c, 16)] for c in marker)
    first11 = f"{uuid.uuid4().int % 10**11:011d}"
    my_number = first11 + str(my_number_check_digit(first11))
    body: dict[str, Any] = copy.deepcopy(MOVE_IN)
    body["address"] = dict(
        body["address"],
        lot=f"{int(marker, 16) % 900 + 100}番{marker[:2]}号",
        katagaki=f"ログ確認{marker}号室",
    )
    member = dict(body["members"][0], name=dict(body["members"][0]["name"], family_name=f"記録{marker}",
                                                family_name_kana=kana), birth_date="1961-07-29", my_number=my_number)  # fmt: skip
    body["members"] = [member]
    start = len(personal_data_scan.capture.lines)

    draft = api.request("POST", "/movements", CLERK, body)
    assert draft.status_code == 201, draft.text
    final = api.request("POST", f"/movements/{draft.json()['movement_id']}/approve", APPROVER)
    assert final.status_code == 200, final.text
    (person,) = final.json()["result"]["person_ids"]
    assert api.request("GET", f"/persons/{person}", VIEWER).status_code == 200
    assert api.request("GET", f"/search/persons?family_name_kana={kana}", VIEWER).status_code == 200
    assert api.request("POST", "/movements", CLERK, body).status_code == 422  # already resident
    assert (
        api.request("POST", "/movements", CLERK, dict(body, effective_date="1961-07-29x")).status_code == 422
    )
    revealed = api.request("POST", f"/persons/{person}/my-number", APPROVER, {"purpose": "ログ確認"})
    assert revealed.status_code == 200, revealed.text

    written = personal_data_scan.capture.lines[start:]
    assert any("ALREADY_RESIDENT" in line for line in written), "the application's own lines are read"
    assert any("/persons/" in line for line in written), "the library (gateway) lines are read"
    needles = Needles()
    needles.add_body("this flow's person", body)
    needles.add("this flow's person: 氏名 (カナ)", kana)
    findings = scan_lines(personal_data_scan.capture.numbered(start), needles)
    assert not findings, "\n".join(f"{finding.label} at {finding.where}" for finding in findings)


def test_the_whole_end_to_end_run_left_no_personal_data(personal_data_scan: PersonalDataScan) -> None:
    """Ordered after every other end-to-end test (tests/e2e/conftest.py): the log lines of the whole
    run hold no demo resident's or sent person's data and no 個人番号, and no table item or stored
    object holds a 個人番号 in plain text."""
    problems = personal_data_scan.finish()
    assert problems is None, problems
    assert personal_data_scan.demo_residents > 0
