"""The state machine's log entries (commit, refusal at commit) carry the time they are written,
however long after the approval the task runs, and a retried task writes nothing twice.

The movements are put in the store as approved 25 minutes ago (the log entries of the entry and
approval are stamped now, as they would be: only the movement's approval time is old).
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from juki.adapters.dynamodb import _commit_token, _transition_token
from juki.adapters.system import SystemClock
from juki.bootstrap import Services
from juki.domain import movements as rules
from juki.domain.commands import MoveIn
from juki.domain.errors import Conflict, RuleViolation
from juki.domain.model import CommitPlan, Movement, MovementStatus
from juki.domain.oplog import entry_for
from juki.domain.staff import Actor, Role
from juki.domain.values import MovementKind
from juki_local.system import LocalSystem
from test_ledger_store import items, oplog_for_movement, unique_move_in

CLERK = Actor("S1001", frozenset({Role.CLERK}), "葵区役所", "T1", "caller", "r1")
APPROVER = Actor("S2001", frozenset({Role.APPROVER}), "葵区役所", "T2", "caller", "r2")
AGO = timedelta(minutes=25)  # well past the sealer's grace of 960 s


def approved_long_ago(services: Services, command: MoveIn) -> Movement:
    """A movement approved ``AGO`` before now whose commit has not run yet."""
    now = SystemClock().now()
    draft = Movement(
        movement_id=uuid.uuid4().hex,
        kind=MovementKind.MOVE_IN,
        status=MovementStatus.DRAFT,
        command=command,
        entered_by=CLERK.staff_id,
        entered_at=now - AGO - timedelta(minutes=5),
        office=CLERK.office,
        terminal=CLERK.terminal,
    )
    services.store.save_draft(draft, _entry(CLERK, now, "create", draft.movement_id))
    approved = rules.approve(draft, APPROVER, uuid.uuid4().hex, now - AGO)
    services.store.save_approval(
        approved, _entry(APPROVER, SystemClock().now(), "approve", draft.movement_id)
    )
    return approved


def _entry(actor: Actor, at: datetime, action: Any, movement_id: str) -> Any:
    return entry_for(
        actor,
        entry_id=uuid.uuid4().hex,
        at=at,
        function="movement.enter",
        action=action,
        movement_id=movement_id,
    )


def entries(local_system: LocalSystem, movement_id: str, action: str) -> list[dict[str, Any]]:
    found = oplog_for_movement(local_system, movement_id, any_day=True)
    return [entry for entry in found if entry["body"]["action"] == action]


def written_at(entry: dict[str, Any]) -> datetime:
    """The entry's time, checked against the keys it is filed and sealed under."""
    at = datetime.fromisoformat(entry["body"]["at"])
    assert entry["pk"] == f"DAY#{at.date().isoformat()}"
    assert entry["sk"].startswith(f"{at.isoformat()}#")
    return at


def test_a_late_commit_logs_the_time_of_the_commit(services: Services, local_system: LocalSystem) -> None:
    movement = approved_long_ago(services, unique_move_in(2))
    assert movement.approval_id is not None and movement.approved_at is not None

    before = SystemClock().now()
    result = services.movements.commit(movement.movement_id, movement.approval_id)
    after = SystemClock().now()

    (commit,) = entries(local_system, movement.movement_id, "commit")
    assert before <= written_at(commit) <= after
    assert written_at(commit) - movement.approved_at >= AGO
    assert commit["body"]["entry_id"] == f"{movement.approval_id}:commit"
    stored = services.store.get_movement(movement.movement_id)
    assert stored is not None and stored.status == MovementStatus.FINAL
    assert stored.result is not None and result["person_ids"] == stored.result.person_ids


def test_a_commit_retried_after_success_writes_nothing(services: Services, local_system: LocalSystem) -> None:
    movement = approved_long_ago(services, unique_move_in(2))
    assert movement.approval_id is not None
    first = services.movements.commit(movement.movement_id, movement.approval_id)
    logged = oplog_for_movement(local_system, movement.movement_id, any_day=True)

    again = services.movements.commit(movement.movement_id, movement.approval_id)  # the answer was lost

    assert again == first
    assert oplog_for_movement(local_system, movement.movement_id, any_day=True) == logged
    assert len(entries(local_system, movement.movement_id, "commit")) == 1
    for person_id in first["person_ids"]:
        assert len(items(local_system, "ledger", f"PERSON#{person_id}")) == 2  # V#000001 and CURRENT


def test_attempts_running_at_once_commit_and_log_once(services: Services, local_system: LocalSystem) -> None:
    """Two attempts that both read the movement as approved write their entries at different
    times (so different keys and tokens): the transaction's condition still lets one through."""
    movement = approved_long_ago(services, unique_move_in(1))
    assert movement.approval_id is not None
    approval_id = movement.approval_id
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            outcomes.append(services.movements.commit(movement.movement_id, approval_id)["status"])
        except Conflict as raced:  # the state machine retries this; the retry answers from the record
            outcomes.append(raced.code)

    threads = [threading.Thread(target=attempt) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == 3 and "final" in outcomes
    assert len(entries(local_system, movement.movement_id, "commit")) == 1
    stored = services.store.get_movement(movement.movement_id)
    assert stored is not None and stored.result is not None
    for person_id in stored.result.person_ids:
        assert len(items(local_system, "ledger", f"PERSON#{person_id}")) == 2


def test_a_late_refusal_logs_the_time_it_is_recorded_and_once(
    services: Services, local_system: LocalSystem
) -> None:
    command = unique_move_in(1)
    first, second = approved_long_ago(services, command), approved_long_ago(services, command)
    assert first.approval_id is not None and second.approval_id is not None
    services.movements.commit(first.movement_id, first.approval_id)
    with pytest.raises(RuleViolation):  # the same person is resident now
        services.movements.commit(second.movement_id, second.approval_id)

    before = SystemClock().now()
    services.movements.record_failure(second.movement_id, second.approval_id, "ALREADY_RESIDENT")
    after = SystemClock().now()

    (failure,) = entries(local_system, second.movement_id, "fail")
    assert before <= written_at(failure) <= after
    assert second.approved_at is not None and written_at(failure) - second.approved_at >= AGO
    assert failure["body"]["outcome"] == "refused"
    logged = oplog_for_movement(local_system, second.movement_id, any_day=True)

    services.movements.record_failure(second.movement_id, second.approval_id, "ALREADY_RESIDENT")  # retried

    assert oplog_for_movement(local_system, second.movement_id, any_day=True) == logged
    stored = services.store.get_movement(second.movement_id)
    assert stored is not None and stored.status == MovementStatus.FAILED
    assert [issue.code for issue in stored.failure] == ["ALREADY_RESIDENT"]


def test_the_idempotency_tokens_follow_the_log_entry() -> None:
    """DynamoDB runs a request with a token it has seen once, and refuses it with other items
    (IdempotentParameterMismatch): so an attempt that writes its entry at another time must send
    another token, and the same request the same token (moto does not check tokens: tested here)."""
    movement = Movement(
        movement_id="a" * 32, kind=MovementKind.MOVE_IN, status=MovementStatus.FINAL,
        command=unique_move_in(1), entered_by="S1001", entered_at=SystemClock().now(), office="葵区役所",
        terminal="T1", approved_by="S2001", approved_at=SystemClock().now(), approval_id="b" * 32,
    )  # fmt: skip
    plan = CommitPlan(movement_id=movement.movement_id, persons=[], households=[])
    now = SystemClock().now()
    log = _entry(APPROVER, now, "commit", movement.movement_id).model_copy(
        update={"entry_id": "b" * 32 + ":commit"}
    )
    later = log.model_copy(update={"at": now + timedelta(seconds=30)})

    assert _commit_token(movement, plan, {}, {}, log) == _commit_token(movement, plan, {}, {}, log)
    assert _commit_token(movement, plan, {}, {}, log) != _commit_token(movement, plan, {}, {}, later)
    assert len(_commit_token(movement, plan, {}, {}, log)) <= 36
    failed = movement.model_copy(update={"status": MovementStatus.FAILED})
    token = _transition_token(failed, MovementStatus.APPROVED, log)
    assert token == _transition_token(failed, MovementStatus.APPROVED, log)
    assert token != _transition_token(failed, MovementStatus.APPROVED, later)
