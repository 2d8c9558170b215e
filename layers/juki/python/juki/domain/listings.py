"""The ledger's standing lists: which current records a clerk must be able to list."""

from __future__ import annotations

from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.values import HouseholdStatus, ResidentStatus

UNCONFIRMED_MOVE_OUT = "UNCONFIRMED_MOVE_OUT"  # 転入通知が届いていない転出
HEADLESS_HOUSEHOLD = "HEADLESS_HOUSEHOLD"  # 世帯主のいない世帯
DRAFTS = "MOVEMENT_STATUS#draft"  # 決裁待ちの異動


def listing_of(record: PersonRecord | HouseholdRecord) -> tuple[str, str] | None:
    """The list a current record belongs on, with its place in the list, if any."""
    if isinstance(record, PersonRecord):
        move_out = record.move_out
        if record.status == ResidentStatus.REMOVED and move_out and move_out.confirmed_date is None:
            return UNCONFIRMED_MOVE_OUT, f"{move_out.planned_date.isoformat()}#{record.person_id}"
        return None
    if record.status == HouseholdStatus.ACTIVE and record.head_person_id is None:
        return HEADLESS_HOUSEHOLD, record.household_id
    return None
