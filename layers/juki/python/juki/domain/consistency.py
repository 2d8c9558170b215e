"""整合性確認: the ledger's 本人確認情報 against the CS's identity records, person by person.

Pure. The export (``juki.services.consistency``) writes each person's identity items as
``juki.domain.linkage.identity_data`` gives them, except the 個人番号, which stays sealed in the
export; the compare step opens it in memory (the compare function holds the pii key) and hands
the twelve digits to ``compare_person`` here. The other way, a keyed digest of the CS's number,
would need the blind-index key from the ledger table, which the compare function cannot read.

A difference names the person id, at most the last four digits of the 住民票コード, the item and
which *kind* of value each side holds (a value, an empty value, no record): never the values,
because the report is read by operators (docs/linkage.md, "The consistency check").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# The 本人確認情報 items compared (resident_code is the key both sides are matched on).
ITEMS: tuple[str, ...] = ("name", "name_kana", "birth_date", "sex", "address", "status", "my_number")
PART_SIZE = 500  # persons per exported part: one CS query and one Map item each
CODE_TAIL_DIGITS = 4
RESIDENT = "resident"
REMOVED = "removed"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")


class Kind(StrEnum):
    MISSING_ON_CS = "missing_on_cs"  # a resident in the ledger; the CS has no record of the code
    MISSING_IN_LEDGER = "missing_in_ledger"  # the CS counts as resident a person the ledger removed
    NO_RESIDENT_CODE = "no_resident_code"  # a resident without a code: the CS cannot be asked
    ITEM = "item"  # both hold the person; one item differs


class Held(StrEnum):
    """What kind of value a side holds for an item (the report never holds the value)."""

    VALUE = "value"
    EMPTY = "empty"
    NO_RECORD = "no_record"


class Difference(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    person_id: str = Field(description="宛名番号")
    code_tail: str | None = Field(description="住民票コードの末尾4桁")
    kind: Kind = Field(description="差異の種類")
    item: str | None = Field(default=None, description="差異のある項目 (種類が item の場合)")
    ledger: Held = Field(description="住民記録システム側の値の有無")
    cs: Held = Field(description="市町村CS側の値の有無")


class ConsistencyReport(BaseModel):
    """The stored report of one run (``documents/reports/consistency/<run_id>.json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str = Field(description="実行ID")
    checked: int = Field(description="照合した住民の数")
    parts: int = Field(description="分割したファイルの数")
    differences: list[Difference] = Field(description="差異 (値は含みません)")
    by_kind: dict[str, int] = Field(default_factory=dict, description="種類ごとの差異の数")
    by_item: dict[str, int] = Field(default_factory=dict, description="項目ごとの差異の数")


def valid_run_id(run_id: str) -> bool:
    """A run id is an execution name: it becomes part of S3 keys, so nothing else is accepted."""
    return bool(_RUN_ID.match(run_id))


def code_tail(resident_code: str | None) -> str | None:
    return resident_code[-CODE_TAIL_DIGITS:] if resident_code else None


def _held(value: Any) -> Held:
    return Held.EMPTY if value is None or value == "" else Held.VALUE


def compare_person(
    ledger: Mapping[str, Any], ledger_my_number: str | None, cs: Mapping[str, Any] | None
) -> list[Difference]:
    """The differences between one person's exported identity items and the CS's record of the
    same 住民票コード (None: the CS has none). ``ledger_my_number`` is the opened 個人番号 or None."""
    person_id = str(ledger["person_id"])
    code = ledger.get("resident_code")
    tail = code_tail(code)
    status = ledger.get("status")

    def found(kind: Kind, item: str | None, ledger_side: Held, cs_side: Held) -> Difference:
        return Difference(
            person_id=person_id, code_tail=tail, kind=kind, item=item, ledger=ledger_side, cs=cs_side
        )

    if not code:
        if status == RESIDENT:
            return [found(Kind.NO_RESIDENT_CODE, "resident_code", Held.EMPTY, Held.NO_RECORD)]
        return []
    if cs is None:
        # A removed record the CS no longer holds is not a difference (the CS keeps what it is
        # sent; records removed before the CS's own retention began may be absent).
        if status == RESIDENT:
            return [found(Kind.MISSING_ON_CS, None, Held.VALUE, Held.NO_RECORD)]
        return []
    if status == REMOVED and cs.get("status") == RESIDENT:
        return [found(Kind.MISSING_IN_LEDGER, "status", Held.VALUE, Held.VALUE)]
    differences: list[Difference] = []
    for item in ITEMS:
        mine = ledger_my_number if item == "my_number" else ledger.get(item)
        theirs = cs.get(item)
        if _normalised(mine) != _normalised(theirs):
            differences.append(found(Kind.ITEM, item, _held(mine), _held(theirs)))
    return differences


def _normalised(value: Any) -> Any:
    """Empty and absent are the same; text is compared as sent (the CS stores what it receives)."""
    return None if value is None or value == "" else value


def summarise(run_id: str, checked: int, parts: int, differences: list[Difference]) -> ConsistencyReport:
    """The report, differences in a stable order (person, kind, item) so a rerun writes the same."""
    ordered = sorted(differences, key=lambda d: (d.person_id, d.kind, d.item or ""))
    return ConsistencyReport(
        run_id=run_id,
        checked=checked,
        parts=parts,
        differences=ordered,
        by_kind=dict(sorted(Counter(d.kind.value for d in ordered).items())),
        by_item=dict(sorted(Counter(d.item for d in ordered if d.item).items())),
    )
