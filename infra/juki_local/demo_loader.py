"""Loads the demo municipality into the ledger as a migration (データ移行) would: version 1 of
every person and household, written in batches, with one operation-log entry per batch."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice

from juki.adapters.dynamodb import DynamoLedgerStore
from juki.adapters.system import SystemClock, UuidSource
from juki.domain.codes import resident_code_check_digit
from juki.domain.oplog import entry_for
from juki.domain.record_items import KosekiDomicile
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.staff import SystemActor
from juki.domain.values import Address, MovementKind, OtherAddress, PersonName, ResidentStatus

from juki_local.demo_data import DemoHousehold, DemoPerson

BATCH_HOUSEHOLDS = 200
IMPORT_PREVIOUS_ADDRESS = OtherAddress(street="移行前の記録による")


def _batches(households: Iterable[DemoHousehold]) -> Iterator[list[DemoHousehold]]:
    iterator = iter(households)
    while batch := list(islice(iterator, BATCH_HOUSEHOLDS)):
        yield batch


def _records(
    household: DemoHousehold, person_ids: list[str], household_id: str, movement_id: str, now: datetime
) -> tuple[list[PersonRecord], HouseholdRecord]:
    demo = household.address
    address = Address(
        postal_code=demo.postal_code,
        ward=demo.ward,
        town=demo.town,
        town_code=demo.town_code,
        lot=demo.lot,
        katagaki=demo.katagaki,
    )
    head = household.members[0]
    persons = [
        PersonRecord(
            person_id=person_id,
            version=1,
            household_id=household_id,
            name=PersonName(
                family_name=member.family_name,
                given_name=member.given_name,
                family_name_kana=member.family_name_kana,
                given_name_kana=member.given_name_kana,
            ),
            birth_date=member.birth_date,
            sex=member.sex,
            relationship=member.relationship,
            koseki=_koseki(household, member if member.family_name != head.family_name else head),
            resident_code=demo_resident_code(person_id),
            address=address,
            previous_address=IMPORT_PREVIOUS_ADDRESS,
            resident_since=max(household.resident_since, member.birth_date),
            address_since=max(household.resident_since, member.birth_date),
            notified_date=max(household.resident_since, member.birth_date),
            status=ResidentStatus.RESIDENT,
            movement_id=movement_id,
            movement_kind=MovementKind.MIGRATION,
            effective_date=max(household.resident_since, member.birth_date),
            recorded_at=now,
        )
        for person_id, member in zip(person_ids, household.members, strict=True)
    ]
    record = HouseholdRecord(
        household_id=household_id,
        version=1,
        head_person_id=person_ids[0],
        member_ids=person_ids,
        address=address,
        movement_id=movement_id,
        effective_date=household.resident_since,
        recorded_at=now,
    )
    return persons, record


def demo_resident_code(person_id: str) -> str:
    """A valid 住民票コード per demo person, the same on every run: the person's sequence number
    times a prime is a permutation of the ten-digit numbers, so no two people share one."""
    first10 = f"{int(person_id[:-1]) * 7919 % 10**10:010d}"
    return f"{first10}{resident_code_check_digit(first10)}"


def _koseki(household: DemoHousehold, koseki_head: DemoPerson) -> KosekiDomicile:
    """Demo residents are registered where they live, under the household head's family (or
    their own, for a 同居人 of another family)."""
    lot = household.address.lot.split("番")[0]
    return KosekiDomicile(
        domicile=f"静岡県静岡市{household.address.ward}{household.address.town}{lot}番地",
        head=f"{koseki_head.family_name}{koseki_head.given_name}",
    )


def load(
    store: DynamoLedgerStore,
    households: Iterable[DemoHousehold],
    mirror: Callable[[list[PersonRecord]], None] | None = None,
) -> tuple[int, int]:
    """Imports the households; returns (persons, households) written. ``mirror`` receives each
    batch's records (the CS simulator holds the same identity records, as the real CS would after
    the migration)."""
    clock, ids = SystemClock(), UuidSource()
    movement_id = f"migration-{ids.new_id()}"
    person_count = household_count = 0
    for batch in _batches(households):
        now = clock.now()
        person_ids = iter(store.reserve_sequence("person", sum(len(h.members) for h in batch)))
        household_ids = iter(store.reserve_sequence("household", len(batch)))
        persons: list[PersonRecord] = []
        records: list[HouseholdRecord] = []
        for household in batch:
            members = [next(person_ids) for _ in household.members]
            new_persons, record = _records(household, members, next(household_ids), movement_id, now)
            persons += new_persons
            records.append(record)
        store.import_records(persons, records)
        if mirror is not None:
            mirror(persons)
        store.append(
            entry_for(
                SystemActor(name="migration", request_id=movement_id),
                entry_id=ids.new_id(),
                at=now,
                function="ledger.import",
                action="create",
                persons=[p.person_id for p in persons],
                households=[h.household_id for h in records],
            )
        )
        person_count += len(persons)
        household_count += len(records)
    return person_count, household_count
