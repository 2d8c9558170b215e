"""The DynamoDB adapter against moto over HTTP: atomic commits, conditions, idempotent ids."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from api_support import oplog_rows
from boto3.dynamodb.types import TypeDeserializer
from juki.bootstrap import Services
from juki.domain import movements as rules
from juki.domain.commands import MoveIn
from juki.domain.errors import Conflict
from juki.domain.ids import is_valid_id
from juki.domain.linkage import messages_for
from juki.domain.model import Movement, MovementStatus
from juki.domain.movements import LedgerView
from juki.domain.oplog import entry_for
from juki.domain.staff import Actor, Role, SystemActor
from juki.domain.values import MovementKind
from juki_local.system import LocalSystem

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
CLERK = Actor("S1001", frozenset({Role.CLERK}), "葵区役所", "T1", "caller", "r")


def unique_move_in(members: int = 2) -> MoveIn:
    """A household nobody else in the session has: readings are random."""
    suffix = uuid.uuid4().hex[:6]
    kana = "".join("アイウエオカキクケコサシスセソタチツテト"[int(c, 16)] for c in suffix)
    rows: list[dict[str, Any]] = [
        {
            "name": {
                "family_name": "試験",
                "given_name": f"{i}号",
                "family_name_kana": kana,
                "given_name_kana": "タロウ",
            },
            "birth_date": date(1980 + i, 1, 1).isoformat(),
            "sex": "male",
            "relationship": "世帯主" if i == 0 else "子",
            "koseki": {"domicile": "静岡県静岡市葵区追手町5番地", "head": "試験太郎"},
        }
        for i in range(members)
    ]
    return MoveIn.model_validate(
        {
            "kind": "move_in",
            "effective_date": "2026-11-20",
            "notified_date": "2026-11-25",
            "address": {"postal_code": "420-0853", "ward": "葵区", "town": "追手町", "lot": "5番1号"},
            "previous_address": {
                "street": "霞が関二丁目1番2号",
                "prefecture": "東京都",
                "municipality": "千代田区",
            },
            "members": rows,
        }
    )


def identity(movement: Movement) -> str:
    """The identity key of the movement's first newcomer."""
    (claim, *_) = rules.identity_claims(movement.command, LedgerView())
    return claim.key


def approved_movement(services: Services, members: int = 2) -> Movement:
    movement = Movement(
        movement_id=uuid.uuid4().hex,
        kind=MovementKind.MOVE_IN,
        status=MovementStatus.DRAFT,
        command=unique_move_in(members),
        entered_by="S1001",
        entered_at=NOW,
        office="葵区役所",
        terminal="T1",
    )
    log = entry_for(
        CLERK,
        entry_id=uuid.uuid4().hex,
        at=NOW,
        function="t",
        action="create",
        movement_id=movement.movement_id,
    )
    services.store.save_draft(movement, log)
    approver = Actor("S2001", frozenset({Role.APPROVER}), "葵区役所", "T2", "caller", "r")
    approved = rules.approve(movement, approver, uuid.uuid4().hex, NOW)
    services.store.save_approval(
        approved, log.model_copy(update={"entry_id": uuid.uuid4().hex, "action": "approve"})
    )
    return approved


def items(local_system: LocalSystem, table: str, pk: str) -> list[dict[str, Any]]:
    dynamodb = local_system.emulator.client("dynamodb")
    name = local_system.description.name(table)
    deserializer = TypeDeserializer()
    pages = dynamodb.get_paginator("query").paginate(
        TableName=name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
    )
    return [
        {k: deserializer.deserialize(v) for k, v in item.items()} for page in pages for item in page["Items"]
    ]


def oplog_for_movement(
    local_system: LocalSystem, movement_id: str, any_day: bool = False
) -> list[dict[str, Any]]:
    """The movement's entries (of any day: ``any_day`` is kept for the callers' reading)."""
    del any_day
    return [row for row in oplog_rows(local_system) if row["body"].get("movement_id") == movement_id]


def test_draft_and_log_entry_are_written_together(services: Services, local_system: LocalSystem) -> None:
    movement = approved_movement(services)
    stored = services.store.get_movement(movement.movement_id)
    assert stored is not None and stored.status == MovementStatus.APPROVED
    assert len(oplog_for_movement(local_system, movement.movement_id)) == 2  # entry, approval


def test_a_second_approval_of_the_same_draft_is_refused(services: Services) -> None:
    movement = approved_movement(services)
    log = entry_for(CLERK, entry_id=uuid.uuid4().hex, at=NOW, function="t", action="approve")
    with pytest.raises(Conflict):
        services.store.save_approval(movement, log)


def test_allocated_ids_are_valid_fixed_and_disjoint(services: Services) -> None:
    first, second = approved_movement(services, 3), approved_movement(services, 2)
    a1 = services.store.allocate_ids(first.movement_id, persons=3, households=1)
    a2 = services.store.allocate_ids(first.movement_id, persons=3, households=1)
    b = services.store.allocate_ids(second.movement_id, persons=2, households=1)
    assert a1 == a2
    assert all(is_valid_id(i) for i in a1.person_ids + a1.household_ids + b.person_ids)
    assert not set(a1.person_ids) & set(b.person_ids)


def commit_parts(
    services: Services, movement: Movement, identity_versions: dict[str, int] | None = None
) -> tuple[Any, ...]:
    allocation = services.store.allocate_ids(movement.movement_id, len(movement.command.members), 1)
    plan = rules.plan(movement, LedgerView(), allocation.person_ids, allocation.household_ids, NOW)
    log = entry_for(
        SystemActor("movement-approval", "r"), entry_id=f"{movement.approval_id}:commit", at=NOW,
        function="movement.approve", action="commit",
    )  # fmt: skip
    return rules.finalise(movement, plan), plan, log, messages_for(plan, NOW), identity_versions or {}


def commit(services: Services, parts: tuple[Any, ...]) -> None:
    """Commits planned parts, taking any 住民票コード the plan needs from the pool."""
    final, plan, log, messages, versions = parts
    reserved = services.store.reserve_resident_codes(len(plan.code_needed))
    codes = dict(zip(plan.code_needed, reserved, strict=True))
    coded = rules.with_resident_codes(plan, {pid: r.code for pid, r in codes.items()})
    services.store.commit(final, coded, log, messages, identity_versions=versions, codes=codes)


def test_commit_writes_versions_current_log_and_messages(
    services: Services, local_system: LocalSystem
) -> None:
    movement = approved_movement(services, 3)
    parts = commit_parts(services, movement)
    commit(services, parts)
    _, plan, _, messages, _ = parts
    for person in plan.persons:
        stored = items(local_system, "ledger", f"PERSON#{person.person_id}")
        assert sorted(i["sk"] for i in stored) == ["CURRENT", "V#000001"]
    household = plan.households[0]
    assert sorted(i["sk"] for i in items(local_system, "ledger", f"HOUSEHOLD#{household.household_id}")) == [
        "CURRENT",
        "V#000001",
    ]
    assert len(messages) == 3  # one event per person version, routed to the peers by the dispatcher
    for message in messages:
        (outbox,) = items(local_system, "outbox", f"MSG#{message.message_id}")
        assert (outbox["state"], outbox["status"]) == ("pending", "route")  # waiting to be routed
    stored_movement = services.store.get_movement(movement.movement_id)
    assert stored_movement is not None and stored_movement.status == MovementStatus.FINAL


def test_a_failed_condition_writes_nothing(services: Services, local_system: LocalSystem) -> None:
    movement = approved_movement(services, 2)
    final, plan, log, messages, _ = commit_parts(services, movement)
    # Someone else's record already holds the second person id: the whole transaction must fail.
    taken = plan.persons[1]
    services.store.import_records([taken], [])
    with pytest.raises(Conflict) as raised:
        commit(services, (final, plan, log, messages, {identity(movement): 0}))
    assert raised.value.code == "CONCURRENT_CHANGE"
    assert items(local_system, "ledger", f"PERSON#{plan.persons[0].person_id}") == []
    assert items(local_system, "ledger", f"HOUSEHOLD#{plan.households[0].household_id}") == []
    assert all(items(local_system, "outbox", f"MSG#{m.message_id}") == [] for m in messages)
    assert sorted(e["body"]["action"] for e in oplog_for_movement(local_system, movement.movement_id)) == [
        "approve",
        "create",
    ]
    stored = services.store.get_movement(movement.movement_id)
    assert stored is not None and stored.status == MovementStatus.APPROVED


def test_committing_twice_never_duplicates(services: Services, local_system: LocalSystem) -> None:
    movement = approved_movement(services, 1)
    parts = commit_parts(services, movement)
    commit(services, parts)
    with pytest.raises(Conflict):
        commit(services, parts)
    person = parts[1].persons[0]
    assert len(items(local_system, "ledger", f"PERSON#{person.person_id}")) == 2


def test_identity_buckets_find_residents_by_reading_and_birth_date(services: Services) -> None:
    movement = approved_movement(services, 1)
    parts = commit_parts(services, movement)
    commit(services, parts)
    assert isinstance(movement.command, MoveIn)
    member = movement.command.members[0]
    key = identity(movement)
    bucket = services.store.identity_buckets([key])[key]
    assert bucket.version == 1
    assert [p.person_id for p in bucket.persons] == [parts[1].persons[0].person_id]
    voiced = rules.identity_key(
        member.name.family_name_kana.replace("カ", "ガ") + member.name.given_name_kana, member.birth_date
    )
    assert voiced == key  # voicing marks do not change the bucket


def test_a_commit_that_checked_an_outdated_bucket_writes_nothing(
    services: Services, local_system: LocalSystem
) -> None:
    """Two approvals of the same person, both checked before either committed: only one commits."""
    first = approved_movement(services, 1)
    second = first.model_copy(update={"movement_id": uuid.uuid4().hex, "approval_id": uuid.uuid4().hex})
    services.store.save_draft(
        second.model_copy(update={"status": MovementStatus.DRAFT}),
        entry_for(CLERK, entry_id=uuid.uuid4().hex, at=NOW, function="t", action="create"),
    )
    services.store.save_approval(
        second, entry_for(CLERK, entry_id=uuid.uuid4().hex, at=NOW, function="t", action="approve")
    )
    key = identity(first)
    seen = {key: services.store.identity_buckets([key])[key].version}
    commit(services, commit_parts(services, first, seen))
    loser = commit_parts(services, second, seen)
    with pytest.raises(Conflict):
        commit(services, loser)
    assert items(local_system, "ledger", f"PERSON#{loser[1].persons[0].person_id}") == []
    assert [p.person_id for p in services.store.identity_buckets([key])[key].persons] == [
        commit_parts(services, first)[1].persons[0].person_id
    ]
