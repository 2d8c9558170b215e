"""Field visibility: the guarded items of a record are shown only to roles that need them.

個人番号 is never in a record as read (only whether one is recorded; showing it is a separate,
logged act with a purpose). 住民票コード, 本籍・筆頭者 and 在留資格 (with 在留期間, 満了の日 and the card
number) are blanked unless the caller holds the permission for the item; the response names
the items it blanked, so a blank is never mistaken for "not recorded".
"""

from __future__ import annotations

from juki.domain.records import PersonRecord
from juki.domain.staff import Permission

# The item groups, by the permission that shows them, with the name the response gives them.
GUARDED_ITEMS: dict[Permission, str] = {
    Permission.RESIDENT_CODE_VIEW: "resident_code",
    Permission.KOSEKI_VIEW: "koseki",
    Permission.RESIDENCE_STATUS_VIEW: "residence_status",
}


def hidden_items(permissions: frozenset[Permission]) -> list[str]:
    """The item groups blanked for a caller with these permissions."""
    return [item for permission, item in GUARDED_ITEMS.items() if permission not in permissions]


def visible(person: PersonRecord, permissions: frozenset[Permission]) -> PersonRecord:
    """The record as this caller may see it (a copy for output; never stored)."""
    update: dict[str, object] = {}
    if Permission.RESIDENT_CODE_VIEW not in permissions:
        update["resident_code"] = None
        update["previous_resident_codes"] = []
    if Permission.KOSEKI_VIEW not in permissions:
        update["koseki"] = None
    if Permission.RESIDENCE_STATUS_VIEW not in permissions and person.foreign_resident is not None:
        update["foreign_resident"] = person.foreign_resident.model_copy(
            update={
                "residence_status_code": None,
                "period_of_stay": None,
                "expiry_date": None,
                "card_number": None,
            }
        )
    return person.model_copy(update=update) if update else person
