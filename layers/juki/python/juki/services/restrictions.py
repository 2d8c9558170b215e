"""Application service for restrictions (抑止) and support measures (支援措置): setting, temporary
release, extension, decision and ending (permission ``restriction.manage``), listings, and the
check other services call before a process. Every change and every listing is in the operation
log; a change and its entry are written together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from juki.domain import restrictions as rules
from juki.domain.errors import DomainError, Issue, NotFound
from juki.domain.oplog import OperationLogEntry, entry_for
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.restrictions import (
    NewRestriction,
    NewSupportMeasure,
    Process,
    Restriction,
    SupportMeasure,
    TargetKind,
    TemporaryReleaseRequest,
)
from juki.domain.staff import Actor, Permission
from juki.services.access import require
from juki.services.ports import Clock, IdSource, OperationLog

FUNCTION_MANAGE = "restriction.manage"
FUNCTION_READ = "restriction.read"

type Record = Restriction | SupportMeasure


class RestrictionStore(Protocol):
    def add(self, record: Record, log: OperationLogEntry) -> None:
        """Writes a new record and its log entry together; an existing id is refused."""

    def replace(self, previous: Record, record: Record, log: OperationLogEntry) -> None:
        """Writes the next version and its log entry, only if ``previous`` is still current."""

    def get(self, record_id: str) -> Record | None: ...

    def on_targets(self, person_ids: Iterable[str], household_ids: Iterable[str]) -> list[Record]:
        """Every restriction and measure on these persons and households, read consistently."""

    def support_measures(self, ending_from: date, ending_until: date | None = None) -> list[SupportMeasure]:
        """Active measures ending on ``ending_from`` or later (and ``ending_until`` or earlier)."""


class Targets(Protocol):
    """Where the persons and households a restriction may name are (the ledger)."""

    def persons_by_id(self, person_ids: Iterable[str]) -> dict[str, PersonRecord]: ...

    def households_by_id(self, household_ids: Iterable[str]) -> dict[str, HouseholdRecord]: ...


class RestrictionList(BaseModel):
    restrictions: list[Restriction] = Field(description="抑止 (終了したものを含む)")
    support_measures: list[SupportMeasure] = Field(description="支援措置 (終了・期間満了のものを含む)")


class SupportMeasureList(BaseModel):
    as_of: date = Field(description="基準日 (今日)")
    support_measures: list[SupportMeasure] = Field(
        description="終了日が基準日以降の支援措置・仮支援措置 (終了日の順)"
    )


class RestrictionService:
    def __init__(
        self, store: RestrictionStore, targets: Targets, log: OperationLog, clock: Clock, ids: IdSource
    ) -> None:
        self._store = store
        self._targets = targets
        self._log = log
        self._clock = clock
        self._ids = ids

    # -- restrictions (抑止) -----------------------------------------------------------------
    def add(self, request: NewRestriction, actor: Actor) -> Restriction:
        require(actor, Permission.RESTRICTION_MANAGE)
        self._require_target(request.target, request.target_id, "target_id")
        now = self._clock.now()
        restriction = rules.new_restriction(request, self._ids.new_id(), actor.staff_id, now)
        self._store.add(restriction, self._entry(actor, now, "create", [restriction]))
        return restriction

    def release(self, restriction_id: str, request: TemporaryReleaseRequest, actor: Actor) -> Restriction:
        """一時解除 until ``request.until``; the restriction applies again after it by itself."""
        return self._change(
            restriction_id, Restriction, actor, lambda r, now: rules.release(r, request, actor.staff_id, now)
        )

    def end(self, restriction_id: str, actor: Actor) -> Restriction:
        return self._change(
            restriction_id, Restriction, actor, lambda r, now: rules.end(r, actor.staff_id, now)
        )

    # -- support measures (支援措置) ----------------------------------------------------------
    def add_support_measure(self, request: NewSupportMeasure, actor: Actor) -> SupportMeasure:
        require(actor, Permission.RESTRICTION_MANAGE)
        self._require_target(TargetKind.PERSON, request.person_id, "person_id")
        now = self._clock.now()
        measure = rules.new_support_measure(request, self._ids.new_id(), actor.staff_id, now)
        self._store.add(measure, self._entry(actor, now, "create", [measure]))
        return measure

    def extend(self, measure_id: str, actor: Actor) -> SupportMeasure:
        return self._change(
            measure_id, SupportMeasure, actor, lambda m, now: rules.extend(m, actor.staff_id, now)
        )

    def decide(self, measure_id: str, actor: Actor) -> SupportMeasure:
        """仮支援措置 → 支援措置 (one year from today)."""
        return self._change(
            measure_id, SupportMeasure, actor, lambda m, now: rules.decide(m, actor.staff_id, now)
        )

    def end_support_measure(self, measure_id: str, actor: Actor) -> SupportMeasure:
        return self._change(
            measure_id, SupportMeasure, actor, lambda m, now: rules.end(m, actor.staff_id, now)
        )

    # -- listings ----------------------------------------------------------------------------
    def on_target(self, target: TargetKind, target_id: str, actor: Actor) -> RestrictionList:
        """Everything set on one person or household, ended and expired ones included."""
        require(actor, Permission.RESTRICTION_MANAGE)
        person_ids = [target_id] if target == TargetKind.PERSON else []
        household_ids = [target_id] if target == TargetKind.HOUSEHOLD else []
        records = self._store.on_targets(person_ids, household_ids)
        self._log.append(self._entry(actor, self._clock.now(), "read", records, target=(target, target_id)))
        return RestrictionList(
            restrictions=[r for r in records if isinstance(r, Restriction)],
            support_measures=[r for r in records if isinstance(r, SupportMeasure)],
        )

    def support_measures(self, actor: Actor, expiring_within_days: int | None = None) -> SupportMeasureList:
        """Measures not yet past their end (all, or those ending within the next N days)."""
        require(actor, Permission.RESTRICTION_MANAGE)
        now = self._clock.now()
        today = now.date()
        until = None if expiring_within_days is None else today + timedelta(days=expiring_within_days)
        measures = self._store.support_measures(today, until)
        self._log.append(self._entry(actor, now, "read", measures))
        return SupportMeasureList(as_of=today, support_measures=measures)

    # -- for other services ------------------------------------------------------------------
    def check(
        self, person_ids: Iterable[str], household_ids: Iterable[str], process: Process, at: datetime
    ) -> list[Issue]:
        """The errors and alerts the restrictions and measures in force at ``at`` give ``process``
        for these persons and households. Needs no permission: the caller's own operation is the
        one authorised and logged."""
        return rules.check(self._store.on_targets(person_ids, household_ids), process, at)

    # -- helpers -----------------------------------------------------------------------------
    def _change[R: (Restriction, SupportMeasure)](
        self, record_id: str, kind: type[R], actor: Actor, change: Callable[[R, datetime], R]
    ) -> R:
        require(actor, Permission.RESTRICTION_MANAGE)
        record = self._store.get(record_id)
        if not isinstance(record, kind):
            if kind is Restriction:
                raise NotFound("RESTRICTION_NOT_FOUND", "抑止が見つかりません", "restriction_id")
            raise NotFound("SUPPORT_MEASURE_NOT_FOUND", "支援措置が見つかりません", "measure_id")
        now = self._clock.now()
        changed = change(record, now)
        self._store.replace(record, changed, self._entry(actor, now, "create", [changed]))
        return changed

    def _require_target(self, target: TargetKind, target_id: str, field: str) -> None:
        found = (
            target_id in self._targets.persons_by_id([target_id])
            if target == TargetKind.PERSON
            else target_id in self._targets.households_by_id([target_id])
        )
        if not found:
            raise DomainError(
                "TARGET_NOT_FOUND", f"その{rules.TARGET_NAMES[target]}は台帳にありません", field
            )

    def _entry(
        self,
        actor: Actor,
        at: datetime,
        action: Literal["create", "read"],
        records: Iterable[Record],
        target: tuple[TargetKind, str] | None = None,
    ) -> OperationLogEntry:
        """Changes are ``create`` (every change writes a new version); listings are ``read``."""
        refs = {record.target_ref for record in records} | ({target} if target else set())
        return entry_for(
            actor,
            entry_id=self._ids.new_id(),
            at=at,
            function=FUNCTION_MANAGE if action == "create" else FUNCTION_READ,
            action=action,
            persons=sorted(i for kind, i in refs if kind == TargetKind.PERSON),
            households=sorted(i for kind, i in refs if kind == TargetKind.HOUSEHOLD),
        )
