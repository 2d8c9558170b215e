"""Application service for inquiry (照会): reading persons and households, every read logged."""

from __future__ import annotations

from pydantic import BaseModel, Field

from juki.domain.errors import NotFound
from juki.domain.model import HouseholdRecord, PersonRecord
from juki.domain.oplog import entry_for
from juki.domain.staff import Actor, Permission
from juki.services.access import require
from juki.services.ports import Clock, IdSource, LedgerStore, OperationLog

FUNCTION_INQUIRY = "resident.read"


class HouseholdView(BaseModel):
    household: HouseholdRecord = Field(description="世帯")
    members: list[PersonRecord] = Field(description="世帯員 (世帯員の順)")


class InquiryService:
    def __init__(self, store: LedgerStore, log: OperationLog, clock: Clock, ids: IdSource) -> None:
        self._store = store
        self._log = log
        self._clock = clock
        self._ids = ids

    def household(self, household_id: str, actor: Actor) -> HouseholdView:
        require(actor, Permission.RESIDENT_READ)
        household = self._store.get_household(household_id)
        if household is None:
            raise NotFound("HOUSEHOLD_NOT_FOUND", "世帯が見つかりません", "household_id")
        members = self._store.get_persons(household.member_ids)
        self._logged(actor, persons=household.member_ids, households=[household_id])
        return HouseholdView(household=household, members=members)

    def person(self, person_id: str, actor: Actor) -> PersonRecord:
        require(actor, Permission.RESIDENT_READ)
        person = self._store.get_person(person_id)
        if person is None:
            raise NotFound("PERSON_NOT_FOUND", "住民が見つかりません", "person_id")
        self._logged(actor, persons=[person_id], households=[person.household_id])
        return person

    def _logged(self, actor: Actor, persons: list[str], households: list[str]) -> None:
        self._log.append(
            entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=self._clock.now(),
                function=FUNCTION_INQUIRY,
                action="read",
                persons=persons,
                households=households,
            )
        )
