"""Application logs carry codes and ids, never personal data: a full move-in, approval, reads,
search, refusals and a 個人番号 reveal are made while every line written to stdout and stderr is
captured, and none may contain the person's name, reading, birth date, address or numbers."""

from __future__ import annotations

import copy
import logging
import uuid
from typing import Any

import pytest
from conftest import APPROVER, CLERK, VIEWER, ApiClient
from juki.domain.codes import my_number_check_digit
from test_move_in_flow import MOVE_IN


def test_a_whole_flow_leaves_no_personal_data_in_the_logs(
    api: ApiClient, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the level the functions run at (libraries log bodies only at DEBUG)
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

    draft = api.request("POST", "/movements", CLERK, body).json()
    final = api.request("POST", f"/movements/{draft['movement_id']}/approve", APPROVER).json()
    (person,) = final["result"]["person_ids"]
    api.request("GET", f"/persons/{person}", VIEWER)
    api.request("GET", f"/search/persons?family_name_kana={kana}", VIEWER)
    api.request("POST", "/movements", CLERK, body)  # refused: already resident
    api.request("POST", "/movements", CLERK, dict(body, effective_date="1961-07-29x"))  # refused: format
    api.request("POST", f"/persons/{person}/my-number", APPROVER, {"purpose": "ログ確認"})

    captured = capfd.readouterr()
    written = captured.out + captured.err + "\n".join(record.getMessage() for record in caplog.records)
    written += "\n".join(str(record.__dict__) for record in caplog.records)
    assert "ALREADY_RESIDENT" in written, "the application's own log lines are among those read"
    for secret in (
        f"記録{marker}",
        kana,
        "1961-07-29",
        "昭和36年",
        body["address"]["lot"],
        f"ログ確認{marker}",
        my_number,
    ):
        assert secret not in written, f"{secret!r} reached the logs"
