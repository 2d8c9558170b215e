"""Application service for inquiry (照会): persons and households now, as of a date, and their
history, and the ledger's standing lists. Every read is in the operation log before it leaves."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from juki.domain.errors import Issue, NotFound
from juki.domain.listings import HEADLESS_HOUSEHOLD, UNCONFIRMED_MOVE_OUT
from juki.domain.my_number import MyNumberVault
from juki.domain.oplog import Outcome, entry_for
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.restrictions import Process, Restricted, enforce
from juki.domain.staff import Actor, Permission
from juki.domain.visibility import hidden_items, visible
from juki.services.access import require
from juki.services.history import full_history
from juki.services.ports import (
    Clock,
    IdSource,
    LedgerStore,
    OperationLog,
    RecordArchiveReader,
    RestrictionCheck,
)

FUNCTION_INQUIRY = "resident.read"
FUNCTION_MY_NUMBER = "my_number.reveal"


class HouseholdView(BaseModel):
    as_of: date = Field(description="この日の内容")
    household: HouseholdRecord = Field(description="世帯")
    members: list[PersonRecord] = Field(description="世帯員 (世帯員の順、その日の内容)")
    alerts: list[Issue] = Field(default_factory=list, description="抑止・支援措置のアラート")
    masked_items: list[str] = Field(
        default_factory=list,
        description="表示の権限がなく伏せた項目 (resident_code, koseki, residence_status)",
    )


class PersonView(BaseModel):
    as_of: date = Field(description="この日の内容")
    person: PersonRecord = Field(description="住民票 (その日の版)")
    alerts: list[Issue] = Field(default_factory=list, description="抑止・支援措置のアラート")
    masked_items: list[str] = Field(
        default_factory=list,
        description="表示の権限がなく伏せた項目 (resident_code, koseki, residence_status)",
    )


class RevealedMyNumber(BaseModel):
    person_id: str = Field(description="宛名番号")
    my_number: str = Field(description="個人番号 (12桁)")
    purpose: str = Field(description="表示の目的 (操作ログに記録)")


class PersonHistory(BaseModel):
    person_id: str = Field(description="宛名番号")
    versions: list[PersonRecord] = Field(description="すべての版 (履歴番号の順)")
    alerts: list[Issue] = Field(default_factory=list, description="抑止・支援措置のアラート")
    masked_items: list[str] = Field(
        default_factory=list,
        description="表示の権限がなく伏せた項目 (resident_code, koseki, residence_status)",
    )


class PersonList(BaseModel):
    persons: list[PersonRecord] = Field(description="該当する人 (今の内容)")
    masked_items: list[str] = Field(
        default_factory=list,
        description="表示の権限がなく伏せた項目 (resident_code, koseki, residence_status)",
    )


class HouseholdList(BaseModel):
    households: list[HouseholdRecord] = Field(description="該当する世帯 (今の内容)")


class InquiryService:
    def __init__(
        self,
        store: LedgerStore,
        log: OperationLog,
        clock: Clock,
        ids: IdSource,
        *,
        restrictions: RestrictionCheck,
        vault: MyNumberVault,
        archive: RecordArchiveReader | None = None,
    ) -> None:
        self._archive = archive
        self._restrictions = restrictions
        self._vault = vault
        self._store = store
        self._log = log
        self._clock = clock
        self._ids = ids

    def household(self, household_id: str, actor: Actor, as_of: date | None = None) -> HouseholdView:
        require(actor, Permission.RESIDENT_READ)
        day = as_of or self._clock.now().date()
        household = self._store.household_as_of(household_id, day)
        if household is None:
            raise NotFound("HOUSEHOLD_NOT_FOUND", "その日の世帯が見つかりません", "household_id")
        alerts = self._allowed(actor, household.member_ids, [household_id])
        members = [self._person_on(pid, day) for pid in household.member_ids]
        self._logged(actor, persons=household.member_ids, households=[household_id])
        return HouseholdView(
            as_of=day,
            household=household,
            members=[visible(m, actor.permissions) for m in members],
            alerts=alerts,
            masked_items=hidden_items(actor.permissions),
        )

    def person(self, person_id: str, actor: Actor, as_of: date | None = None) -> PersonView:
        require(actor, Permission.RESIDENT_READ)
        day = as_of or self._clock.now().date()
        person = self._store.person_as_of(person_id, day) or self._archived_as_of(person_id, day)
        if person is None:
            raise NotFound("PERSON_NOT_FOUND", "その日の住民の記録が見つかりません", "person_id")
        alerts = self._allowed(actor, [person_id], [person.household_id])
        self._logged(actor, persons=[person_id], households=[person.household_id])
        return PersonView(
            as_of=day,
            person=visible(person, actor.permissions),
            alerts=alerts,
            masked_items=hidden_items(actor.permissions),
        )

    def person_history(self, person_id: str, actor: Actor) -> PersonHistory:
        require(actor, Permission.RESIDENT_READ)
        versions = full_history(self._store, self._archive, person_id)
        if not versions:
            raise NotFound("PERSON_NOT_FOUND", "住民が見つかりません", "person_id")
        households = sorted({v.household_id for v in versions})
        alerts = self._allowed(actor, [person_id], households)
        self._logged(actor, persons=[person_id], households=households)
        return PersonHistory(
            person_id=person_id,
            versions=[visible(v, actor.permissions) for v in versions],
            alerts=alerts,
            masked_items=hidden_items(actor.permissions),
        )

    def reveal_my_number(self, person_id: str, purpose: str, actor: Actor) -> RevealedMyNumber:
        """個人番号の表示: only with the permission and a stated purpose, and logged as shown."""
        require(actor, Permission.MY_NUMBER_REVEAL)
        person = self._store.get_person(person_id) or (
            self._archive.get_person(person_id) if self._archive else None
        )
        if person is None:
            raise NotFound("PERSON_NOT_FOUND", "住民が見つかりません", "person_id")
        self._allowed(actor, [person_id], [person.household_id])
        if person.my_number is None:
            raise NotFound("MY_NUMBER_NOT_RECORDED", "個人番号が記録されていません", "person_id")
        number = self._vault.open(person.my_number, person_id)
        self._log.append(
            entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=self._clock.now(),
                function=FUNCTION_MY_NUMBER,
                action="read",
                persons=[person_id],
                households=[person.household_id],
                my_number_purpose=purpose,
            )
        )
        return RevealedMyNumber(person_id=person_id, my_number=number, purpose=purpose)

    def unconfirmed_move_outs(self, actor: Actor) -> PersonList:
        """転出 not yet confirmed by a 転入通知, by planned date."""
        require(actor, Permission.RESIDENT_READ)
        persons = [
            p
            for p in self._store.get_persons(self._store.listed(UNCONFIRMED_MOVE_OUT))
            if not self._protected([p.person_id], [p.household_id])
        ]
        self._logged(actor, persons=[p.person_id for p in persons], households=[])
        return PersonList(
            persons=[visible(p, actor.permissions) for p in persons],
            masked_items=hidden_items(actor.permissions),
        )

    def headless_households(self, actor: Actor) -> HouseholdList:
        """Households without a head (the head left or died), for the clerk to follow up."""
        require(actor, Permission.RESIDENT_READ)
        households = [
            h
            for h in self._store.households_by_id(self._store.listed(HEADLESS_HOUSEHOLD)).values()
            if not self._protected(h.member_ids, [h.household_id])
        ]
        self._logged(
            actor,
            persons=[m for h in households for m in h.member_ids],
            households=[h.household_id for h in households],
        )
        return HouseholdList(households=households)

    def _allowed(self, actor: Actor, persons: list[str], households: list[str]) -> list[Issue]:
        """抑止 for inquiry: an error refuses the read (and the refusal is logged), an alert is
        returned with the record."""
        try:
            return enforce(self._restrictions.check(persons, households, Process.INQUIRY, self._clock.now()))
        except Restricted:
            self._logged(actor, persons=persons, households=households, outcome="refused")
            raise

    def _protected(self, persons: list[str], households: list[str]) -> bool:
        """A list leaves out what an error-level restriction or support measure protects."""
        issues = self._restrictions.check(persons, households, Process.INQUIRY, self._clock.now())
        return any(issue.severity == "error" for issue in issues)

    @property
    def archive(self) -> RecordArchiveReader | None:
        """Where removed records go after five years (shared with the disclosure report)."""
        return self._archive

    def _archived_as_of(self, person_id: str, day: date) -> PersonRecord | None:
        """A removed record moved to the archive after five years (read in milliseconds)."""
        return self._archive.person_as_of(person_id, day) if self._archive else None

    def _person_on(self, person_id: str, day: date) -> PersonRecord:
        person = self._store.person_as_of(person_id, day) or self._archived_as_of(person_id, day)
        if person is None:
            raise LookupError("a household member has no version on that day")
        return person

    def _logged(
        self, actor: Actor, persons: list[str], households: list[str], outcome: Outcome = "success"
    ) -> None:
        self._log.append(
            entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=self._clock.now(),
                function=FUNCTION_INQUIRY,
                action="read",
                persons=persons,
                households=households,
                outcome=outcome,
            )
        )
