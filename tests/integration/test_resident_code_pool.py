"""The 住民票コード pool against the session's moto server: supply, random and atomic assignment,
the caller's own transaction, and the low-pool alert.

Every test works in a pool of its own (``RESIDENT_CODE_POOL#test-<uuid>``) with random codes, so
nothing here touches another test's items or the demo ledger.
"""

from __future__ import annotations

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from juki.adapters.resident_code_pool import (
    DynamoResidentCodePool,
    ResidentCodeItem,
    pool_key,
    resident_code_key,
)
from juki.adapters.tables import bind
from juki.domain import ids
from juki.domain.codes import is_valid_resident_code, resident_code_check_digit
from juki.domain.errors import Conflict, RuleViolation
from juki.domain.staff import Actor, Role
from juki.services.resident_codes import RESIDENT_CODE_POOL_LOW, ResidentCodeService
from juki_local.system import LocalSystem
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

OPERATOR = Actor("S9001", frozenset({Role.CLERK}), "本庁", "T9", "cs-loader", "r")


def random_codes(count: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        first10 = f"{secrets.randbelow(10**10):010d}"
        codes.add(first10 + str(resident_code_check_digit(first10)))
    return sorted(codes)


def person_id() -> str:
    return ids.make_id(secrets.randbelow(10**9 - 1) + 1)


def new_pool(local_system: LocalSystem, name: str | None = None) -> DynamoResidentCodePool:
    return DynamoResidentCodePool(
        local_system.description.name("ledger"),
        region=local_system.emulator.region,
        host=local_system.emulator.url,
        pool=name or f"test-{uuid.uuid4().hex}",
    )


@pytest.fixture
def pool(local_system: LocalSystem) -> DynamoResidentCodePool:
    return new_pool(local_system)


def query(local_system: LocalSystem, pk: str) -> list[dict[str, Any]]:
    client = local_system.emulator.client("dynamodb")
    pages = client.get_paginator("query").paginate(
        TableName=local_system.description.name("ledger"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )
    return [
        {key: next(iter(value.values())) for key, value in item.items()}
        for page in pages
        for item in page["Items"]
    ]


def slots(local_system: LocalSystem, pool: DynamoResidentCodePool) -> list[str]:
    return [i["code"] for i in query(local_system, pool_key(pool.pool)) if i["sk"].startswith("SLOT#")]


def test_supply_adds_each_code_once(local_system: LocalSystem, pool: DynamoResidentCodePool) -> None:
    first = random_codes(30)
    assert all(is_valid_resident_code(code) for code in first)
    assert pool.supply(first, "S9001") == 30
    assert pool.available() == 30

    more = random_codes(5)
    assert pool.supply(first[:10] + more + more[:2], "S9001") == 5  # known and repeated codes ignored
    assert pool.available() == 35
    assert sorted(slots(local_system, pool)) == sorted(first + more)

    (code_item,) = query(local_system, resident_code_key(more[0]))
    assert code_item["status"] == "available" and code_item["pool"] == pool.pool
    assert code_item["supplied_by"] == "S9001"


def test_an_assigned_code_is_never_supplied_again(local_system: LocalSystem) -> None:
    pool, other_pool = new_pool(local_system), new_pool(local_system)
    codes = random_codes(3)
    pool.supply(codes, "S9001")
    assignments = [pool.assign(person_id()) for _ in codes]
    assert pool.available() == 0

    assert pool.supply(codes, "S9001") == 0
    assert other_pool.supply(codes, "S9001") == 0  # nor into another pool
    assert pool.available() == 0 and other_pool.available() == 0
    assert slots(local_system, pool) == []
    for assignment in assignments:
        assert pool.assigned_to(assignment.code) == assignment.person_id


def test_codes_are_assigned_at_random_not_in_supply_order(pool: DynamoResidentCodePool) -> None:
    supplied = random_codes(200)  # sorted: supply order and numeric order are the same
    pool.supply(supplied, "S9001")
    people = [person_id() for _ in range(50)]
    assigned = [pool.assign(person) for person in people]

    codes = [assignment.code for assignment in assigned]
    positions = [supplied.index(code) for code in codes]
    assert len(set(codes)) == 50
    assert positions != sorted(positions)  # not in supply order
    assert codes != supplied[:50]
    assert max(positions) >= 100  # drawn from the whole pool, not its beginning
    assert [a.available for a in assigned] == list(range(199, 149, -1))
    for person, code in zip(people, codes, strict=True):
        assert pool.assigned_to(code) == person


def test_concurrent_assignments_never_give_a_code_twice(local_system: LocalSystem) -> None:
    name = f"test-{uuid.uuid4().hex}"
    supplied = random_codes(60)
    new_pool(local_system, name).supply(supplied, "S9001")

    def assign_five(_: int) -> list[tuple[str, str]]:
        worker = new_pool(local_system, name)  # one per thread, as separate Lambda instances would
        taken = []
        for _ in range(5):
            person = person_id()
            taken.append((worker.assign(person).code, person))
        return taken

    with ThreadPoolExecutor(max_workers=8) as executor:
        results = [pair for batch in executor.map(assign_five, range(8)) for pair in batch]

    codes = [code for code, _ in results]
    assert len(codes) == 40 and len(set(codes)) == 40
    assert set(codes) <= set(supplied)
    pool = new_pool(local_system, name)
    assert pool.available() == 20
    assert sorted(slots(local_system, pool)) == sorted(set(supplied) - set(codes))
    for code, person in results:
        assert pool.assigned_to(code) == person


def test_an_empty_pool_refuses(pool: DynamoResidentCodePool) -> None:
    with pytest.raises(Conflict) as empty:
        pool.assign(person_id())
    assert empty.value.code == "RESIDENT_CODE_POOL_EMPTY"
    pool.supply(random_codes(2), "S9001")
    with pytest.raises(Conflict):
        pool.reserve(3)
    assert len({r.code for r in pool.reserve(2)}) == 2
    assert pool.available() == 2  # reserving writes nothing


def test_codes_taken_in_the_callers_transaction(
    local_system: LocalSystem, pool: DynamoResidentCodePool
) -> None:
    """How the movement commit takes codes: reserve, add the writes to its own transaction."""
    pool.supply(random_codes(5), "S9001")
    table = local_system.description.name("ledger")
    model = bind(ResidentCodeItem, table, local_system.emulator.region, local_system.emulator.url)
    connection = Connection(region=local_system.emulator.region, host=local_system.emulator.url)
    marker = model(pk=pool_key(pool.pool), sk="MARKER", kind="test")
    marker.save()
    people = [person_id(), person_id()]

    # The caller's own write fails: nothing of the assignments is written either.
    reservations = pool.reserve(2)
    pairs = list(zip(reservations, people, strict=True))
    with pytest.raises(TransactWriteError) as failed, TransactWrite(connection=connection) as tx:
        pool.add_assignments_to(tx, pairs)
        tx.save(marker, condition=model.pk.does_not_exist())
    assert "ConditionalCheckFailed" in {r.code for r in failed.value.cancellation_reasons if r}
    assert pool.available() == 5
    assert all(pool.assigned_to(r.code) is None for r in reservations)

    # It succeeds: both codes leave the pool with the caller's write.
    with TransactWrite(connection=connection) as tx:
        pool.add_assignments_to(tx, pairs)
        tx.update(marker, actions=[model.value.add(1)], condition=model.pk.exists())
    assert pool.available() == 3
    assert [pool.assigned_to(r.code) for r in reservations] == people

    # A reservation taken by someone else meanwhile makes the caller's transaction fail.
    (stale,) = pool.reserve(1)
    with TransactWrite(connection=connection) as tx:
        pool.add_assignment_to(tx, stale, person_id())
    with pytest.raises(TransactWriteError) as raised, TransactWrite(connection=connection) as tx:
        pool.add_assignment_to(tx, stale, person_id())
    assert "ConditionalCheckFailed" in {r.code for r in raised.value.cancellation_reasons if r}
    assert pool.available() == 2


def test_the_service_alerts_when_the_pool_falls_below_the_threshold(pool: DynamoResidentCodePool) -> None:
    service = ResidentCodeService(pool, threshold=5)
    assert service.status().low is True  # empty
    result = service.supply(random_codes(6), OPERATOR)
    assert (result.received, result.added, result.ignored, result.available) == (6, 6, 0, 6)
    status = service.status()
    assert (status.available, status.threshold, status.low) == (6, 5, False)

    at_threshold = service.assign(person_id())
    assert at_threshold.available == 5 and at_threshold.issues == ()
    below = service.assign(person_id())
    assert below.available == 4
    (alert,) = below.issues
    assert (alert.code, alert.severity) == (RESIDENT_CODE_POOL_LOW, "alert")
    assert "4件" in alert.message and "5件" in alert.message
    assert service.status().low is True


def test_the_service_refuses_a_batch_with_invalid_codes_naming_their_positions(
    pool: DynamoResidentCodePool,
) -> None:
    service = ResidentCodeService(pool)
    codes = random_codes(5)
    broken = codes[2][:-1] + str((int(codes[2][-1]) + 1) % 10)
    batch = [codes[0], codes[1], broken, codes[3], "1234567890"]
    with pytest.raises(RuleViolation) as refused:
        service.supply(batch, OPERATOR)
    assert [(i.code, i.field) for i in refused.value.issues] == [
        ("RESIDENT_CODE_INVALID", "codes[2]"),
        ("RESIDENT_CODE_INVALID", "codes[4]"),
    ]
    assert refused.value.issues[0].message.startswith("3件目")
    assert pool.available() == 0  # nothing of the batch was loaded

    result = service.supply([*codes, codes[0]], OPERATOR)
    assert (result.added, result.ignored, result.available) == (5, 1, 5)
