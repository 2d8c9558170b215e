"""The movement-approval state machine: the real ASL, executed by moto, calling our handlers."""

from __future__ import annotations

from juki.adapters.stepfunctions import StepFunctionsWorkflow
from juki.bootstrap import Services
from juki.domain import movements as rules
from juki.domain.model import MovementStatus
from juki.domain.oplog import entry_for
from juki.domain.staff import Actor, Role
from juki_fn.movement_tasks import commit_handler
from juki_local.lambda_context import new_context
from juki_local.system import LocalSystem
from test_ledger_store import items, unique_move_in

CLERK = Actor("S1001", frozenset({Role.CLERK}), "葵区役所", "T1", "caller", "r1")
APPROVER = Actor("S2001", frozenset({Role.APPROVER}), "葵区役所", "T2", "caller", "r2")


def visited_states(local_system: LocalSystem, execution_arn: str) -> list[str]:
    sfn = local_system.emulator.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=execution_arn)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def executions(local_system: LocalSystem) -> list[dict[str, str]]:
    sfn = local_system.emulator.client("stepfunctions")
    arn = local_system.resources.state_machines["movement-approval"]
    return sfn.list_executions(stateMachineArn=arn)["executions"]  # type: ignore[no-any-return]


def test_approval_runs_validate_then_commit(services: Services, local_system: LocalSystem) -> None:
    draft = services.movements.enter(unique_move_in(3), CLERK)
    outcome = services.movements.approve(draft.movement_id, APPROVER, wait_seconds=20)
    assert outcome.execution.status == "SUCCEEDED"
    assert outcome.movement.status == MovementStatus.FINAL
    assert outcome.movement.result is not None
    (execution,) = [e for e in executions(local_system) if e["name"].startswith(draft.movement_id)]
    assert visited_states(local_system, execution["executionArn"]) == ["Validate", "Commit"]


def test_revalidation_at_commit_refuses_a_person_who_became_resident(
    services: Services, local_system: LocalSystem
) -> None:
    command = unique_move_in(2)
    first = services.movements.enter(command, CLERK)
    second = services.movements.enter(command, CLERK)  # both drafts pass: nobody is resident yet
    assert services.movements.approve(first.movement_id, APPROVER, 20).movement.status == MovementStatus.FINAL

    outcome = services.movements.approve(second.movement_id, APPROVER, 20)
    assert outcome.execution.status == "FAILED"
    assert outcome.movement.status == MovementStatus.FAILED
    assert [(i.code, i.field) for i in outcome.movement.failure] == [
        ("ALREADY_RESIDENT", "members[0]"),
        ("ALREADY_RESIDENT", "members[1]"),
    ]
    (execution,) = [e for e in executions(local_system) if e["name"].startswith(second.movement_id)]
    assert visited_states(local_system, execution["executionArn"]) == [
        "Validate",
        "RecordFailure",
        "NotCommitted",
    ]
    assert outcome.movement.result is None


def test_a_retried_commit_task_writes_nothing_twice(services: Services, local_system: LocalSystem) -> None:
    draft = services.movements.enter(unique_move_in(2), CLERK)
    outcome = services.movements.approve(draft.movement_id, APPROVER, 20)
    assert outcome.movement.result is not None and outcome.movement.approval_id is not None
    event = {"movement_id": draft.movement_id, "approval_id": outcome.movement.approval_id}
    context = new_context("commit", "arn:aws:lambda:ap-northeast-1:123456789012:function:commit", 60)
    again = commit_handler(event, context)  # as if Step Functions retried after a lost response
    assert again["person_ids"] == outcome.movement.result.person_ids
    for person_id in outcome.movement.result.person_ids:
        assert len(items(local_system, "ledger", f"PERSON#{person_id}")) == 2  # V#000001 and CURRENT


def test_the_same_execution_name_starts_once(services: Services, local_system: LocalSystem) -> None:
    draft = services.movements.enter(unique_move_in(1), CLERK)
    outcome = services.movements.approve(draft.movement_id, APPROVER, 20)
    workflow = StepFunctionsWorkflow(
        local_system.emulator.client("stepfunctions"),
        local_system.resources.state_machines["movement-approval"],
    )
    name = f"{draft.movement_id}-{outcome.movement.approval_id}"
    (first,) = [e for e in executions(local_system) if e["name"] == name]
    before = len(executions(local_system))
    again = workflow.start(
        name, {"movement_id": draft.movement_id, "approval_id": outcome.movement.approval_id}
    )
    assert again == first["executionArn"]
    assert len(executions(local_system)) == before


def test_approving_again_resumes_a_movement_whose_start_was_lost(
    services: Services, local_system: LocalSystem
) -> None:
    """The approval was recorded but the state machine never started (a lost call): asking again
    runs the commit once, instead of leaving the movement stuck as approved."""
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
    assert len([e for e in executions(local_system) if e["name"].startswith(draft.movement_id)]) == 1
