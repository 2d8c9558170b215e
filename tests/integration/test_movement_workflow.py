"""The movement-approval state machine: the real ASL, executed by moto, calling our handlers."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from juki.adapters.stepfunctions import StepFunctionsWorkflow
from juki.bootstrap import Services
from juki.domain import movements as rules
from juki.domain.codes import is_valid_resident_code
from juki.domain.commands import MovementCommand
from juki.domain.errors import RuleViolation
from juki.domain.model import Movement, MovementStatus
from juki.domain.movements import LedgerView
from juki.domain.oplog import entry_for
from juki.domain.staff import Actor, Role
from juki.services.movements import CommitRefused
from juki_fn.movement_tasks import commit_handler
from juki_local.lambda_context import new_context
from juki_local.system import LocalSystem
from pydantic import TypeAdapter
from test_ledger_store import items, oplog_for_movement, unique_move_in

commands: TypeAdapter[MovementCommand] = TypeAdapter(MovementCommand)
CLERK = Actor("S1001", frozenset({Role.CLERK}), "葵区役所", "T1", "caller", "r1")
APPROVER = Actor("S2001", frozenset({Role.APPROVER}), "葵区役所", "T2", "caller", "r2")


def executions(local_system: LocalSystem, movement_id: str) -> list[dict[str, Any]]:
    sfn = local_system.emulator.client("stepfunctions")
    arn = local_system.resources.state_machines["movement-approval"]
    found = sfn.list_executions(stateMachineArn=arn)["executions"]
    return [e for e in found if e["name"].startswith(movement_id)]


def visited_states(local_system: LocalSystem, execution_arn: str) -> list[str]:
    sfn = local_system.emulator.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=execution_arn)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def test_approval_checks_again_and_commits(services: Services, local_system: LocalSystem) -> None:
    draft = services.movements.enter(unique_move_in(3), CLERK)
    outcome = services.movements.approve(draft.movement_id, APPROVER, wait_seconds=20)
    assert outcome.execution.status == "SUCCEEDED"
    assert outcome.movement.status == MovementStatus.FINAL
    assert outcome.movement.result is not None
    (execution,) = executions(local_system, draft.movement_id)
    assert visited_states(local_system, execution["executionArn"]) == [
        "ValidateAndCommit",
        "PrintNeeded",
        "Committed",
    ]
    history = local_system.emulator.client("stepfunctions").get_execution_history(
        executionArn=execution["executionArn"]
    )
    names = [m.name.family_name for m in draft.command.members]
    assert not any(name in json.dumps(history, default=str, ensure_ascii=False) for name in names)


def test_a_person_who_became_resident_meanwhile_is_refused_at_commit(
    services: Services, local_system: LocalSystem
) -> None:
    command = unique_move_in(2)
    first = services.movements.enter(command, CLERK)
    second = services.movements.enter(command, CLERK)  # both drafts pass: nobody is resident yet
    assert services.movements.approve(first.movement_id, APPROVER, 20).movement.status == MovementStatus.FINAL

    with pytest.raises(CommitRefused) as refused:
        services.movements.approve(second.movement_id, APPROVER, 20)
    assert [(i.code, i.field) for i in refused.value.issues] == [
        ("ALREADY_RESIDENT", "members[0]"),
        ("ALREADY_RESIDENT", "members[1]"),
    ]
    stored = services.store.get_movement(second.movement_id)
    assert stored is not None and stored.status == MovementStatus.FAILED and stored.result is None
    (execution,) = executions(local_system, second.movement_id)
    assert visited_states(local_system, execution["executionArn"]) == [
        "ValidateAndCommit",
        "RecordRefusal",
        "Refused",
    ]


def test_concurrent_approvals_of_the_same_person_commit_once(services: Services) -> None:
    command = unique_move_in(1)
    drafts = [services.movements.enter(command, CLERK) for _ in range(4)]
    outcomes: dict[str, str] = {}

    def approve(movement_id: str) -> None:
        try:
            outcomes[movement_id] = services.movements.approve(movement_id, APPROVER, 30).movement.status
        except CommitRefused as refused:
            outcomes[movement_id] = refused.issues[0].code

    threads = [threading.Thread(target=approve, args=(d.movement_id,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["ALREADY_RESIDENT"] * 3 + ["final"]
    (claim,) = rules.identity_claims(command, LedgerView())
    key = claim.key
    assert len(services.store.identity_buckets([key])[key].persons) == 1


def test_a_repeated_commit_task_writes_nothing_twice(services: Services, local_system: LocalSystem) -> None:
    draft = services.movements.enter(unique_move_in(2), CLERK)
    outcome = services.movements.approve(draft.movement_id, APPROVER, 20)
    assert outcome.movement.result is not None and outcome.movement.approval_id is not None
    event = {"movement_id": draft.movement_id, "approval_id": outcome.movement.approval_id}
    context = new_context("commit", "arn:aws:lambda:ap-northeast-1:123456789012:function:commit", 60)
    log_before = len(oplog_for_movement(local_system, draft.movement_id, any_day=True))
    again = commit_handler(event, context)  # as if Step Functions retried after a lost response
    assert again["person_ids"] == outcome.movement.result.person_ids
    for person_id in outcome.movement.result.person_ids:
        assert len(items(local_system, "ledger", f"PERSON#{person_id}")) == 2  # V#000001 and CURRENT
    assert len(oplog_for_movement(local_system, draft.movement_id, any_day=True)) == log_before


def test_approving_again_is_answered_from_the_record(services: Services) -> None:
    draft = services.movements.enter(unique_move_in(1), CLERK)
    first = services.movements.approve(draft.movement_id, APPROVER, 20)
    again = services.movements.approve(draft.movement_id, APPROVER, 20)  # a retry after a lost 200
    assert again.movement == first.movement


def test_a_lost_start_is_resumed(services: Services, local_system: LocalSystem) -> None:
    """The approval was recorded but the state machine never started: approving again runs it once."""
    draft = services.movements.enter(unique_move_in(1), CLERK)
    stored = services.store.get_movement(draft.movement_id)
    assert stored is not None
    approved = rules.approve(stored, APPROVER, "lost0approval", stored.entered_at)
    log = entry_for(
        APPROVER, entry_id=f"{draft.movement_id}-lost", at=stored.entered_at, function="t", action="approve"
    )
    services.store.save_approval(approved, log)

    outcome = services.movements.approve(draft.movement_id, APPROVER, 20)
    assert outcome.movement.status == MovementStatus.FINAL
    assert outcome.movement.approval_id == "lost0approval"
    assert len(executions(local_system, draft.movement_id)) == 1


def test_a_stopped_execution_is_resumed_under_a_new_name(
    services: Services, local_system: LocalSystem
) -> None:
    draft = services.movements.enter(unique_move_in(1), CLERK)
    stored = services.store.get_movement(draft.movement_id)
    assert stored is not None
    approved = rules.approve(stored, APPROVER, "stopped0approval", stored.entered_at)
    services.store.save_approval(
        approved,
        entry_for(
            APPROVER, entry_id=f"{draft.movement_id}-s", at=stored.entered_at, function="t", action="approve"
        ),
    )
    workflow = StepFunctionsWorkflow(
        local_system.emulator.client("stepfunctions"),
        local_system.resources.state_machines["movement-approval"],
    )
    broken = workflow.start(f"{draft.movement_id}-stopped0approval", {"movement_id": draft.movement_id})
    assert workflow.wait(broken, 20).status == "FAILED"  # the task could not even read its input
    assert services.store.get_movement(draft.movement_id).status == MovementStatus.APPROVED  # type: ignore[union-attr]

    outcome = services.movements.approve(draft.movement_id, APPROVER, 20)
    assert outcome.movement.status == MovementStatus.FINAL
    assert sorted(e["name"] for e in executions(local_system, draft.movement_id)) == [
        f"{draft.movement_id}-stopped0approval",
        f"{draft.movement_id}-stopped0approval-2",
    ]


def birth(household_id: str, parents: Movement, index: int) -> MovementCommand:
    name = {"family_name": "試験", "given_name": f"{index}子", "family_name_kana": "シケン",
            "given_name_kana": "アイウエオ"[index] + "コ"}  # fmt: skip
    return commands.validate_python(
        {
            "kind": "birth",
            "effective_date": parents.command.effective_date.isoformat(),
            "notified_date": parents.command.notified_date.isoformat(),
            "household_id": household_id,
            "sex": "female",
            "relationship": "子",
            "koseki": {"domicile": "静岡県静岡市葵区追手町5番地", "head": "試験太郎"},
            "name": name,
        }
    )


def test_parallel_approvals_on_one_household_all_commit_without_a_lost_update(services: Services) -> None:
    """Five births into one household approved at once: each commit is conditional on the household
    version it read, losers retry with the household as it is then, and in the end every child is
    a member and the household's versions run without a gap."""
    parents = services.movements.enter(unique_move_in(2), CLERK)
    home = services.movements.approve(parents.movement_id, APPROVER, 20).movement.result
    assert home is not None
    (household_id,) = home.household_ids
    births = [services.movements.enter(birth(household_id, parents, i), CLERK) for i in range(5)]
    statuses: list[str] = []
    threads = [
        threading.Thread(
            target=lambda m=m: statuses.append(
                services.movements.approve(m.movement_id, APPROVER, 90).movement.status
            )
        )
        for m in births
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == ["final"] * 5
    history = services.store.household_history(household_id)
    assert [h.version for h in history] == list(range(1, 7))
    assert len(history[-1].member_ids) == 2 + 5


def test_newcomers_get_a_resident_code_from_the_pool_or_keep_the_one_they_bring(services: Services) -> None:
    command = unique_move_in(2)
    brought = "12345678903" if services.store.resident_code_holder("12345678903") is None else None
    members = [
        m.model_copy(update={"resident_code": brought}) if i == 0 else m
        for i, m in enumerate(command.members)
    ]
    draft = services.movements.enter(command.model_copy(update={"members": members}), CLERK)
    before = services.store.resident_codes_available()
    result = services.movements.approve(draft.movement_id, APPROVER, 20).movement.result
    assert result is not None
    first, second = (services.store.get_person(pid) for pid in result.person_ids)
    assert first is not None and second is not None
    assert is_valid_resident_code(second.resident_code or "")
    assert services.store.resident_code_holder(second.resident_code or "") == second.person_id
    assert services.store.resident_codes_available() == before - (1 if brought else 2)
    if brought:
        assert first.resident_code == brought
        assert services.store.resident_code_holder(brought) == first.person_id


def test_a_code_held_by_someone_else_is_refused(services: Services) -> None:
    resident = services.store.get_person("0000000019")
    assert resident is not None and resident.resident_code
    command = unique_move_in(1)
    members = [command.members[0].model_copy(update={"resident_code": resident.resident_code})]
    with pytest.raises(RuleViolation) as refused:
        services.movements.enter(command.model_copy(update={"members": members}), CLERK)
    assert (refused.value.code, refused.value.field) == ("RESIDENT_CODE_IN_USE", "members[0].resident_code")
