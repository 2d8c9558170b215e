"""在留資格 by name on a certificate: the ledger's codes against 入管法 別表第一・第二 and 特別永住者."""

from __future__ import annotations

import pytest
from juki.domain.residence_status import RESIDENCE_STATUS_NAMES, residence_status_name, residence_status_text


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("01", "外交"),
        ("07", "高度専門職1号イ"),
        ("16", "技術・人文知識・国際業務"),
        ("21", "特定技能1号"),
        ("28", "技能実習3号ロ"),
        ("31", "留学"),
        ("33", "家族滞在"),
        ("34", "特定活動"),
        ("35", "永住者"),
        ("36", "日本人の配偶者等"),
        ("38", "定住者"),
        ("39", "特別永住者"),
    ],
)
def test_codes_name_the_statuses_of_the_tables(code: str, name: str) -> None:
    assert residence_status_name(code) == name


def test_every_status_of_the_tables_has_one_code() -> None:
    names = list(RESIDENCE_STATUS_NAMES.values())
    assert len(names) == len(set(names)) == 39
    assert list(RESIDENCE_STATUS_NAMES) == [f"{n:02d}" for n in range(1, 40)]  # in the order of the 別表
    for status in ("教授", "芸術", "宗教", "報道", "経営・管理", "法律・会計業務", "医療", "研究", "教育",
                   "企業内転勤", "介護", "興行", "技能", "特定技能2号", "文化活動", "短期滞在", "研修",
                   "永住者の配偶者等"):  # fmt: skip
        assert status in names


def test_an_unknown_code_is_printed_as_a_code_not_dropped() -> None:
    assert residence_status_name("99") is None
    assert residence_status_text("99") == "在留資格コード 99"
    assert residence_status_text("16") == "技術・人文知識・国際業務"
