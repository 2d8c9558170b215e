"""在留資格: the ledger's residence-status codes and the names a certificate prints.

The ledger keeps a foreign resident's 在留資格 as a code (``ForeignResident.residence_status_code``,
別添2 item 50), copied from the 在留カード or the 法務省 notice (法第30条の50). A certificate prints
the name, as 出入国管理及び難民認定法 別表第一 (the 活動資格, with the 号 of 高度専門職, 特定技能 and
技能実習 as the card prints them) and 別表第二 (the 居住資格) word it, plus 特別永住者 (入管特例法).

The project's own code table: the standard specification's code list was not available when this
was written, so the codes number the statuses in the order of the 別表 (01 外交 … 38 定住者, 39
特別永住者). Importing data coded otherwise means mapping it onto these codes at import. The table
holds every status of the 別表, also those no 住民票 carries (外交, 公用, 短期滞在: not 中長期在留者,
入管法第19条の3), so that a code is never printed raw because the table left it out.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

RESIDENCE_STATUS_NAMES: Final = MappingProxyType(
    {
        # 別表第一の一
        "01": "外交",
        "02": "公用",
        "03": "教授",
        "04": "芸術",
        "05": "宗教",
        "06": "報道",
        # 別表第一の二
        "07": "高度専門職1号イ",
        "08": "高度専門職1号ロ",
        "09": "高度専門職1号ハ",
        "10": "高度専門職2号",
        "11": "経営・管理",
        "12": "法律・会計業務",
        "13": "医療",
        "14": "研究",
        "15": "教育",
        "16": "技術・人文知識・国際業務",
        "17": "企業内転勤",
        "18": "介護",
        "19": "興行",
        "20": "技能",
        "21": "特定技能1号",
        "22": "特定技能2号",
        "23": "技能実習1号イ",
        "24": "技能実習1号ロ",
        "25": "技能実習2号イ",
        "26": "技能実習2号ロ",
        "27": "技能実習3号イ",
        "28": "技能実習3号ロ",
        # 別表第一の三
        "29": "文化活動",
        "30": "短期滞在",
        # 別表第一の四
        "31": "留学",
        "32": "研修",
        "33": "家族滞在",
        # 別表第一の五
        "34": "特定活動",
        # 別表第二
        "35": "永住者",
        "36": "日本人の配偶者等",
        "37": "永住者の配偶者等",
        "38": "定住者",
        # 入管特例法
        "39": "特別永住者",
    }
)


def residence_status_name(code: str) -> str | None:
    """The printed name of a code, or None for a code outside the table."""
    return RESIDENCE_STATUS_NAMES.get(code.strip().upper())


def residence_status_text(code: str) -> str:
    """What a certificate prints: the name; a code outside the table is printed as recorded, marked
    as a code, rather than refusing the certificate or leaving the item blank (the record is
    corrected by a 職権修正, the certificate stays truthful meanwhile)."""
    return residence_status_name(code) or f"在留資格コード {code}"
